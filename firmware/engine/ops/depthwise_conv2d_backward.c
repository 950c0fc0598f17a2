/* depthwise_conv2d_backward.c - DEPTHWISE_CONV_2D input and weight gradients, both numeric modes.
   Output channel oc = ic * depth_multiplier + m reads input channel ic: the input gradient of ic sums its
   depth_multiplier output channels; the weight gradient of channel oc correlates it with input ic.
   Padded taps contribute nothing, so only the in-input span of each window is visited (window.h; offsets
   are pixels and taps). fp32 visits channels innermost (a tap's channels are contiguous in the filter, gx and
   gw); int visits them outermost, to form each g2 once and skip zero gradients. Either order gives every gx /
   gw element its contributions in increasing channel order, so the sums are the same. */
#include "../train_math.h"
#include "train_ops.h"
#include "window.h"

/* Channel oc of the filter: tap t at w[t * stride] (mct_filter_dw with its RAM / flash choice made once). */
typedef struct {
    const int8_t *w;
    int32_t stride;
} column_t;

static inline column_t column(const mct_filter_t *f, int32_t oc, int32_t co)
{
    column_t col;
    col.w = (oc < f->k) ? f->ram + oc : f->flash + oc;
    col.stride = (oc < f->k) ? f->k : co;
    return col;
}

/* int mode visits one channel at a time: acc_c (input channel oc / dm) += w[oc] * g2 over the window. */
static inline void scatter_int(const mct_walk_t *wk, const mct_window_t *win, column_t col, int32_t ci, int32_t g2,
                               int32_t *acc_c)
{
    for (int32_t r = 0; r < win->rows; ++r) {
        const mct_run_t run = mct_run(wk, win, r);
        for (int32_t i = 0; i < win->len; ++i) {
            int32_t *ap = acc_c + (run.in + i) * ci;
            *ap = (int32_t)((uint32_t)*ap + (uint32_t)(int32_t)col.w[(run.tap + i) * col.stride] * (uint32_t)g2);
        }
    }
}

/* gw_oc (channel oc of gw [KH][KW][k]) += gv * x_c (input channel oc / dm) over the window. */
static inline void correlate_int(const mct_walk_t *wk, const mct_window_t *win, const int8_t *x_c, int32_t ci,
                                 int32_t input_offset, int32_t gv, int32_t k, int32_t *gw_oc)
{
    for (int32_t r = 0; r < win->rows; ++r) {
        const mct_run_t run = mct_run(wk, win, r);
        for (int32_t i = 0; i < win->len; ++i) {
            int32_t *wp = gw_oc + (run.tap + i) * k;
            const int32_t xv = (int32_t)x_c[(run.in + i) * ci] + input_offset;
            *wp = (int32_t)((uint32_t)*wp + (uint32_t)gv * (uint32_t)xv);
        }
    }
}

void mct_depthwise_grad_input_f32(const mct_geom_t *g, const mct_dims_t *gy_dims, const float *gy,
                                  const mct_dims_t *f_dims, const mct_filter_t *f, const float *scale,
                                  const mct_dims_t *x_dims, int accumulate, float *gx)
{
    const mct_walk_t wk = mct_geom_walk(g, gy_dims, f_dims, x_dims, 1);
    const int32_t ci = x_dims->c, co = gy_dims->c, dm = g->depth_multiplier;
    if (!accumulate) {
        mct_zero_f32((uint32_t)(x_dims->h * x_dims->w * ci), gx);
    }
    for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win)) {
        const float *gp = gy + win.pos * co;
        for (int32_t r = 0; r < win.rows; ++r) {
            const mct_run_t run = mct_run(&wk, &win, r);
            for (int32_t i = 0; i < win.len; ++i) {
                float *xp = gx + (run.in + i) * ci;
                for (int32_t oc = 0; oc < co; ++oc) {
                    xp[oc / dm] += gp[oc] * ((float)mct_filter_dw(f, run.tap + i, oc, co) * scale[oc]);
                }
            }
        }
    }
}

void mct_depthwise_grad_input_int(const mct_geom_t *g, const mct_dims_t *gy_dims, const int16_t *gy,
                                  const mct_dims_t *f_dims, const mct_filter_t *f, const int32_t *mult,
                                  const int32_t *shift, const mct_dims_t *x_dims, int32_t *acc)
{
    const mct_walk_t wk = mct_geom_walk(g, gy_dims, f_dims, x_dims, 1);
    const int32_t ci = x_dims->c, co = gy_dims->c, dm = g->depth_multiplier;
    mct_zero_i32((uint32_t)(x_dims->h * x_dims->w * ci), acc);
    for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win)) {
        const int16_t *gp = gy + win.pos * co;
        for (int32_t oc = 0; oc < co; ++oc) {
            if (gp[oc] != 0) {
                const int32_t g2 = mct_mul_shift(gp[oc], mult[oc], shift[oc]); /* g * s_w[oc] * 2^k */
                scatter_int(&wk, &win, column(f, oc, co), ci, g2, acc + oc / dm);
            }
        }
    }
}

void mct_depthwise_grad_weight_f32(const mct_geom_t *g, const mct_dims_t *gy_dims, const float *gy,
                                   const mct_dims_t *x_dims, const int8_t *x, int32_t input_offset,
                                   float x_scale, const mct_dims_t *f_dims, int32_t k, float *gw)
{
    const mct_walk_t wk = mct_geom_walk(g, gy_dims, f_dims, x_dims, 1);
    const int32_t ci = x_dims->c, co = gy_dims->c, dm = g->depth_multiplier;
    mct_zero_f32((uint32_t)(f_dims->h * f_dims->w * k), gw);
    for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win)) {
        const float *gp = gy + win.pos * co;
        for (int32_t r = 0; r < win.rows; ++r) {
            const mct_run_t run = mct_run(&wk, &win, r);
            for (int32_t i = 0; i < win.len; ++i) {
                const int8_t *xp = x + (run.in + i) * ci;
                float *wp = gw + (run.tap + i) * k;
                for (int32_t oc = 0; oc < k; ++oc) {
                    wp[oc] += gp[oc] * (x_scale * (float)((int32_t)xp[oc / dm] + input_offset));
                }
            }
        }
    }
}

void mct_depthwise_grad_weight_int(const mct_geom_t *g, const mct_dims_t *gy_dims, const int16_t *gy,
                                   const mct_dims_t *x_dims, const int8_t *x, int32_t input_offset,
                                   int32_t shift, const mct_dims_t *f_dims, int32_t k, int32_t *gw)
{
    const mct_walk_t wk = mct_geom_walk(g, gy_dims, f_dims, x_dims, 1);
    const int32_t ci = x_dims->c, co = gy_dims->c, dm = g->depth_multiplier;
    mct_zero_i32((uint32_t)(f_dims->h * f_dims->w * k), gw);
    for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win)) {
        const int16_t *gp = gy + win.pos * co;
        for (int32_t oc = 0; oc < k; ++oc) {
            const int32_t gv = (int32_t)mct_round_shift64(gp[oc], shift);
            if (gv != 0) {
                correlate_int(&wk, &win, x + oc / dm, ci, input_offset, gv, k, gw + oc);
            }
        }
    }
}
