/* add_backward.c - ADD backward (and RESHAPE / QUANTIZE / DEQUANTIZE): in real units d(a + b)/da = 1, so
   each input's gradient is the (masked) output gradient itself. int mode copies the int16 values and the
   exponent; into an int32 accumulator when the tensor gets a second contribution (then NORMALIZE sums). */
#include "train_ops.h"

void mct_grad_copy_f32(uint32_t n, const float *gy, int accumulate, float *out)
{
    for (uint32_t i = 0; i < n; ++i) {
        out[i] = accumulate ? out[i] + gy[i] : gy[i];
    }
}

void mct_grad_copy_int(uint32_t n, const int16_t *gy, int16_t *out16, int32_t *out32)
{
    for (uint32_t i = 0; i < n; ++i) {
        if (out16 != 0) {
            out16[i] = gy[i];
        } else {
            out32[i] = gy[i];
        }
    }
}
