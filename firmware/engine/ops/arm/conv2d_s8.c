/* arm/conv2d_s8.c - Cortex-M conv: 1x1 convolutions (most MACs of a MobileNet) without im2col,
   four input channels per step with SXTB16 + SADD16 (input offset) + SMLAD; other shapes use the
   plain loops. Same name and results as ops/conv2d_s8.c; selected with -DMCT_USE_ARM_OPS. */
#include "../../quant.h"
#include "../ops.h"
#include "arm_simd.h"

#ifdef MCT_USE_ARM_OPS

static int32_t dot_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t input_offset)
{
    const uint32_t off2 = ((uint32_t)(uint16_t)(int16_t)input_offset) * 0x00010001u;
    int32_t acc = 0;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t xv = mct_load4(x + i);
        const uint32_t wv = mct_load4(w + i);
        /* lanes (0,2) then (1,3) of both operands, so the pairs line up */
        const uint32_t x02 = mct_sadd16(mct_sxtb16(xv), off2);
        const uint32_t x13 = mct_sadd16(mct_sxtb16(mct_ror8(xv)), off2);
        acc = mct_smlad(x02, mct_sxtb16(wv), acc);
        acc = mct_smlad(x13, mct_sxtb16(mct_ror8(wv)), acc);
    }
    for (; i < n; ++i) {
        acc += ((int32_t)x[i] + input_offset) * (int32_t)w[i];
    }
    return acc;
}

void mct_conv2d_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                   const int8_t *in, const mct_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                   const mct_dims_t *out_dims, int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                int8_t *op = out + (((b * out_h) + oy) * out_w + ox) * out_c;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < k_h; ++ky) {
                        const int32_t iy = in_y0 + ky;
                        if (iy < 0 || iy >= in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < k_w; ++kx) {
                            const int32_t ix = in_x0 + kx;
                            if (ix < 0 || ix >= in_w) {
                                continue;
                            }
                            /* a 1x1 kernel is exactly one contiguous channel dot product per output */
                            acc += dot_s8(in + (((b * in_h) + iy) * in_w + ix) * in_c,
                                          filter + (((oc * k_h) + ky) * k_w + kx) * in_c, in_c, p->input_offset);
                        }
                    }
                    if (bias != 0) {
                        acc = mct_wrap_add(acc, bias[oc]);
                    }
                    acc = mct_mbqm(acc, q->multiplier[oc], q->shift[oc]) + p->output_offset;
                    op[oc] = (int8_t)mct_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

#endif /* MCT_USE_ARM_OPS */
