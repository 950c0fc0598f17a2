/* depthwise_conv2d_s8.c - reference int8 depthwise convolution, depth_multiplier >= 1
   (TFLite DepthwiseConvPerChannel): output channel oc = ic * depth_multiplier + m. */
#include "../quant.h"
#include "ops.h"

#ifndef MCT_USE_ARM_OPS /* ops/arm/depthwise_conv2d_s8.c provides it */

void mct_depthwise_conv2d_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                             const int8_t *in, const mct_dims_t *filter_dims, const int8_t *filter,
                             const int32_t *bias, const mct_dims_t *out_dims, int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c;
    const int32_t dm = p->depth_multiplier;

    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                for (int32_t ic = 0; ic < in_c; ++ic) {
                    for (int32_t m = 0; m < dm; ++m) {
                        const int32_t oc = ic * dm + m;
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
                                const int32_t iv = in[(((b * in_h) + iy) * in_w + ix) * in_c + ic];
                                const int32_t fv = filter[((ky * k_w) + kx) * out_c + oc];
                                acc += (iv + p->input_offset) * fv;
                            }
                        }
                        if (bias != 0) {
                            acc = mct_wrap_add(acc, bias[oc]); /* wraps like TFLite instead of UB on hostile biases */
                        }
                        acc = mct_requant(acc, q->multiplier[oc], q->shift[oc], p->output_offset);
                        out[(((b * out_h) + oy) * out_w + ox) * out_c + oc] =
                            (int8_t)mct_clamp(acc, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

#endif /* MCT_USE_ARM_OPS */
