/* pool_backward.c - AVERAGE_POOL_2D and MAX_POOL_2D backward over the clipped windows of the forward
   (TFLM's filter start/end, window.h; offsets are pixels). Average: each window spreads g/n over its n inputs
   (int: g * round(2^r / n), exponent e - r). Max: the gradient goes to the window's first maximum (row-major),
   found again from the saved input. Overlapping windows sum. Average and max share one walk per numeric mode
   (x == NULL: average); each mode keeps only its element type and arithmetic. */
#include "train_ops.h"
#include "window.h"

/* Pixel (y * W + x) of the first maximum of channel c in the window. */
static int32_t argmax(const mct_walk_t *wk, const mct_window_t *win, const int8_t *x, int32_t c_n, int32_t c)
{
    int32_t best = win->in;
    int32_t best_v = x[best * c_n + c];
    for (int32_t r = 0; r < win->rows; ++r) {
        const mct_run_t run = mct_run(wk, win, r);
        for (int32_t i = run.in; i < run.in + win->len; ++i) {
            if (x[i * c_n + c] > best_v) {
                best_v = x[i * c_n + c];
                best = i;
            }
        }
    }
    return best;
}

/* gx[window pixels] += gp / n, every channel. */
static void spread_f32(const mct_walk_t *wk, const mct_window_t *win, int32_t c_n, const float *gp, float *gx)
{
    const float n = (float)(win->rows * win->len);
    for (int32_t r = 0; r < win->rows; ++r) {
        const mct_run_t run = mct_run(wk, win, r);
        for (int32_t i = run.in; i < run.in + win->len; ++i) {
            float *xp = gx + i * c_n;
            for (int32_t c = 0; c < c_n; ++c) {
                xp[c] += gp[c] / n;
            }
        }
    }
}

/* acc[window pixels] += gp * round(2^r / n), every channel. */
static void spread_int(const mct_walk_t *wk, const mct_window_t *win, int32_t c_n, int32_t r, const int16_t *gp,
                       int32_t *acc)
{
    const int32_t n = win->rows * win->len;
    const int32_t inv_n = ((1 << r) + n / 2) / n; /* 1/n in Q(r) */
    for (int32_t row = 0; row < win->rows; ++row) {
        const mct_run_t run = mct_run(wk, win, row);
        for (int32_t i = run.in; i < run.in + win->len; ++i) {
            int32_t *ap = acc + i * c_n;
            for (int32_t c = 0; c < c_n; ++c) {
                ap[c] = (int32_t)((uint32_t)ap[c] + (uint32_t)(gp[c] * inv_n));
            }
        }
    }
}

static int pool_grad_f32(const mct_pool_params_t *p, const mct_dims_t *gy_dims, const float *gy,
                         const mct_dims_t *x_dims, const int8_t *x, int accumulate, float *gx)
{
    const mct_walk_t wk = mct_pool_walk(p, x_dims, gy_dims, 1);
    const int32_t c_n = x_dims->c;
    if (!accumulate) {
        mct_zero_f32((uint32_t)(x_dims->h * x_dims->w * c_n), gx);
    }
    for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win)) {
        if (mct_window_empty(&win)) {
            return -1;
        }
        const float *gp = gy + win.pos * c_n;
        if (x == 0) {
            spread_f32(&wk, &win, c_n, gp, gx);
            continue;
        }
        for (int32_t c = 0; c < c_n; ++c) {
            gx[argmax(&wk, &win, x, c_n, c) * c_n + c] += gp[c];
        }
    }
    return 0;
}

static int pool_grad_int(const mct_pool_params_t *p, int32_t r, const mct_dims_t *gy_dims, const int16_t *gy,
                         const mct_dims_t *x_dims, const int8_t *x, int32_t *acc)
{
    const mct_walk_t wk = mct_pool_walk(p, x_dims, gy_dims, 1);
    const int32_t c_n = x_dims->c;
    mct_zero_i32((uint32_t)(x_dims->h * x_dims->w * c_n), acc);
    for (mct_window_t win = mct_window_first(&wk); win.pos < wk.positions; mct_window_next(&wk, &win)) {
        if (mct_window_empty(&win)) {
            return -1;
        }
        const int16_t *gp = gy + win.pos * c_n;
        if (x == 0) {
            spread_int(&wk, &win, c_n, r, gp, acc);
            continue;
        }
        for (int32_t c = 0; c < c_n; ++c) {
            int32_t *a = acc + argmax(&wk, &win, x, c_n, c) * c_n + c;
            *a = (int32_t)((uint32_t)*a + (uint32_t)(int32_t)gp[c]);
        }
    }
    return 0;
}

int mct_avg_pool_grad_f32(const mct_pool_params_t *p, const mct_dims_t *gy_dims, const float *gy,
                          const mct_dims_t *x_dims, int accumulate, float *gx)
{
    return pool_grad_f32(p, gy_dims, gy, x_dims, 0, accumulate, gx);
}

int mct_avg_pool_grad_int(const mct_pool_params_t *p, int32_t r, const mct_dims_t *gy_dims, const int16_t *gy,
                          const mct_dims_t *x_dims, int32_t *acc)
{
    return pool_grad_int(p, r, gy_dims, gy, x_dims, 0, acc);
}

int mct_max_pool_grad_f32(const mct_pool_params_t *p, const mct_dims_t *gy_dims, const float *gy,
                          const mct_dims_t *x_dims, const int8_t *x, int accumulate, float *gx)
{
    return pool_grad_f32(p, gy_dims, gy, x_dims, x, accumulate, gx);
}

int mct_max_pool_grad_int(const mct_pool_params_t *p, const mct_dims_t *gy_dims, const int16_t *gy,
                          const mct_dims_t *x_dims, const int8_t *x, int32_t *acc)
{
    return pool_grad_int(p, 0, gy_dims, gy, x_dims, x, acc);
}
