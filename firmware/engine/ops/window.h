/* window.h - the input rows (or columns) one output position reads through a strided, padded window:
   shared by conv, depthwise and pooling, forward and backward. Taps outside the input are padding:
   conv pads with the zero point (which contributes nothing once input_offset is added) and pooling
   clips, so every kernel visits only [lo, hi). Visiting them in increasing order is the order of the
   TFLite reference's skip-the-tap loops, which keeps the (float) sums bit-exact. */
#ifndef MCT_WINDOW_H
#define MCT_WINDOW_H

#include <stdint.h>

typedef struct {
    int32_t start; /* input coordinate of tap 0 (negative inside the leading padding) */
    int32_t lo;    /* input coordinates [lo, hi) lie inside the input; tap = coordinate - start */
    int32_t hi;    /* hi <= lo: the window misses the input */
} mct_span_t;

/* Span of output position o along one axis: k taps, stride, leading padding pad, input extent n. */
static inline mct_span_t mct_span(int32_t o, int32_t stride, int32_t pad, int32_t k, int32_t n)
{
    mct_span_t s;
    s.start = o * stride - pad;
    s.lo = (s.start < 0) ? 0 : s.start;
    s.hi = (s.start + k < n) ? s.start + k : n;
    return s;
}

#endif /* MCT_WINDOW_H */
