/* depthwise_conv2d_backward.c - DEPTHWISE_CONV_2D input and weight gradients, both numeric modes.
   Output channel oc = ic * depth_multiplier + m reads input channel ic: the input gradient of ic sums its
   depth_multiplier output channels; the weight gradient of channel oc correlates it with input ic.
   Padded taps contribute nothing, so only the in-input span of each window is visited (window.h). */
#include "../train_math.h"
#include "train_ops.h"
#include "window.h"

void mct_depthwise_grad_input_f32(const mct_geom_t *g, const mct_dims_t *gy_dims, const float *gy,
                                  const mct_dims_t *f_dims, const mct_filter_t *f, const float *scale,
                                  const mct_dims_t *x_dims, int accumulate, float *gx)
{
    const int32_t h = x_dims->h, w = x_dims->w, ci = x_dims->c;
    const int32_t kh = f_dims->h, kw = f_dims->w, co = gy_dims->c, dm = g->depth_multiplier;
    if (!accumulate) {
        mct_zero_f32((uint32_t)(h * w * ci), gx);
    }
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        const mct_span_t sy = mct_span(oy, g->stride_h, g->pad_h, kh, h);
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const mct_span_t sx = mct_span(ox, g->stride_w, g->pad_w, kw, w);
            const float *gp = gy + (oy * gy_dims->w + ox) * co;
            for (int32_t iy = sy.lo; iy < sy.hi; ++iy) {
                for (int32_t ix = sx.lo; ix < sx.hi; ++ix) {
                    const int32_t tap = (iy - sy.start) * kw + (ix - sx.start);
                    float *xp = gx + (iy * w + ix) * ci;
                    for (int32_t oc = 0; oc < co; ++oc) {
                        xp[oc / dm] += gp[oc] * ((float)mct_filter_dw(f, tap, oc, co) * scale[oc]);
                    }
                }
            }
        }
    }
}

void mct_depthwise_grad_input_int(const mct_geom_t *g, const mct_dims_t *gy_dims, const int16_t *gy,
                                  const mct_dims_t *f_dims, const mct_filter_t *f, const int32_t *mult,
                                  const int32_t *shift, const mct_dims_t *x_dims, int32_t *acc)
{
    const int32_t h = x_dims->h, w = x_dims->w, ci = x_dims->c;
    const int32_t kh = f_dims->h, kw = f_dims->w, co = gy_dims->c, dm = g->depth_multiplier;
    mct_zero_i32((uint32_t)(h * w * ci), acc);
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        const mct_span_t sy = mct_span(oy, g->stride_h, g->pad_h, kh, h);
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const mct_span_t sx = mct_span(ox, g->stride_w, g->pad_w, kw, w);
            const int16_t *gp = gy + (oy * gy_dims->w + ox) * co;
            for (int32_t oc = 0; oc < co; ++oc) {
                if (gp[oc] == 0) {
                    continue;
                }
                const int32_t g2 = mct_mul_shift(gp[oc], mult[oc], shift[oc]); /* g * s_w[oc] * 2^k */
                for (int32_t iy = sy.lo; iy < sy.hi; ++iy) {
                    for (int32_t ix = sx.lo; ix < sx.hi; ++ix) {
                        const int32_t tap = (iy - sy.start) * kw + (ix - sx.start);
                        int32_t *ap = acc + (iy * w + ix) * ci + oc / dm;
                        *ap = (int32_t)((uint32_t)*ap + (uint32_t)(mct_filter_dw(f, tap, oc, co) * g2));
                    }
                }
            }
        }
    }
}

void mct_depthwise_grad_weight_f32(const mct_geom_t *g, const mct_dims_t *gy_dims, const float *gy,
                                   const mct_dims_t *x_dims, const int8_t *x, int32_t input_offset,
                                   float x_scale, const mct_dims_t *f_dims, int32_t k, float *gw)
{
    const int32_t h = x_dims->h, w = x_dims->w, ci = x_dims->c;
    const int32_t kh = f_dims->h, kw = f_dims->w, co = gy_dims->c, dm = g->depth_multiplier;
    mct_zero_f32((uint32_t)(kh * kw * k), gw);
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        const mct_span_t sy = mct_span(oy, g->stride_h, g->pad_h, kh, h);
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const mct_span_t sx = mct_span(ox, g->stride_w, g->pad_w, kw, w);
            const float *gp = gy + (oy * gy_dims->w + ox) * co;
            for (int32_t iy = sy.lo; iy < sy.hi; ++iy) {
                for (int32_t ix = sx.lo; ix < sx.hi; ++ix) {
                    const int8_t *xp = x + (iy * w + ix) * ci;
                    float *wp = gw + ((iy - sy.start) * kw + (ix - sx.start)) * k;
                    for (int32_t oc = 0; oc < k; ++oc) {
                        wp[oc] += gp[oc] * (x_scale * (float)((int32_t)xp[oc / dm] + input_offset));
                    }
                }
            }
        }
    }
}

void mct_depthwise_grad_weight_int(const mct_geom_t *g, const mct_dims_t *gy_dims, const int16_t *gy,
                                   const mct_dims_t *x_dims, const int8_t *x, int32_t input_offset,
                                   int32_t shift, const mct_dims_t *f_dims, int32_t k, int32_t *gw)
{
    const int32_t h = x_dims->h, w = x_dims->w, ci = x_dims->c;
    const int32_t kh = f_dims->h, kw = f_dims->w, co = gy_dims->c, dm = g->depth_multiplier;
    mct_zero_i32((uint32_t)(kh * kw * k), gw);
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        const mct_span_t sy = mct_span(oy, g->stride_h, g->pad_h, kh, h);
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const mct_span_t sx = mct_span(ox, g->stride_w, g->pad_w, kw, w);
            const int16_t *gp = gy + (oy * gy_dims->w + ox) * co;
            for (int32_t oc = 0; oc < k; ++oc) {
                const int32_t gv = (int32_t)mct_round_shift64(gp[oc], shift);
                if (gv == 0) {
                    continue;
                }
                for (int32_t iy = sy.lo; iy < sy.hi; ++iy) {
                    for (int32_t ix = sx.lo; ix < sx.hi; ++ix) {
                        int32_t *wp = gw + ((iy - sy.start) * kw + (ix - sx.start)) * k + oc;
                        const int32_t xv = (int32_t)x[(iy * w + ix) * ci + oc / dm] + input_offset;
                        *wp = (int32_t)((uint32_t)*wp + (uint32_t)(gv * xv));
                    }
                }
            }
        }
    }
}
