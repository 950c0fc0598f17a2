/* pool_s8.c - int8 average and max pooling (TFLite reference AveragePool / MaxPool). Windows are
   clipped to the input (window.h; offsets are pixels), so SAME padding averages only the real elements.
   Both pools share the walk; they differ only in how one channel of a window reduces to a value. */
#include "../quant.h"
#include "ops.h"
#include "window.h"

/* Mean of channel c over the window, rounded half away from zero (C division truncates toward zero). */
static int32_t window_avg(const mct_walk_t *wk, const mct_window_t *win, const int8_t *in, int32_t c_n, int32_t c)
{
    const int32_t count = win->rows * win->len;
    int32_t acc = 0;
    for (int32_t r = 0; r < win->rows; ++r) {
        const mct_run_t run = mct_run(wk, win, r);
        for (int32_t i = run.in; i < run.in + win->len; ++i) {
            acc += in[i * c_n + c];
        }
    }
    return (acc > 0) ? (acc + count / 2) / count : (acc - count / 2) / count;
}

static int32_t window_max(const mct_walk_t *wk, const mct_window_t *win, const int8_t *in, int32_t c_n, int32_t c)
{
    int32_t m = -128;
    for (int32_t r = 0; r < win->rows; ++r) {
        const mct_run_t run = mct_run(wk, win, r);
        for (int32_t i = run.in; i < run.in + win->len; ++i) {
            const int32_t v = in[i * c_n + c];
            m = (v > m) ? v : m;
        }
    }
    return m;
}

static int pool_s8(const mct_pool_params_t *p, const mct_dims_t *in_dims, const int8_t *in,
                   const mct_dims_t *out_dims, int8_t *out, int is_max)
{
    const mct_walk_t wk = mct_pool_walk(p, in_dims, out_dims, out_dims->n);
    const int32_t c_n = in_dims->c, lo = p->act_min, hi = p->act_max; /* out (int8) may alias p: load once */
    for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win)) {
        if (mct_window_empty(&win)) {
            return -1;
        }
        int8_t *o = out + win.pos * c_n;
        if (is_max) { /* tested per window, not per channel */
            for (int32_t c = 0; c < c_n; ++c) {
                o[c] = (int8_t)mct_clamp(window_max(&wk, &win, in, c_n, c), lo, hi);
            }
        } else {
            for (int32_t c = 0; c < c_n; ++c) {
                o[c] = (int8_t)mct_clamp(window_avg(&wk, &win, in, c_n, c), lo, hi);
            }
        }
    }
    return 0;
}

int mct_avg_pool_s8(const mct_pool_params_t *p, const mct_dims_t *in_dims, const int8_t *in,
                    const mct_dims_t *out_dims, int8_t *out)
{
    return pool_s8(p, in_dims, in, out_dims, out, 0);
}

int mct_max_pool_s8(const mct_pool_params_t *p, const mct_dims_t *in_dims, const int8_t *in,
                    const mct_dims_t *out_dims, int8_t *out)
{
    return pool_s8(p, in_dims, in, out_dims, out, 1);
}
