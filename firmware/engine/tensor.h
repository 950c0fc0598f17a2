/*
 * tensor.h - the tensor view kernels and the scheduler share.
 *
 * Shapes are TFLite's, row-major, channels last (NHWC). Kernels take 4-D shapes; a tensor of
 * rank r < 4 is viewed with 4 - r leading ones (TFLite's "extended shape").
 */
#ifndef MCT_TENSOR_H
#define MCT_TENSOR_H

#include <stdint.h>

#define MCT_MAX_RANK 4

typedef enum {
    MCT_DTYPE_INT8 = 1,
    MCT_DTYPE_INT32 = 2,
    MCT_DTYPE_FLOAT32 = 3,
    MCT_DTYPE_INT16 = 4,
    MCT_DTYPE_BITS = 5, /* 1 bit per element, packed LSB first; nbytes = ceil(elements / 8) */
    MCT_DTYPE_G16 = 6,  /* int-mode gradient: int16 elements, real = q * 2^exp, exp = int32 at init_off */
    MCT_DTYPE_G32 = 7   /* int-mode gradient accumulator: int32 elements, exponent as G16 */
} mct_dtype_t;

typedef enum {
    MCT_STORE_ARENA = 0,      /* lives in the caller's arena at `offset` */
    MCT_STORE_CONST = 1,      /* read-only, in the program's constant pool at `offset` */
    MCT_STORE_ARENA_INIT = 2  /* in the arena at `offset`, copied from the constant pool at init_off */
} mct_storage_t;

/* NHWC dims of a 4-D view. */
typedef struct {
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} mct_dims_t;

/* Decoded tensor-table entry (see docs/schedule-format.md, "Tensor record"). */
typedef struct {
    uint8_t dtype;
    uint8_t storage;
    uint8_t rank;
    uint8_t flags;
    uint16_t dims[MCT_MAX_RANK];
    int32_t zero_point;
    uint32_t scale_bits; /* IEEE-754 binary32 bits; only the float edges (QUANTIZE/DEQUANTIZE) use it */
    uint32_t offset;
    uint32_t nbytes;
    uint32_t init_off; /* storage 2: initial value in the pool; dtypes G16/G32: arena offset of the exponent */
} mct_tensor_t;

/* Bytes per element; 0 for unknown dtypes and for BITS (see mct_dtype_nbytes). */
static inline uint32_t mct_dtype_size(uint8_t dtype)
{
    switch (dtype) {
    case MCT_DTYPE_INT8: return 1u;
    case MCT_DTYPE_INT16:
    case MCT_DTYPE_G16: return 2u;
    case MCT_DTYPE_INT32:
    case MCT_DTYPE_FLOAT32:
    case MCT_DTYPE_G32: return 4u;
    default: return 0u;
    }
}

/* Storage bytes of `elems` elements of a dtype (0 = unknown dtype). 64-bit so hostile dims cannot wrap. */
static inline uint64_t mct_dtype_nbytes(uint8_t dtype, uint64_t elems)
{
    return (dtype == MCT_DTYPE_BITS) ? (elems + 7u) / 8u : elems * mct_dtype_size(dtype);
}

static inline int mct_dtype_has_exp(uint8_t dtype)
{
    return dtype == MCT_DTYPE_G16 || dtype == MCT_DTYPE_G32;
}

/* Extended 4-D dims of a tensor (leading ones). */
static inline void mct_tensor_ext4(const mct_tensor_t *t, int32_t out[MCT_MAX_RANK])
{
    const uint32_t pad = (uint32_t)MCT_MAX_RANK - t->rank;
    for (uint32_t i = 0; i < MCT_MAX_RANK; ++i) {
        out[i] = (i < pad) ? 1 : (int32_t)t->dims[i - pad];
    }
}

static inline mct_dims_t mct_tensor_dims(const mct_tensor_t *t)
{
    int32_t d[MCT_MAX_RANK];
    mct_tensor_ext4(t, d);
    mct_dims_t r = {d[0], d[1], d[2], d[3]};
    return r;
}

static inline uint32_t mct_tensor_elems(const mct_tensor_t *t)
{
    uint32_t e = 1;
    for (uint32_t i = 0; i < t->rank; ++i) {
        e *= t->dims[i];
    }
    return e;
}

#endif /* MCT_TENSOR_H */
