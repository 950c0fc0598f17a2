/* conv2d_split_s8.c - forward conv / depthwise / FC of a layer under sparse update: the first k output
   channels' weights are the RAM copy training updates, the rest stay in flash. Same arithmetic as the
   reference kernels (fully_connected_s8.c, TFLite's conv / depthwise); only the filter lookup differs, so
   the optimised kernels with fixed signatures are untouched. With k == 0 (all of the filter in flash) the
   conv and depthwise kernels here are the reference conv2d_s8.c / depthwise_conv2d_s8.c. Padded taps
   ((zp + input_offset) == 0) contribute nothing, so only the in-input span of each window is visited. */
#include "../quant.h"
#include "train_ops.h"
#include "window.h"

static int8_t requant(int32_t acc, const int32_t *bias, int32_t oc, const mct_channel_quant_t *q, int32_t out_off,
                      int32_t lo, int32_t hi)
{
    if (bias != 0) {
        acc = mct_wrap_add(acc, bias[oc]); /* wraps like TFLite instead of UB on hostile biases */
    }
    acc = mct_requant(acc, q->multiplier[oc], q->shift[oc], out_off);
    return (int8_t)mct_clamp(acc, lo, hi);
}

void mct_conv2d_split_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                         const int8_t *in, const mct_dims_t *filter_dims, const mct_filter_t *f,
                         const int32_t *bias, const mct_dims_t *out_dims, int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, per = k_h * k_w * in_c;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const mct_span_t sy = mct_span(oy, p->stride_h, p->pad_h, k_h, in_h);
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const mct_span_t sx = mct_span(ox, p->stride_w, p->pad_w, k_w, in_w);
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int8_t *frow = mct_filter_row(f, oc, per);
                    int32_t acc = 0;
                    for (int32_t iy = sy.lo; iy < sy.hi; ++iy) {
                        for (int32_t ix = sx.lo; ix < sx.hi; ++ix) {
                            const int8_t *ip = in + (((b * in_h) + iy) * in_w + ix) * in_c;
                            const int8_t *fp = frow + ((iy - sy.start) * k_w + (ix - sx.start)) * in_c;
                            for (int32_t ic = 0; ic < in_c; ++ic) {
                                acc += ((int32_t)ip[ic] + p->input_offset) * (int32_t)fp[ic];
                            }
                        }
                    }
                    out[(((b * out_h) + oy) * out_w + ox) * out_c + oc] =
                        requant(acc, bias, oc, q, p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
}

void mct_depthwise_conv2d_split_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q,
                                   const mct_dims_t *in_dims, const int8_t *in, const mct_dims_t *filter_dims,
                                   const mct_filter_t *f, const int32_t *bias, const mct_dims_t *out_dims,
                                   int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c;
    const int32_t dm = p->depth_multiplier;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const mct_span_t sy = mct_span(oy, p->stride_h, p->pad_h, k_h, in_h);
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const mct_span_t sx = mct_span(ox, p->stride_w, p->pad_w, k_w, in_w);
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int32_t ic = oc / dm;
                    int32_t acc = 0;
                    for (int32_t iy = sy.lo; iy < sy.hi; ++iy) {
                        for (int32_t ix = sx.lo; ix < sx.hi; ++ix) {
                            const int32_t iv = in[(((b * in_h) + iy) * in_w + ix) * in_c + ic];
                            const int32_t tap = (iy - sy.start) * k_w + (ix - sx.start);
                            acc += (iv + p->input_offset) * mct_filter_dw(f, tap, oc, out_c);
                        }
                    }
                    out[(((b * out_h) + oy) * out_w + ox) * out_c + oc] =
                        requant(acc, bias, oc, q, p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
}

void mct_fully_connected_split_s8(const mct_fc_params_t *p, const mct_channel_quant_t *q, int32_t batches,
                                  int32_t depth, int32_t units, const int8_t *in, const mct_filter_t *f,
                                  const int32_t *bias, int8_t *out)
{
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *ip = in + b * depth;
        for (int32_t u = 0; u < units; ++u) {
            const int8_t *fp = mct_filter_row(f, u, depth);
            int32_t acc = 0;
            for (int32_t d = 0; d < depth; ++d) {
                acc += ((int32_t)fp[d] + p->filter_offset) * ((int32_t)ip[d] + p->input_offset);
            }
            out[b * units + u] = requant(acc, bias, u, q, p->output_offset, p->act_min, p->act_max);
        }
    }
}
