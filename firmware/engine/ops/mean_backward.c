/* mean_backward.c - MEAN backward: every reduced element receives g / count (int: g * round(2^r / count),
   exponent e - r), broadcast over the reduced axes of the 4-D input view. */
#include "train_ops.h"

/* Index into the (reduced, kept-dims) gradient for input position (a, b, c, d). */
static uint32_t reduced_index(int32_t axis_mask, const int32_t x_dims[4], const int32_t pos[4])
{
    uint32_t idx = 0;
    for (int32_t i = 0; i < 4; ++i) {
        const int reduced = (axis_mask >> i) & 1;
        idx = idx * (uint32_t)(reduced ? 1 : x_dims[i]) + (uint32_t)(reduced ? 0 : pos[i]);
    }
    return idx;
}

/* Next position of the row-major walk over the 4-D input (an odometer; wraps to all zeros at the end). */
static void next_pos(const int32_t x_dims[4], int32_t pos[4])
{
    for (int32_t i = 3; i >= 0; --i) {
        if (++pos[i] < x_dims[i]) {
            return;
        }
        pos[i] = 0;
    }
}

void mct_mean_grad_f32(int32_t axis_mask, const int32_t x_dims[4], const float *gy, int32_t count, int accumulate,
                       float *gx)
{
    const uint32_t n = (uint32_t)(x_dims[0] * x_dims[1] * x_dims[2] * x_dims[3]);
    int32_t pos[4] = {0, 0, 0, 0};
    for (uint32_t o = 0; o < n; ++o, next_pos(x_dims, pos)) {
        const float v = gy[reduced_index(axis_mask, x_dims, pos)] / (float)count;
        gx[o] = accumulate ? gx[o] + v : v;
    }
}

void mct_mean_grad_int(int32_t axis_mask, const int32_t x_dims[4], const int16_t *gy, int32_t count, int32_t r,
                       int32_t *acc)
{
    /* 1/count in Q(r); the loader bounds r by 14 + bitlen(count), so inv < 2^16 and g * inv < 2^31 */
    const int32_t inv = (int32_t)((((int64_t)1 << r) + count / 2) / count);
    const uint32_t n = (uint32_t)(x_dims[0] * x_dims[1] * x_dims[2] * x_dims[3]);
    int32_t pos[4] = {0, 0, 0, 0};
    for (uint32_t o = 0; o < n; ++o, next_pos(x_dims, pos)) {
        acc[o] = (int32_t)gy[reduced_index(axis_mask, x_dims, pos)] * inv;
    }
}
