/* mean_s8.c - int8 MEAN over any set of axes of a (<= 4-D) tensor, as TFLite Micro's
   QuantizedMeanOrSum: (sum - zp_in * count) requantized with a host-computed multiplier that
   already includes 1/count (TFLM uses this path even when input and output quantization agree).
   Loops over outputs and sums each one's reduced elements, so no scratch buffer is needed. */
#include "../quant.h"
#include "ops.h"

void mct_mean_s8(const mct_mean_params_t *p, const int32_t in_dims[4], const int8_t *in, int8_t *out)
{
    int32_t outer[4];
    int32_t inner[4];
    int32_t stride[4];
    int32_t count = 1;
    for (int32_t i = 0; i < 4; ++i) {
        const int reduced = (p->axis_mask >> i) & 1;
        outer[i] = reduced ? 1 : in_dims[i];
        inner[i] = reduced ? in_dims[i] : 1;
        count *= inner[i];
    }
    stride[3] = 1;
    for (int32_t i = 2; i >= 0; --i) {
        stride[i] = stride[i + 1] * in_dims[i + 1];
    }
    uint32_t o = 0;
    for (int32_t a = 0; a < outer[0]; ++a) {
        for (int32_t b = 0; b < outer[1]; ++b) {
            for (int32_t c = 0; c < outer[2]; ++c) {
                for (int32_t d = 0; d < outer[3]; ++d) {
                    int32_t sum = 0;
                    for (int32_t ra = 0; ra < inner[0]; ++ra) {
                        for (int32_t rb = 0; rb < inner[1]; ++rb) {
                            for (int32_t rc = 0; rc < inner[2]; ++rc) {
                                const int32_t base =
                                    (a + ra) * stride[0] + (b + rb) * stride[1] + (c + rc) * stride[2] + d;
                                for (int32_t rd = 0; rd < inner[3]; ++rd) {
                                    sum += in[base + rd];
                                }
                            }
                        }
                    }
                    /* input_zp * count can pass 2^31 for a 2^24-element input; wrap as TFLM's int32 does */
                    const int32_t centred = mct_wrap_sub(sum, (int32_t)((uint32_t)p->input_zp * (uint32_t)count));
                    out[o++] = mct_sat_s8(mct_requant(centred, p->multiplier, p->shift, p->output_zp));
                }
            }
        }
    }
}
