/* fully_connected_backward.c - FULLY_CONNECTED input and weight gradients (batch 1), both numeric modes.
   The int weight gradient needs no headroom shift: each element is one product g * (x - zp). */
#include "../train_math.h"
#include "train_ops.h"

void mct_fc_grad_input_f32(int32_t units, int32_t depth, const float *gy, const mct_filter_t *f,
                           const float *scale, int accumulate, float *gx)
{
    if (!accumulate) {
        for (int32_t d = 0; d < depth; ++d) {
            gx[d] = 0.0f;
        }
    }
    for (int32_t u = 0; u < units; ++u) {
        if (gy[u] == 0.0f) {
            continue;
        }
        const int8_t *fp = mct_filter_row(f, u, depth);
        for (int32_t d = 0; d < depth; ++d) {
            gx[d] += gy[u] * ((float)fp[d] * scale[u]);
        }
    }
}

void mct_fc_grad_input_int(int32_t units, int32_t depth, const int16_t *gy, const mct_filter_t *f,
                           const int32_t *mult, const int32_t *shift, int32_t *acc)
{
    for (int32_t d = 0; d < depth; ++d) {
        acc[d] = 0;
    }
    for (int32_t u = 0; u < units; ++u) {
        if (gy[u] == 0) {
            continue;
        }
        const int32_t g2 = mct_mul_shift(gy[u], mult[u], shift[u]);
        const int8_t *fp = mct_filter_row(f, u, depth);
        for (int32_t d = 0; d < depth; ++d) {
            acc[d] = (int32_t)((uint32_t)acc[d] + (uint32_t)(int32_t)fp[d] * (uint32_t)g2);
        }
    }
}

void mct_fc_grad_weight_f32(int32_t depth, const float *gy, const int8_t *x, int32_t input_offset, float x_scale,
                            int32_t k, float *gw)
{
    for (int32_t u = 0; u < k; ++u) {
        for (int32_t d = 0; d < depth; ++d) {
            gw[u * depth + d] = gy[u] * (x_scale * (float)((int32_t)x[d] + input_offset));
        }
    }
}

void mct_fc_grad_weight_int(int32_t depth, const int16_t *gy, const int8_t *x, int32_t input_offset, int32_t k,
                            int32_t *gw)
{
    for (int32_t u = 0; u < k; ++u) {
        for (int32_t d = 0; d < depth; ++d) {
            gw[u * depth + d] = (int32_t)gy[u] * ((int32_t)x[d] + input_offset);
        }
    }
}
