/* conv2d_split_s8.c - forward conv / depthwise / FC of a layer under sparse update: the first k output
   channels' weights are the RAM copy training updates, the rest stay in flash. Same arithmetic as the
   reference kernels (fully_connected_s8.c, TFLite's conv / depthwise); only the filter lookup differs, so
   the optimised kernels with fixed signatures are untouched. With k == 0 (all of the filter in flash) the
   conv and depthwise kernels here are the reference conv2d_s8.c / depthwise_conv2d_s8.c. Padded taps
   ((zp + input_offset) == 0) contribute nothing, so only the in-input span of each window is visited. */
#include "../quant.h"
#include "train_ops.h"
#include "window.h"

#ifndef MCT_USE_ARM_OPS /* ops/arm/conv2d_split_s8.c provides them */

static int8_t requant(int32_t acc, const int32_t *bias, int32_t oc, const mct_channel_quant_t *q, int32_t out_off,
                      int32_t lo, int32_t hi)
{
    if (bias != 0) {
        acc = mct_wrap_add(acc, bias[oc]); /* wraps like TFLite instead of UB on hostile biases */
    }
    acc = mct_requant(acc, q->multiplier[oc], q->shift[oc], out_off);
    return (int8_t)mct_clamp(acc, lo, hi);
}

/* Conv: the dot product of output channel oc's filter row with the window, channels innermost (runs of whole
   taps, in the reference's tap order). */
static int32_t conv_dot(const mct_walk_t *wk, const mct_window_t *win, const int8_t *in, int32_t input_offset,
                        const int8_t *frow)
{
    int32_t acc = 0;
    for (int32_t r = 0; r < win->rows; ++r) {
        const mct_run_t run = mct_run(wk, win, r);
        for (int32_t i = 0; i < win->len; ++i) {
            acc += ((int32_t)in[run.in + i] + input_offset) * (int32_t)frow[run.tap + i];
        }
    }
    return acc;
}

/* Depthwise: output channel oc over input channel ic (offsets are pixels and taps). */
static int32_t depthwise_dot(const mct_walk_t *wk, const mct_window_t *win, const int8_t *in, int32_t in_c,
                             int32_t ic, int32_t input_offset, const mct_filter_t *f, int32_t oc, int32_t out_c)
{
    int32_t acc = 0;
    for (int32_t r = 0; r < win->rows; ++r) {
        const mct_run_t run = mct_run(wk, win, r);
        for (int32_t i = 0; i < win->len; ++i) {
            const int32_t iv = in[(run.in + i) * in_c + ic];
            acc += (iv + input_offset) * mct_filter_dw(f, run.tap + i, oc, out_c);
        }
    }
    return acc;
}

static mct_walk_t walk(const mct_conv_params_t *p, const mct_dims_t *in_dims, const mct_dims_t *filter_dims,
                       const mct_dims_t *out_dims, int32_t unit)
{
    return mct_walk(p->stride_h, p->stride_w, p->pad_h, p->pad_w, filter_dims->h, filter_dims->w, in_dims, out_dims,
                    out_dims->n, unit, unit);
}

void mct_conv2d_split_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                         const int8_t *in, const mct_dims_t *filter_dims, const mct_filter_t *f,
                         const int32_t *bias, const mct_dims_t *out_dims, int8_t *out)
{
    const mct_walk_t wk = walk(p, in_dims, filter_dims, out_dims, in_dims->c);
    const int32_t per = filter_dims->h * filter_dims->w * in_dims->c, out_c = out_dims->c;
    for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win)) {
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int32_t acc = conv_dot(&wk, &win, in, p->input_offset, mct_filter_row(f, oc, per));
            out[win.pos * out_c + oc] = requant(acc, bias, oc, q, p->output_offset, p->act_min, p->act_max);
        }
    }
}

void mct_depthwise_conv2d_split_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q,
                                   const mct_dims_t *in_dims, const int8_t *in, const mct_dims_t *filter_dims,
                                   const mct_filter_t *f, const int32_t *bias, const mct_dims_t *out_dims,
                                   int8_t *out)
{
    const mct_walk_t wk = walk(p, in_dims, filter_dims, out_dims, 1);
    const int32_t in_c = in_dims->c, out_c = out_dims->c;
    for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win)) {
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int32_t acc =
                depthwise_dot(&wk, &win, in, in_c, oc / p->depth_multiplier, p->input_offset, f, oc, out_c);
            out[win.pos * out_c + oc] = requant(acc, bias, oc, q, p->output_offset, p->act_min, p->act_max);
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

#endif /* MCT_USE_ARM_OPS */
