/* pad_backward.c - PAD backward: the input gradient is the output gradient cropped at the padding. */
#include "train_ops.h"

static uint32_t src_index(const int32_t gy_dims[4], const int32_t before[4], int32_t a, int32_t b, int32_t c,
                          int32_t d)
{
    return (uint32_t)((((a + before[0]) * gy_dims[1] + (b + before[1])) * gy_dims[2] + (c + before[2])) * gy_dims[3] +
                      (d + before[3]));
}

void mct_pad_grad_f32(const int32_t gy_dims[4], const float *gy, const int32_t before[4], const int32_t x_dims[4],
                      int accumulate, float *gx)
{
    uint32_t o = 0;
    for (int32_t a = 0; a < x_dims[0]; ++a) {
        for (int32_t b = 0; b < x_dims[1]; ++b) {
            for (int32_t c = 0; c < x_dims[2]; ++c) {
                for (int32_t d = 0; d < x_dims[3]; ++d, ++o) {
                    const float v = gy[src_index(gy_dims, before, a, b, c, d)];
                    gx[o] = accumulate ? gx[o] + v : v;
                }
            }
        }
    }
}

void mct_pad_grad_int(const int32_t gy_dims[4], const int16_t *gy, const int32_t before[4],
                      const int32_t x_dims[4], int16_t *gx16, int32_t *gx32)
{
    uint32_t o = 0;
    for (int32_t a = 0; a < x_dims[0]; ++a) {
        for (int32_t b = 0; b < x_dims[1]; ++b) {
            for (int32_t c = 0; c < x_dims[2]; ++c) {
                for (int32_t d = 0; d < x_dims[3]; ++d, ++o) {
                    const int16_t v = gy[src_index(gy_dims, before, a, b, c, d)];
                    if (gx16 != 0) {
                        gx16[o] = v;
                    } else {
                        gx32[o] = v;
                    }
                }
            }
        }
    }
}
