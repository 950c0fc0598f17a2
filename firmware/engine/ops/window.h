/* window.h - the input one output position reads through a strided, padded window: shared by conv, depthwise
   and pooling, forward and backward. Taps outside the input are padding: conv pads with the zero point (which
   contributes nothing once input_offset is added) and pooling clips, so every kernel visits only the in-input
   taps. Visiting them in increasing order is the order of the TFLite reference's skip-the-tap loops, which keeps
   the (float) sums bit-exact.

   A kernel walks its output positions with
       for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win))
   and visits a window's in-input taps as win.rows runs (mct_run) of win.len elements each. */
#ifndef MCT_WINDOW_H
#define MCT_WINDOW_H

#include <stdint.h>

#include "train_ops.h" /* mct_geom_t, and through ops.h mct_pool_params_t and mct_dims_t */

typedef struct {
    int32_t lo, hi; /* input coordinates [lo, hi) lie inside the input; hi <= lo: the window misses it */
} mct_span_t;

/* Span along one axis of a window of k taps starting at input coordinate start (negative inside the leading
   padding), input extent n. start + k is formed only when it is below n, so a window far beyond the input
   cannot overflow. */
static inline mct_span_t mct_span(int32_t start, int32_t k, int32_t n)
{
    mct_span_t s;
    s.lo = (start < 0) ? 0 : start;
    s.hi = (start < n - k) ? start + k : n;
    return s;
}

/* Geometry of a window op, and its output positions in row-major order (batch, y, x). Offsets count elements:
   `unit` per input pixel and `tap_unit` per filter tap. Conv has C of both: its NHWC input and [KH][KW][C]
   filter rows are both channel-minor, so the taps of one window row are one contiguous run of both. Depthwise
   has 1 and 1 (offsets are pixel y*W+x and tap ky*KW+kx), pooling 1 and 0 (no filter). */
typedef struct {
    int32_t stride_h, stride_w, pad_h, pad_w;
    int32_t k_h, k_w;   /* window size */
    int32_t in_h, in_w; /* input extent */
    int32_t out_h, out_w;
    int32_t unit, tap_unit;
    int32_t in_row, tap_row; /* offset steps from one window row to the next */
    int32_t positions;       /* batches * out_h * out_w */
} mct_walk_t;

static inline mct_walk_t mct_walk(int32_t stride_h, int32_t stride_w, int32_t pad_h, int32_t pad_w, int32_t k_h,
                                  int32_t k_w, const mct_dims_t *in, const mct_dims_t *out, int32_t batches,
                                  int32_t unit, int32_t tap_unit)
{
    const mct_walk_t wk = {.stride_h = stride_h, .stride_w = stride_w, .pad_h = pad_h, .pad_w = pad_w,
                           .k_h = k_h, .k_w = k_w, .in_h = in->h, .in_w = in->w, .out_h = out->h, .out_w = out->w,
                           .unit = unit, .tap_unit = tap_unit, .in_row = in->w * unit, .tap_row = k_w * tap_unit,
                           .positions = batches * out->h * out->w};
    return wk;
}

/* Backward conv (unit = C) / depthwise (unit = 1), batch 1: gy_dims is the output, x_dims the input. */
static inline mct_walk_t mct_geom_walk(const mct_geom_t *g, const mct_dims_t *gy_dims, const mct_dims_t *f_dims,
                                       const mct_dims_t *x_dims, int32_t unit)
{
    return mct_walk(g->stride_h, g->stride_w, g->pad_h, g->pad_w, f_dims->h, f_dims->w, x_dims, gy_dims, 1, unit,
                    unit);
}

/* Pooling, forward and backward: offsets are pixels (a kernel visits the channels of a pixel itself). */
static inline mct_walk_t mct_pool_walk(const mct_pool_params_t *p, const mct_dims_t *in, const mct_dims_t *out,
                                       int32_t batches)
{
    return mct_walk(p->stride_h, p->stride_w, p->pad_h, p->pad_w, p->filter_h, p->filter_w, in, out, batches, 1, 0);
}

/* One output position and the in-input part of its window: `rows` runs of `len` elements (mct_run). rows == 0 or
   len == 0: the window misses the input. Offsets are formed only for windows that hit it (else 0), so hostile
   geometry (a window far outside the input, which no kernel reads) cannot overflow them. */
typedef struct {
    int32_t pos;       /* output position ((b * out_h) + oy) * out_w + ox */
    int32_t rows, len;
    int32_t in, tap;   /* offsets of run 0 in the input and in the filter (of one output channel) */
    /* walk state: the y span is placed once per output row and x_start steps by stride_w (no division or
       multiply per position) */
    int32_t b, oy, row_end, x_start;
    int32_t row_in, row_tap; /* offsets of the window's first in-input row at x = 0 */
} mct_window_t;

/* The forward refuses such a window (TFLM does too): pooling has nothing to average or take the max of. */
static inline int mct_window_empty(const mct_window_t *win)
{
    return win->rows == 0 || win->len == 0;
}

static inline void mct_window_place_row(const mct_walk_t *wk, mct_window_t *win)
{
    const int32_t start = win->oy * wk->stride_h - wk->pad_h;
    const mct_span_t sy = mct_span(start, wk->k_h, wk->in_h);
    const int hit = sy.lo < sy.hi;
    win->rows = hit ? sy.hi - sy.lo : 0;
    win->row_in = hit ? (win->b * wk->in_h + sy.lo) * wk->in_row : 0;
    win->row_tap = hit ? (sy.lo - start) * wk->tap_row : 0;
    win->row_end = win->pos + wk->out_w;
    win->x_start = -wk->pad_w;
}

static inline void mct_window_place(const mct_walk_t *wk, mct_window_t *win)
{
    const mct_span_t sx = mct_span(win->x_start, wk->k_w, wk->in_w);
    const int hit = sx.lo < sx.hi;
    win->len = hit ? (sx.hi - sx.lo) * wk->unit : 0;
    win->in = hit ? win->row_in + sx.lo * wk->unit : 0;
    win->tap = hit ? win->row_tap + (sx.lo - win->x_start) * wk->tap_unit : 0;
}

static inline mct_window_t mct_window_first(const mct_walk_t *wk)
{
    mct_window_t win;
    win.pos = 0;
    win.b = 0;
    win.oy = 0;
    mct_window_place_row(wk, &win);
    mct_window_place(wk, &win);
    return win;
}

/* Past the last position it places nothing: no coordinate beyond those of the output is ever formed. */
static inline void mct_window_next(const mct_walk_t *wk, mct_window_t *win)
{
    if (++win->pos == win->row_end) {
        if (win->pos == wk->positions) {
            return;
        }
        if (++win->oy == wk->out_h) {
            win->oy = 0;
            ++win->b;
        }
        mct_window_place_row(wk, win);
    } else {
        win->x_start += wk->stride_w;
    }
    mct_window_place(wk, win);
}

/* Run r of a window: its first input and filter offsets. */
typedef struct {
    int32_t in, tap;
} mct_run_t;

static inline mct_run_t mct_run(const mct_walk_t *wk, const mct_window_t *win, int32_t r)
{
    mct_run_t run;
    run.in = win->in + r * wk->in_row;
    run.tap = win->tap + r * wk->tap_row;
    return run;
}

#endif /* MCT_WINDOW_H */
