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

#define MCT_FORMAT_VERSION 2u /* reads versions 1 (inference) and 2 (training) */

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
    MCT_E_RUNTIME = 13,   /* a kernel hit a condition it cannot compute (e.g. empty pooling window) */
    MCT_E_IO = 14,        /* a graph input or output is not a plain arena tensor (e.g. in the constant pool) */
    MCT_E_DATAFLOW = 15,  /* an op reads (or accumulates into) a tensor nothing has written yet, or a graph
                             output is never written; first_bad_op names the op (0xFFFFFFFF: an output) */
    MCT_E_LIMIT = 16,     /* more tensors than MCT_MAX_TENSORS */
    MCT_E_NUMERIC = 17    /* training step: the loss or a float32 gradient is not finite; the update that
                             would have used it (and every later one) was skipped */
} mct_status_t;

/* Most tensors a program may have: the loader's dataflow check keeps one bit per tensor on the stack
   (MCT_MAX_TENSORS / 8 bytes). Person-detection training programs use a few hundred. */
#define MCT_MAX_TENSORS 2048u

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
    /* version 2 (training programs); a program without a training section has n_forward_ops = n_ops */
    uint16_t version;
    uint16_t n_forward_ops;
    const uint8_t *train;  /* training section, or NULL */
    uint16_t n_state;
    uint16_t label_id;     /* int32[1] tensor the train step's label goes to (0xFFFF: none) */
    uint16_t result_id;    /* float32[2]: loss, predicted class */
    uint16_t logits_id;    /* int8 logits (output of the forward prefix) */
} mct_program_t;

/* Optional per-op callback, e.g. to read a cycle counter: called with end = 0 before and end = 1 after
   op `op_index` runs. ctx is the caller's; the engine keeps no globals. */
typedef void (*mct_op_hook_t)(void *ctx, uint32_t op_index, uint8_t opcode, int end);

typedef struct {
    const mct_program_t *prog;
    uint8_t *arena;
    uint32_t arena_size;
    mct_op_hook_t hook; /* NULL after init; see mct_engine_set_hook */
    void *hook_ctx;
} mct_engine_t;

typedef struct {
    float loss;        /* softmax cross-entropy of this sample, before the update */
    int32_t predicted; /* argmax of the logits of the forward pass, before the update */
} mct_train_result_t;

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

/* ---- training (format version 2) ----------------------------------------------------------------
 * A training program runs forward, loss, backward and the in-place SGD updates as one op list:
 *     memcpy(mct_engine_tensor(&eng, mct_program_input(&prog, 0), 0), image, n);   // int8 image
 *     mct_engine_train_step(&eng, label, &res);                                      // res.loss, res.predicted
 * Inference with the current weights runs the forward prefix and reads the logits:
 *     mct_engine_infer(&eng);  logits = mct_engine_tensor(&eng, mct_program_logits(&prog), &n);
 * Learned state (updated weights, biases, PRNG/accumulators) lives in the arena ranges
 * mct_program_state_region(); saving and restoring those bytes checkpoints training. */

/* Writes the label, runs every op, returns the loss and prediction. MCT_E_ARG for a label outside the
   classes or a program without a training section (nothing is updated then). MCT_E_NUMERIC when the loss
   or its gradient is not finite (checked before any update: the weights are unchanged) or, fp32 mode, a
   layer's gradient is not finite (the update needing it and all later ones are skipped; layers nearer the
   output may already have taken this step, with finite gradients). */
mct_status_t mct_engine_train_step(mct_engine_t *eng, int32_t label, mct_train_result_t *result);

/* Runs the forward ops [0, mct_program_forward_ops()): the logits tensor then holds the prediction. */
mct_status_t mct_engine_infer(mct_engine_t *eng);

/* Installs (or, with NULL, removes) the per-op hook used by run/train_step/infer. */
void mct_engine_set_hook(mct_engine_t *eng, mct_op_hook_t hook, void *ctx);

uint32_t mct_program_forward_ops(const mct_program_t *prog);
int32_t mct_program_logits(const mct_program_t *prog); /* tensor id or -1 */
uint32_t mct_program_state_count(const mct_program_t *prog);
/* Arena range [offset, offset + nbytes) of state region i; MCT_E_ARG for a bad index. */
mct_status_t mct_program_state_region(const mct_program_t *prog, uint32_t i, uint32_t *offset, uint32_t *nbytes);

/* One-word name of a status, for logs. */
const char *mct_status_str(mct_status_t s);

/* CRC-32 (IEEE 802.3, as zlib.crc32), continuing from `crc` (start with 0). */
uint32_t mct_crc32(uint32_t crc, const uint8_t *data, uint32_t len);

#ifdef __cplusplus
}
#endif

#endif /* MCT_ENGINE_H */
