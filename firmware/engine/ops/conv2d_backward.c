/* conv2d_backward.c - CONV_2D (incl. 1x1) input and weight gradients, both numeric modes.
   Input gradient: a transposed convolution, computed by scattering each output-gradient element into the
   input positions its taps read (each g2 is formed once). Weight gradient: correlation of the output
   gradient with the saved int8 input, first k output channels only. Padded taps contribute nothing,
   so only the in-input span of each window is visited (window.h). */
#include "../train_math.h"
#include "train_ops.h"
#include "window.h"

void mct_conv2d_grad_input_f32(const mct_geom_t *g, const mct_dims_t *gy_dims, const float *gy,
                               const mct_dims_t *f_dims, const mct_filter_t *f, const float *scale,
                               const mct_dims_t *x_dims, int accumulate, float *gx)
{
    const int32_t h = x_dims->h, w = x_dims->w, ci = x_dims->c;
    const int32_t kh = f_dims->h, kw = f_dims->w, per = kh * kw * ci, co = gy_dims->c;
    if (!accumulate) {
        mct_zero_f32((uint32_t)(h * w * ci), gx);
    }
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        const mct_span_t sy = mct_span(oy, g->stride_h, g->pad_h, kh, h);
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const mct_span_t sx = mct_span(ox, g->stride_w, g->pad_w, kw, w);
            const float *gp = gy + (oy * gy_dims->w + ox) * co;
            for (int32_t oc = 0; oc < co; ++oc) {
                if (gp[oc] == 0.0f) {
                    continue; /* masked gradients are mostly zero */
                }
                const int8_t *frow = mct_filter_row(f, oc, per);
                for (int32_t iy = sy.lo; iy < sy.hi; ++iy) {
                    for (int32_t ix = sx.lo; ix < sx.hi; ++ix) {
                        const int8_t *fp = frow + ((iy - sy.start) * kw + (ix - sx.start)) * ci;
                        float *xp = gx + (iy * w + ix) * ci;
                        for (int32_t ic = 0; ic < ci; ++ic) {
                            xp[ic] += ((float)fp[ic] * scale[oc]) * gp[oc];
                        }
                    }
                }
            }
        }
    }
}

void mct_conv2d_grad_input_int(const mct_geom_t *g, const mct_dims_t *gy_dims, const int16_t *gy,
                               const mct_dims_t *f_dims, const mct_filter_t *f, const int32_t *mult,
                               const int32_t *shift, const mct_dims_t *x_dims, int32_t *acc)
{
    const int32_t h = x_dims->h, w = x_dims->w, ci = x_dims->c;
    const int32_t kh = f_dims->h, kw = f_dims->w, per = kh * kw * ci, co = gy_dims->c;
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
                /* g * s_w[oc] * 2^k: the headroom rule bounds |g2| by 2^B so the sums fit in int32 */
                const int32_t g2 = mct_mul_shift(gp[oc], mult[oc], shift[oc]);
                const int8_t *frow = mct_filter_row(f, oc, per);
                for (int32_t iy = sy.lo; iy < sy.hi; ++iy) {
                    for (int32_t ix = sx.lo; ix < sx.hi; ++ix) {
                        const int8_t *fp = frow + ((iy - sy.start) * kw + (ix - sx.start)) * ci;
                        int32_t *ap = acc + (iy * w + ix) * ci;
                        for (int32_t ic = 0; ic < ci; ++ic) {
                            /* unsigned add: wraps like the golden's int32 cast instead of UB */
                            ap[ic] = (int32_t)((uint32_t)ap[ic] + (uint32_t)((int32_t)fp[ic] * g2));
                        }
                    }
                }
            }
        }
    }
}

void mct_conv2d_grad_weight_f32(const mct_geom_t *g, const mct_dims_t *gy_dims, const float *gy,
                                const mct_dims_t *x_dims, const int8_t *x, int32_t input_offset, float x_scale,
                                const mct_dims_t *f_dims, int32_t k, float *gw)
{
    const int32_t h = x_dims->h, w = x_dims->w, ci = x_dims->c;
    const int32_t kh = f_dims->h, kw = f_dims->w, per = kh * kw * ci, co = gy_dims->c;
    mct_zero_f32((uint32_t)(k * per), gw);
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        const mct_span_t sy = mct_span(oy, g->stride_h, g->pad_h, kh, h);
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const mct_span_t sx = mct_span(ox, g->stride_w, g->pad_w, kw, w);
            const float *gp = gy + (oy * gy_dims->w + ox) * co;
            for (int32_t oc = 0; oc < k; ++oc) {
                if (gp[oc] == 0.0f) {
                    continue;
                }
                for (int32_t iy = sy.lo; iy < sy.hi; ++iy) {
                    for (int32_t ix = sx.lo; ix < sx.hi; ++ix) {
                        const int8_t *xp = x + (iy * w + ix) * ci;
                        float *wp = gw + oc * per + ((iy - sy.start) * kw + (ix - sx.start)) * ci;
                        for (int32_t ic = 0; ic < ci; ++ic) {
                            wp[ic] += gp[oc] * (x_scale * (float)((int32_t)xp[ic] + input_offset));
                        }
                    }
                }
            }
        }
    }
}

void mct_conv2d_grad_weight_int(const mct_geom_t *g, const mct_dims_t *gy_dims, const int16_t *gy,
                                const mct_dims_t *x_dims, const int8_t *x, int32_t input_offset, int32_t shift,
                                const mct_dims_t *f_dims, int32_t k, int32_t *gw)
{
    const int32_t h = x_dims->h, w = x_dims->w, ci = x_dims->c;
    const int32_t kh = f_dims->h, kw = f_dims->w, per = kh * kw * ci, co = gy_dims->c;
    mct_zero_i32((uint32_t)(k * per), gw);
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        const mct_span_t sy = mct_span(oy, g->stride_h, g->pad_h, kh, h);
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const mct_span_t sx = mct_span(ox, g->stride_w, g->pad_w, kw, w);
            const int16_t *gp = gy + (oy * gy_dims->w + ox) * co;
            for (int32_t oc = 0; oc < k; ++oc) {
                /* drop `shift` bits so the sum over OH*OW positions stays inside int32 */
                const int32_t gv = (int32_t)mct_round_shift64(gp[oc], shift);
                if (gv == 0) {
                    continue;
                }
                for (int32_t iy = sy.lo; iy < sy.hi; ++iy) {
                    for (int32_t ix = sx.lo; ix < sx.hi; ++ix) {
                        const int8_t *xp = x + (iy * w + ix) * ci;
                        int32_t *wp = gw + oc * per + ((iy - sy.start) * kw + (ix - sx.start)) * ci;
                        for (int32_t ic = 0; ic < ci; ++ic) {
                            wp[ic] = (int32_t)((uint32_t)wp[ic] + (uint32_t)(gv * ((int32_t)xp[ic] + input_offset)));
                        }
                    }
                }
            }
        }
    }
}
