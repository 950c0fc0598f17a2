/*
 * engine.h - public API of the int8 engine: load a compiled program (docs/schedule-format.md)
 * and run its ops over ONE caller-provided arena. No malloc, no globals, no I/O.
 *
 * Typical use:
 *     mct_program_t prog;  mct_engine_t eng;
 *     if (mct_program_load(&prog, blob, blob_len) != MCT_OK) ...      // validates everything
 *     if (mct_engine_init(&eng, &prog, arena, sizeof arena) != MCT_OK) ...
 *     memcpy(mct_tensor_data(&eng, prog.input_ids[0]... ), ...);      // or mct_engine_input()
 *     mct_engine_run(&eng, 0, prog.n_ops);
 */
#ifndef MCT_ENGINE_H
#define MCT_ENGINE_H

#include <stdint.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MCT_FORMAT_VERSION 1u

typedef enum {
    MCT_OK = 0,
    MCT_E_ARG = 1,        /* NULL pointer or out-of-range argument */
    MCT_E_TRUNCATED = 2,  /* blob shorter than its header or its declared size */
    MCT_E_MAGIC = 3,      /* not a program */
    MCT_E_VERSION = 4,    /* format version this engine does not read */
    MCT_E_CRC = 5,        /* CRC-32 mismatch: corrupted in flash or in transit */
    MCT_E_BOUNDS = 6,     /* a table, tensor or parameter record lies outside its region */
    MCT_E_ALIGN = 7,      /* blob, arena or an offset is not 4-byte aligned */
    MCT_E_TENSOR = 8,     /* bad tensor record (dtype, rank, size, storage) */
    MCT_E_OPCODE = 9,     /* opcode this engine does not implement */
    MCT_E_OP = 10,        /* op refers to a missing tensor or has wrong dtypes/shapes */
    MCT_E_PARAM = 11,     /* op parameter record of the wrong size or with out-of-range values */
    MCT_E_ARENA = 12,     /* caller's arena smaller than the program needs */
    MCT_E_RUNTIME = 13    /* a kernel hit a condition it cannot compute (e.g. empty pooling window) */
} mct_status_t;

/* A validated view into a program blob (nothing copied; the blob must outlive it). */
typedef struct {
    const uint8_t *blob;
    uint32_t size;
    const uint8_t *tensor_table;
    const uint8_t *op_table;
    const uint8_t *consts;
    const uint8_t *io_table;
    uint32_t consts_size;
    uint32_t arena_size;
    uint16_t n_tensors;
    uint16_t n_ops;
    uint16_t n_inputs;
    uint16_t n_outputs;
    uint32_t first_bad_op; /* after a failed load: index of the offending op (or 0xFFFFFFFF) */
} mct_program_t;

typedef struct {
    const mct_program_t *prog;
    uint8_t *arena;
    uint32_t arena_size;
} mct_engine_t;

/* Checks magic, version, size, CRC and every offset/size/index/shape; never reads out of bounds. */
mct_status_t mct_program_load(mct_program_t *prog, const uint8_t *blob, uint32_t len);

/* Binds an arena (4-byte aligned, >= prog->arena_size) and copies initial values of
   arena-initialised tensors (weights that training will update) into it. */
mct_status_t mct_engine_init(mct_engine_t *eng, const mct_program_t *prog, uint8_t *arena, uint32_t arena_len);

/* Re-copies the initial values of arena-initialised tensors (undo training). */
mct_status_t mct_engine_reset(mct_engine_t *eng);

/* Runs ops [first_op, end_op). */
mct_status_t mct_engine_run(mct_engine_t *eng, uint32_t first_op, uint32_t end_op);

/* Decoded tensor record; returns MCT_E_ARG for a bad id. */
mct_status_t mct_program_tensor(const mct_program_t *prog, uint32_t id, mct_tensor_t *out);

/* Program tensor id of graph input/output `index`, or -1. */
int32_t mct_program_input(const mct_program_t *prog, uint32_t index);
int32_t mct_program_output(const mct_program_t *prog, uint32_t index);

/* Pointer to a tensor's bytes (arena or constant pool) and its size; NULL for a bad id.
   Constant tensors are returned through the same pointer type; never write to them. */
uint8_t *mct_engine_tensor(const mct_engine_t *eng, uint32_t id, uint32_t *nbytes);

/* One-word name of a status, for logs. */
const char *mct_status_str(mct_status_t s);

/* CRC-32 (IEEE 802.3, as zlib.crc32), continuing from `crc` (start with 0). */
uint32_t mct_crc32(uint32_t crc, const uint8_t *data, uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* MCT_ENGINE_H */
