/* act_mask.c - the activation mask of training: MASK stores 1 bit per output element (inside the clamp
   of the fused activation), ACT_GRAD zeroes the output gradient where the forward output was clamped.
   The mask comes from those bits or, when the layer's int8 output is kept anyway, from the output itself
   (the compiler never stores both). */
#include "train_ops.h"

void mct_mask_bits(uint32_t n, const int8_t *x, int32_t lo, int32_t hi, uint8_t *bits)
{
    for (uint32_t i = 0; i < (n + 7u) / 8u; ++i) {
        bits[i] = 0;
    }
    for (uint32_t i = 0; i < n; ++i) {
        if (x[i] > lo && x[i] < hi) {
            bits[i >> 3] = (uint8_t)(bits[i >> 3] | (1u << (i & 7u)));
        }
    }
}

static int keep(uint32_t i, const uint8_t *bits, const int8_t *x, int32_t lo, int32_t hi)
{
    return (bits != 0) ? ((bits[i >> 3] >> (i & 7u)) & 1u) : (x[i] > lo && x[i] < hi);
}

void mct_act_grad_f32(uint32_t n, float *g, const uint8_t *bits, const int8_t *x, int32_t lo, int32_t hi)
{
    for (uint32_t i = 0; i < n; ++i) {
        if (!keep(i, bits, x, lo, hi)) {
            g[i] = 0.0f;
        }
    }
}

void mct_act_grad_int(uint32_t n, int16_t *g, const uint8_t *bits, const int8_t *x, int32_t lo, int32_t hi)
{
    for (uint32_t i = 0; i < n; ++i) {
        if (!keep(i, bits, x, lo, hi)) {
            g[i] = 0;
        }
    }
}
