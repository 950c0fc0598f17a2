/* pool_backward.c - AVERAGE_POOL_2D and MAX_POOL_2D backward over the clipped windows of the forward
   (TFLM's filter start/end). Average: each window spreads g/n over its n inputs (int: g * round(2^r / n),
   exponent e - r). Max: the gradient goes to the window's first maximum (row-major), found again from the
   saved input. Overlapping windows sum. */
#include "train_ops.h"

typedef struct {
    int32_t y0, y1, x0, x1; /* clipped window, input coordinates [y0, y1) x [x0, x1) */
} window_t;

static window_t clip_window(const mct_pool_params_t *p, const mct_dims_t *x_dims, int32_t oy, int32_t ox)
{
    window_t w;
    const int32_t iy = oy * p->stride_h - p->pad_h, ix = ox * p->stride_w - p->pad_w;
    w.y0 = (iy < 0) ? 0 : iy;
    w.x0 = (ix < 0) ? 0 : ix;
    w.y1 = (iy + p->filter_h < x_dims->h) ? iy + p->filter_h : x_dims->h;
    w.x1 = (ix + p->filter_w < x_dims->w) ? ix + p->filter_w : x_dims->w;
    return w;
}

static void zero_f32(uint32_t n, float *v)
{
    for (uint32_t i = 0; i < n; ++i) {
        v[i] = 0.0f;
    }
}

static void zero_i32(uint32_t n, int32_t *v)
{
    for (uint32_t i = 0; i < n; ++i) {
        v[i] = 0;
    }
}

int mct_avg_pool_grad_f32(const mct_pool_params_t *p, const mct_dims_t *gy_dims, const float *gy,
                          const mct_dims_t *x_dims, int accumulate, float *gx)
{
    const int32_t c_n = x_dims->c;
    if (!accumulate) {
        zero_f32((uint32_t)(x_dims->h * x_dims->w * c_n), gx);
    }
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const window_t w = clip_window(p, x_dims, oy, ox);
            const int32_t n = (w.y1 - w.y0) * (w.x1 - w.x0);
            if (w.y1 <= w.y0 || w.x1 <= w.x0) {
                return -1;
            }
            for (int32_t y = w.y0; y < w.y1; ++y) {
                for (int32_t x = w.x0; x < w.x1; ++x) {
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
    zero_i32((uint32_t)(x_dims->h * x_dims->w * c_n), acc);
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const window_t w = clip_window(p, x_dims, oy, ox);
            const int32_t n = (w.y1 - w.y0) * (w.x1 - w.x0);
            if (w.y1 <= w.y0 || w.x1 <= w.x0) {
                return -1;
            }
            const int32_t inv_n = ((1 << r) + n / 2) / n; /* 1/n in Q(r) */
            for (int32_t y = w.y0; y < w.y1; ++y) {
                for (int32_t x = w.x0; x < w.x1; ++x) {
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
    int32_t best = w->y0 * x_dims->w + w->x0;
    int32_t best_v = x[best * x_dims->c + c];
    for (int32_t y = w->y0; y < w->y1; ++y) {
        for (int32_t xx = w->x0; xx < w->x1; ++xx) {
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
        zero_f32((uint32_t)(x_dims->h * x_dims->w * c_n), gx);
    }
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const window_t w = clip_window(p, x_dims, oy, ox);
            if (w.y1 <= w.y0 || w.x1 <= w.x0) {
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
    zero_i32((uint32_t)(x_dims->h * x_dims->w * c_n), acc);
    for (int32_t oy = 0; oy < gy_dims->h; ++oy) {
        for (int32_t ox = 0; ox < gy_dims->w; ++ox) {
            const window_t w = clip_window(p, x_dims, oy, ox);
            if (w.y1 <= w.y0 || w.x1 <= w.x0) {
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
