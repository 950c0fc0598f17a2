/* program_internal.h - decoding helpers shared by program.c (validation) and schedule.c (execution).
   Not part of the public API. */
#ifndef MCT_PROGRAM_INTERNAL_H
#define MCT_PROGRAM_INTERNAL_H

#include <stdint.h>

#include "engine.h"
#include "program_format.h"

/* Largest stride the loader accepts: keeps every (position * stride) index product far inside
 * int32 (positions are bounded by the arena), so the kernels' window arithmetic cannot overflow. */
#define MCT_MAX_STRIDE 255

static inline int mct_in_range(int32_t v, int32_t lo, int32_t hi) { return v >= lo && v <= hi; }

static inline uint16_t mct_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t mct_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

typedef struct {
    uint8_t opcode;
    uint8_t n_in;
    uint8_t n_out;
    uint8_t flags;
    uint16_t ids[MCT_OP_MAX_IDS]; /* inputs, then outputs */
    uint32_t param_off;
    uint32_t param_size;
} mct_op_rec_t;

static inline void mct_decode_op(const mct_program_t *prog, uint32_t idx, mct_op_rec_t *op)
{
    const uint8_t *r = prog->op_table + idx * MCT_OP_REC_SIZE;
    op->opcode = r[0];
    op->n_in = r[1];
    op->n_out = r[2];
    op->flags = r[3];
    for (uint32_t i = 0; i < MCT_OP_MAX_IDS; ++i) {
        op->ids[i] = mct_rd16(r + 4 + 2 * i);
    }
    op->param_off = mct_rd32(r + 20);
    op->param_size = mct_rd32(r + 24);
}

static inline void mct_decode_tensor(const mct_program_t *prog, uint32_t id, mct_tensor_t *t)
{
    const uint8_t *r = prog->tensor_table + id * MCT_TENSOR_REC_SIZE;
    t->dtype = r[0];
    t->storage = r[1];
    t->rank = r[2];
    t->flags = r[3];
    for (uint32_t i = 0; i < MCT_MAX_RANK; ++i) {
        t->dims[i] = mct_rd16(r + 4 + 2 * i);
    }
    t->zero_point = (int32_t)mct_rd32(r + 12);
    t->scale_bits = mct_rd32(r + 16);
    t->offset = mct_rd32(r + 20);
    t->nbytes = mct_rd32(r + 24);
    t->init_off = mct_rd32(r + 28);
}

/* Parameter words of an op (the constant pool is 4-byte aligned, so this cast is aligned).
   Words are little-endian; the engine only builds for little-endian targets (checked at load). */
static inline const int32_t *mct_op_params(const mct_program_t *prog, const mct_op_rec_t *op)
{
    return (const int32_t *)(const void *)(prog->consts + op->param_off);
}

/* Everything an op's validation needs, decoded once (program.c, program_train.c). */
typedef struct {
    mct_op_rec_t op;
    mct_tensor_t in[MCT_OP_MAX_IDS];
    mct_tensor_t out[MCT_OP_MAX_IDS];
    int has_in[MCT_OP_MAX_IDS];
    int has_out[MCT_OP_MAX_IDS];
    const int32_t *w; /* parameter words */
    uint32_t n_words;
    const mct_program_t *prog;
} op_view_t;

/* 1 if [off, off + size) lies inside [0, limit); 64-bit so hostile values cannot wrap. */
int mct_fits(uint64_t off, uint64_t size, uint64_t limit);

/* Bytes of a tensor: arena (storage 0, 2) or constant pool (storage 1; only ever read). */
static inline uint8_t *mct_tensor_bytes(const mct_engine_t *e, const mct_tensor_t *t)
{
    if (t->storage == MCT_STORE_CONST) {
        return (uint8_t *)(uintptr_t)(e->prog->consts + t->offset);
    }
    return e->arena + t->offset;
}

/* schedule_train.c: runs a version-2 training op (or a split-weight forward op). */
mct_status_t mct_run_train_op(mct_engine_t *e, const mct_op_rec_t *op);

/* program_train.c: the version-2 training additions to the loader. */
int mct_train_arity(uint8_t opcode, uint32_t *n_in, uint32_t *n_out, uint32_t *optional);
mct_status_t mct_check_train_op(const op_view_t *v);
mct_status_t mct_check_split(const op_view_t *v);
mct_status_t mct_check_train_section(mct_program_t *p, uint32_t off);
/* 1 if op reads the tensor in id slot `slot` (inputs, then outputs): every input but NORMALIZE's
   overwritten gradient, and an output it accumulates into (fp32 accumulate flags) or updates in place
   (weights, biases, PRNG / fraction state). The op must have passed the loader's checks. */
int mct_op_reads(const mct_op_rec_t *op, const int32_t *w, uint32_t slot);

#endif /* MCT_PROGRAM_INTERNAL_H */
