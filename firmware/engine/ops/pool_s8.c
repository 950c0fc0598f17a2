/* pool_s8.c - int8 average and max pooling (TFLite reference AveragePool / MaxPool). Windows are
   clipped to the input, so SAME padding averages only the real elements. */
#include "../quant.h"
#include "ops.h"
#include "window.h"

int mct_avg_pool_s8(const mct_pool_params_t *p, const mct_dims_t *in_dims, const int8_t *in,
                    const mct_dims_t *out_dims, int8_t *out)
{
    const int32_t c_n = in_dims->c;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_dims->h; ++oy) {
            for (int32_t ox = 0; ox < out_dims->w; ++ox) {
                const mct_span_t sy = mct_span(oy, p->stride_h, p->pad_h, p->filter_h, in_dims->h);
                const mct_span_t sx = mct_span(ox, p->stride_w, p->pad_w, p->filter_w, in_dims->w);
                for (int32_t c = 0; c < c_n; ++c) {
                    int32_t acc = 0;
                    int32_t count = 0;
                    for (int32_t iy = sy.lo; iy < sy.hi; ++iy) {
                        for (int32_t ix = sx.lo; ix < sx.hi; ++ix) {
                            acc += in[(((b * in_dims->h) + iy) * in_dims->w + ix) * c_n + c];
                            ++count;
                        }
                    }
                    if (count == 0) {
                        return -1;
                    }
                    /* round half away from zero (C division truncates toward zero) */
                    acc = (acc > 0) ? (acc + count / 2) / count : (acc - count / 2) / count;
                    out[(((b * out_dims->h) + oy) * out_dims->w + ox) * c_n + c] =
                        (int8_t)mct_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
    return 0;
}

int mct_max_pool_s8(const mct_pool_params_t *p, const mct_dims_t *in_dims, const int8_t *in,
                    const mct_dims_t *out_dims, int8_t *out)
{
    const int32_t c_n = in_dims->c;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_dims->h; ++oy) {
            for (int32_t ox = 0; ox < out_dims->w; ++ox) {
                const mct_span_t sy = mct_span(oy, p->stride_h, p->pad_h, p->filter_h, in_dims->h);
                const mct_span_t sx = mct_span(ox, p->stride_w, p->pad_w, p->filter_w, in_dims->w);
                if (sy.lo >= sy.hi || sx.lo >= sx.hi) {
                    return -1;
                }
                for (int32_t c = 0; c < c_n; ++c) {
                    int32_t m = -128;
                    for (int32_t iy = sy.lo; iy < sy.hi; ++iy) {
                        for (int32_t ix = sx.lo; ix < sx.hi; ++ix) {
                            const int32_t v = in[(((b * in_dims->h) + iy) * in_dims->w + ix) * c_n + c];
                            m = (v > m) ? v : m;
                        }
                    }
                    out[(((b * out_dims->h) + oy) * out_dims->w + ox) * c_n + c] =
                        (int8_t)mct_clamp(m, p->act_min, p->act_max);
                }
            }
        }
    }
    return 0;
}
