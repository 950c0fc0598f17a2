/* conv2d_backward.c - CONV_2D (incl. 1x1) input and weight gradients, both numeric modes.
   Input gradient: a transposed convolution, computed by scattering each output-gradient element into the
   input positions its taps read (each g2 is formed once). Weight gradient: correlation of the output
   gradient with the saved int8 input, first k output channels only. Padded taps contribute nothing,
   so only the in-input span of each window is visited (window.h), as runs of whole taps: each element
   of gx / gw still receives its contributions in (position, channel) order, so the sums are unchanged.
   The walk is shared; each mode keeps only its element type and arithmetic (the run helpers below). */
#include "../train_math.h"
#include "train_ops.h"
#include "window.h"

/* gx[window] += w[oc] * scale * g: one output-gradient element's share of the transposed conv. */
static inline void scatter_f32(const mct_walk_t *wk, const mct_window_t *win, const int8_t *frow, float scale,
                               float g, float *gx)
{
    for (int32_t r = 0; r < win->rows; ++r) {
        const mct_run_t run = mct_run(wk, win, r);
        for (int32_t i = 0; i < win->len; ++i) {
            gx[run.in + i] += ((float)frow[run.tap + i] * scale) * g;
        }
    }
}

static inline void scatter_int(const mct_walk_t *wk, const mct_window_t *win, const int8_t *frow, int32_t g2,
                               int32_t *acc)
{
    for (int32_t r = 0; r < win->rows; ++r) {
        const mct_run_t run = mct_run(wk, win, r);
        for (int32_t i = 0; i < win->len; ++i) {
            /* unsigned product and sum: wrap like the golden's int32 cast (hostile scales can saturate g2), no UB */
            acc[run.in + i] = (int32_t)((uint32_t)acc[run.in + i] + (uint32_t)(int32_t)frow[run.tap + i] * (uint32_t)g2);
        }
    }
}

/* gw[oc] += g * x[window]: one output-gradient element's share of the weight gradient of its channel. */
static inline void correlate_f32(const mct_walk_t *wk, const mct_window_t *win, const int8_t *x,
                                 int32_t input_offset, float x_scale, float g, float *gw_oc)
{
    for (int32_t r = 0; r < win->rows; ++r) {
        const mct_run_t run = mct_run(wk, win, r);
        for (int32_t i = 0; i < win->len; ++i) {
            gw_oc[run.tap + i] += g * (x_scale * (float)((int32_t)x[run.in + i] + input_offset));
        }
    }
}

static inline void correlate_int(const mct_walk_t *wk, const mct_window_t *win, const int8_t *x,
                                 int32_t input_offset, int32_t gv, int32_t *gw_oc)
{
    for (int32_t r = 0; r < win->rows; ++r) {
        const mct_run_t run = mct_run(wk, win, r);
        for (int32_t i = 0; i < win->len; ++i) {
            const int32_t xv = (int32_t)x[run.in + i] + input_offset;
            gw_oc[run.tap + i] = (int32_t)((uint32_t)gw_oc[run.tap + i] + (uint32_t)gv * (uint32_t)xv);
        }
    }
}

void mct_conv2d_grad_input_f32(const mct_geom_t *g, const mct_dims_t *gy_dims, const float *gy,
                               const mct_dims_t *f_dims, const mct_filter_t *f, const float *scale,
                               const mct_dims_t *x_dims, int accumulate, float *gx)
{
    const mct_walk_t wk = mct_geom_walk(g, gy_dims, f_dims, x_dims, x_dims->c);
    const int32_t per = f_dims->h * f_dims->w * x_dims->c, co = gy_dims->c;
    if (!accumulate) {
        mct_zero_f32((uint32_t)(x_dims->h * x_dims->w * x_dims->c), gx);
    }
    for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win)) {
        const float *gp = gy + win.pos * co;
        for (int32_t oc = 0; oc < co; ++oc) {
            if (gp[oc] != 0.0f) { /* masked gradients are mostly zero */
                scatter_f32(&wk, &win, mct_filter_row(f, oc, per), scale[oc], gp[oc], gx);
            }
        }
    }
}

#ifndef MCT_USE_ARM_OPS /* ops/arm/conv2d_backward_arm.c provides it */
void mct_conv2d_grad_input_int(const mct_geom_t *g, const mct_dims_t *gy_dims, const int16_t *gy,
                               const mct_dims_t *f_dims, const mct_filter_t *f, const int32_t *mult,
                               const int32_t *shift, const mct_dims_t *x_dims, int32_t *acc)
{
    const mct_walk_t wk = mct_geom_walk(g, gy_dims, f_dims, x_dims, x_dims->c);
    const int32_t per = f_dims->h * f_dims->w * x_dims->c, co = gy_dims->c;
    mct_zero_i32((uint32_t)(x_dims->h * x_dims->w * x_dims->c), acc);
    for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win)) {
        const int16_t *gp = gy + win.pos * co;
        for (int32_t oc = 0; oc < co; ++oc) {
            if (gp[oc] != 0) {
                /* g * s_w[oc] * 2^k: the headroom rule bounds |g2| by 2^B so the sums fit in int32 */
                scatter_int(&wk, &win, mct_filter_row(f, oc, per), mct_mul_shift(gp[oc], mult[oc], shift[oc]), acc);
            }
        }
    }
}
#endif /* MCT_USE_ARM_OPS */

void mct_conv2d_grad_weight_f32(const mct_geom_t *g, const mct_dims_t *gy_dims, const float *gy,
                                const mct_dims_t *x_dims, const int8_t *x, int32_t input_offset, float x_scale,
                                const mct_dims_t *f_dims, int32_t k, float *gw)
{
    const mct_walk_t wk = mct_geom_walk(g, gy_dims, f_dims, x_dims, x_dims->c);
    const int32_t per = f_dims->h * f_dims->w * x_dims->c, co = gy_dims->c;
    mct_zero_f32((uint32_t)(k * per), gw);
    for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win)) {
        const float *gp = gy + win.pos * co;
        for (int32_t oc = 0; oc < k; ++oc) {
            if (gp[oc] != 0.0f) {
                correlate_f32(&wk, &win, x, input_offset, x_scale, gp[oc], gw + oc * per);
            }
        }
    }
}

void mct_conv2d_grad_weight_int(const mct_geom_t *g, const mct_dims_t *gy_dims, const int16_t *gy,
                                const mct_dims_t *x_dims, const int8_t *x, int32_t input_offset, int32_t shift,
                                const mct_dims_t *f_dims, int32_t k, int32_t *gw)
{
    const mct_walk_t wk = mct_geom_walk(g, gy_dims, f_dims, x_dims, x_dims->c);
    const int32_t per = f_dims->h * f_dims->w * x_dims->c, co = gy_dims->c;
    mct_zero_i32((uint32_t)(k * per), gw);
    for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win)) {
        const int16_t *gp = gy + win.pos * co;
        for (int32_t oc = 0; oc < k; ++oc) {
            /* drop `shift` bits so the sum over OH*OW positions stays inside int32 */
            const int32_t gv = (int32_t)mct_round_shift64(gp[oc], shift);
            if (gv != 0) {
                correlate_int(&wk, &win, x, input_offset, gv, gw + oc * per);
            }
        }
    }
}
