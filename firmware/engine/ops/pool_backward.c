/* pool_backward.c - AVERAGE_POOL_2D and MAX_POOL_2D backward over the clipped windows of the forward
   (TFLM's filter start/end). Average: each window spreads g/n over its n inputs (int: g * round(2^r / n),
   exponent e - r). Max: the gradient goes to the window's first maximum (row-major), found again from the
   saved input. Overlapping windows sum. */
#include "train_ops.h"
#include "window.h"

/* The forward's clipped window around output (oy, ox): input rows y.lo..y.hi-1, columns x.lo..x.hi-1. */
typedef struct {
    mct_span_t y, x;
} window_t;

static window_t clip_window(const mct_pool_params_t *p, const mct_dims_t *x_dims, int32_t oy, int32_t ox)
{
    window_t w;
    w.y = mct_span(oy, p->stride_h, p->pad_h, p->filter_h, x_dims->h);
    w.x = mct_span(ox, p->stride_w, p->pad_w, p->filter_w, x_dims->w);
    return w;
}

int mct_avg_pool_grad_f32(const mct_pool_params_t *p, const mct_dims_t *gy_dims, const float *gy,
                          const mct_dims_t *x_dims, int accumulate, float *gx)
{
    const int32_t c_n = x_dims->c;
    if (!accumulate) {
        mct_zero_f32((uint32_t)(x_dims->h * x_dims->w * c_n), gx);
    }
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const window_t w = clip_window(p, x_dims, oy, ox);
            const int32_t n = (w.y.hi - w.y.lo) * (w.x.hi - w.x.lo);
            if (w.y.hi <= w.y.lo || w.x.hi <= w.x.lo) {
                return -1;
            }
            for (int32_t y = w.y.lo; y < w.y.hi; ++y) {
                for (int32_t x = w.x.lo; x < w.x.hi; ++x) {
                    for (int32_t c = 0; c < c_n; ++c) {
                        gx[(y * x_dims->w + x) * c_n + c] += gy[(oy * gy_dims->w + ox) * c_n + c] / (float)n;
                    }
                }
            }
        }
    }
    return 0;
}

int mct_avg_pool_grad_int(const mct_pool_params_t *p, int32_t r, const mct_dims_t *gy_dims, const int16_t *gy,
                          const mct_dims_t *x_dims, int32_t *acc)
{
    const int32_t c_n = x_dims->c;
    mct_zero_i32((uint32_t)(x_dims->h * x_dims->w * c_n), acc);
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const window_t w = clip_window(p, x_dims, oy, ox);
            const int32_t n = (w.y.hi - w.y.lo) * (w.x.hi - w.x.lo);
            if (w.y.hi <= w.y.lo || w.x.hi <= w.x.lo) {
                return -1;
            }
            const int32_t inv_n = ((1 << r) + n / 2) / n; /* 1/n in Q(r) */
            for (int32_t y = w.y.lo; y < w.y.hi; ++y) {
                for (int32_t x = w.x.lo; x < w.x.hi; ++x) {
                    for (int32_t c = 0; c < c_n; ++c) {
                        int32_t *a = acc + (y * x_dims->w + x) * c_n + c;
                        *a = (int32_t)((uint32_t)*a + (uint32_t)(gy[(oy * gy_dims->w + ox) * c_n + c] * inv_n));
                    }
                }
            }
        }
    }
    return 0;
}

/* Index (y * W + x) of the first maximum of channel c in the window. */
static int32_t argmax(const window_t *w, const mct_dims_t *x_dims, const int8_t *x, int32_t c)
{
    int32_t best = w->y.lo * x_dims->w + w->x.lo;
    int32_t best_v = x[best * x_dims->c + c];
    for (int32_t y = w->y.lo; y < w->y.hi; ++y) {
        for (int32_t xx = w->x.lo; xx < w->x.hi; ++xx) {
            const int32_t i = y * x_dims->w + xx;
            if (x[i * x_dims->c + c] > best_v) {
                best_v = x[i * x_dims->c + c];
                best = i;
            }
        }
    }
    return best;
}

int mct_max_pool_grad_f32(const mct_pool_params_t *p, const mct_dims_t *gy_dims, const float *gy,
                          const mct_dims_t *x_dims, const int8_t *x, int accumulate, float *gx)
{
    const int32_t c_n = x_dims->c;
    if (!accumulate) {
        mct_zero_f32((uint32_t)(x_dims->h * x_dims->w * c_n), gx);
    }
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const window_t w = clip_window(p, x_dims, oy, ox);
            if (w.y.hi <= w.y.lo || w.x.hi <= w.x.lo) {
                return -1;
            }
            for (int32_t c = 0; c < c_n; ++c) {
                gx[argmax(&w, x_dims, x, c) * c_n + c] += gy[(oy * gy_dims->w + ox) * c_n + c];
            }
        }
    }
    return 0;
}

int mct_max_pool_grad_int(const mct_pool_params_t *p, const mct_dims_t *gy_dims, const int16_t *gy,
                          const mct_dims_t *x_dims, const int8_t *x, int32_t *acc)
{
    const int32_t c_n = x_dims->c;
    mct_zero_i32((uint32_t)(x_dims->h * x_dims->w * c_n), acc);
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const window_t w = clip_window(p, x_dims, oy, ox);
            if (w.y.hi <= w.y.lo || w.x.hi <= w.x.lo) {
                return -1;
            }
            for (int32_t c = 0; c < c_n; ++c) {
                int32_t *a = acc + argmax(&w, x_dims, x, c) * c_n + c;
                *a = (int32_t)((uint32_t)*a + (uint32_t)(int32_t)gy[(oy * gy_dims->w + ox) * c_n + c]);
            }
        }
    }
    return 0;
}
