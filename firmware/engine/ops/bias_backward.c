/* bias_backward.c - GRAD_BIAS of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED: the output gradient summed
   over every position, per channel (all channels: biases are cheap to update). */
#include "train_ops.h"

void mct_grad_bias_f32(uint32_t positions, uint32_t channels, const float *gy, float *gb)
{
    for (uint32_t c = 0; c < channels; ++c) {
        gb[c] = 0.0f;
    }
    for (uint32_t p = 0; p < positions; ++p) {
        for (uint32_t c = 0; c < channels; ++c) {
            gb[c] += gy[p * channels + c];
        }
    }
}

void mct_grad_bias_int(uint32_t positions, uint32_t channels, const int16_t *gy, int32_t *gb)
{
    for (uint32_t c = 0; c < channels; ++c) {
        gb[c] = 0;
    }
    for (uint32_t p = 0; p < positions; ++p) {
        for (uint32_t c = 0; c < channels; ++c) {
            gb[c] = (int32_t)((uint32_t)gb[c] + (uint32_t)(int32_t)gy[p * channels + c]); /* wraps as the golden */
        }
    }
}
