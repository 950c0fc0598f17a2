/* conv2d_backward.c - CONV_2D (incl. 1x1) input and weight gradients, both numeric modes.
   Input gradient: a transposed convolution, computed by scattering each output-gradient element into the
   input positions its taps read (each g2 is formed once). Weight gradient: correlation of the output
   gradient with the saved int8 input, first k output channels only. Padded taps contribute nothing. */
#include "../train_math.h"
#include "train_ops.h"

void mct_conv2d_grad_input_f32(const mct_geom_t *g, const mct_dims_t *gy_dims, const float *gy,
                               const mct_dims_t *f_dims, const mct_filter_t *f, const float *scale,
                               const mct_dims_t *x_dims, int accumulate, float *gx)
{
    const int32_t h = x_dims->h, w = x_dims->w, ci = x_dims->c;
    const int32_t kh = f_dims->h, kw = f_dims->w, per = kh * kw * ci, co = gy_dims->c;
    if (!accumulate) {
        for (int32_t i = 0; i < h * w * ci; ++i) {
            gx[i] = 0.0f;
        }
    }
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            for (int32_t oc = 0; oc < co; ++oc) {
                const float gv = gy[(oy * gy_dims->w + ox) * co + oc];
                if (gv == 0.0f) {
                    continue; /* masked gradients are mostly zero */
                }
                const int8_t *frow = mct_filter_row(f, oc, per);
                for (int32_t ky = 0; ky < kh; ++ky) {
                    const int32_t iy = oy * g->stride_h - g->pad_h + ky;
                    if (iy < 0 || iy >= h) {
                        continue;
                    }
                    for (int32_t kx = 0; kx < kw; ++kx) {
                        const int32_t ix = ox * g->stride_w - g->pad_w + kx;
                        if (ix < 0 || ix >= w) {
                            continue;
                        }
                        const int8_t *fp = frow + (ky * kw + kx) * ci;
                        float *gp = gx + (iy * w + ix) * ci;
                        for (int32_t ic = 0; ic < ci; ++ic) {
                            gp[ic] += ((float)fp[ic] * scale[oc]) * gv;
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
    for (int32_t i = 0; i < h * w * ci; ++i) {
        acc[i] = 0;
    }
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            for (int32_t oc = 0; oc < co; ++oc) {
                const int32_t gq = gy[(oy * gy_dims->w + ox) * co + oc];
                if (gq == 0) {
                    continue;
                }
                /* g * s_w[oc] * 2^k: the headroom rule bounds |g2| by 2^B so the sums fit in int32 */
                const int32_t g2 = mct_mul_shift(gq, mult[oc], shift[oc]);
                const int8_t *frow = mct_filter_row(f, oc, per);
                for (int32_t ky = 0; ky < kh; ++ky) {
                    const int32_t iy = oy * g->stride_h - g->pad_h + ky;
                    if (iy < 0 || iy >= h) {
                        continue;
                    }
                    for (int32_t kx = 0; kx < kw; ++kx) {
                        const int32_t ix = ox * g->stride_w - g->pad_w + kx;
                        if (ix < 0 || ix >= w) {
                            continue;
                        }
                        const int8_t *fp = frow + (ky * kw + kx) * ci;
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
    for (int32_t i = 0; i < k * per; ++i) {
        gw[i] = 0.0f;
    }
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            for (int32_t oc = 0; oc < k; ++oc) {
                const float gv = gy[(oy * gy_dims->w + ox) * co + oc];
                if (gv == 0.0f) {
                    continue;
                }
                for (int32_t ky = 0; ky < kh; ++ky) {
                    const int32_t iy = oy * g->stride_h - g->pad_h + ky;
                    if (iy < 0 || iy >= h) {
                        continue;
                    }
                    for (int32_t kx = 0; kx < kw; ++kx) {
                        const int32_t ix = ox * g->stride_w - g->pad_w + kx;
                        if (ix < 0 || ix >= w) {
                            continue;
                        }
                        const int8_t *xp = x + (iy * w + ix) * ci;
                        float *wp = gw + oc * per + (ky * kw + kx) * ci;
                        for (int32_t ic = 0; ic < ci; ++ic) {
                            wp[ic] += gv * (x_scale * (float)((int32_t)xp[ic] + input_offset));
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
    for (int32_t i = 0; i < k * per; ++i) {
        gw[i] = 0;
    }
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            for (int32_t oc = 0; oc < k; ++oc) {
                /* drop `shift` bits so the sum over OH*OW positions stays inside int32 */
                const int32_t gv = (int32_t)mct_round_shift64(gy[(oy * gy_dims->w + ox) * co + oc], shift);
                if (gv == 0) {
                    continue;
                }
                for (int32_t ky = 0; ky < kh; ++ky) {
                    const int32_t iy = oy * g->stride_h - g->pad_h + ky;
                    if (iy < 0 || iy >= h) {
                        continue;
                    }
                    for (int32_t kx = 0; kx < kw; ++kx) {
                        const int32_t ix = ox * g->stride_w - g->pad_w + kx;
                        if (ix < 0 || ix >= w) {
                            continue;
                        }
                        const int8_t *xp = x + (iy * w + ix) * ci;
                        int32_t *wp = gw + oc * per + (ky * kw + kx) * ci;
                        for (int32_t ic = 0; ic < ci; ++ic) {
                            wp[ic] = (int32_t)((uint32_t)wp[ic] + (uint32_t)(gv * ((int32_t)xp[ic] + input_offset)));
                        }
                    }
                }
            }
        }
    }
}
