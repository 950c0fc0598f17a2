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

void mct_mean_grad_f32(int32_t axis_mask, const int32_t x_dims[4], const float *gy, int32_t count, int accumulate,
                       float *gx)
{
    int32_t pos[4];
    uint32_t o = 0;
    for (pos[0] = 0; pos[0] < x_dims[0]; ++pos[0]) {
        for (pos[1] = 0; pos[1] < x_dims[1]; ++pos[1]) {
            for (pos[2] = 0; pos[2] < x_dims[2]; ++pos[2]) {
                for (pos[3] = 0; pos[3] < x_dims[3]; ++pos[3], ++o) {
                    const float v = gy[reduced_index(axis_mask, x_dims, pos)] / (float)count;
                    gx[o] = accumulate ? gx[o] + v : v;
                }
            }
        }
    }
}

void mct_mean_grad_int(int32_t axis_mask, const int32_t x_dims[4], const int16_t *gy, int32_t count, int32_t r,
                       int32_t *acc)
{
    /* 1/count in Q(r); the loader bounds r by 14 + bitlen(count), so inv < 2^16 and g * inv < 2^31 */
    const int32_t inv = (int32_t)((((int64_t)1 << r) + count / 2) / count);
    int32_t pos[4];
    uint32_t o = 0;
    for (pos[0] = 0; pos[0] < x_dims[0]; ++pos[0]) {
        for (pos[1] = 0; pos[1] < x_dims[1]; ++pos[1]) {
            for (pos[2] = 0; pos[2] < x_dims[2]; ++pos[2]) {
                for (pos[3] = 0; pos[3] < x_dims[3]; ++pos[3], ++o) {
                    acc[o] = (int32_t)gy[reduced_index(axis_mask, x_dims, pos)] * inv;
                }
            }
        }
    }
}
