/* arm/conv2d_s8.c - Cortex-M4/M7 int8 convolution, same name and results as ops/conv2d_s8.c;
   selected with -DMCT_USE_ARM_OPS. No scratch memory.

   1x1, stride 1, no padding (the pointwise layers that hold most MACs of a MobileNet) is a matrix
   product out[r][c] = sum_k (x[r][k] + off) * w[c][k] over rows r = pixels. It is tiled 2 output
   channels x 2 pixels: per 4 input channels that is 4 LDR + 8 SXTB16 + 8 SMLAD for 16 MACs. The
   input offset is not added per element: sum_k (x + off) * w = sum_k x * w + off * sum_k w, and
   off * sum_k w (plus the bias) is computed once per output channel, because the channel pair is
   the OUTER loop (all pixels then reuse it, and the requantization constants, from registers).
   Integer addition wraps, so the reordering gives exactly the reference's int32 accumulator.

   Other shapes (KxK, strides, padding): per output pixel, 2 output channels at a time, taps in
   the padded window skipped (a padded input equals the zero point, contributing 0), the offset
   added to 2 inputs at once with SADD16. */
#include "../../quant.h"
#include "../ops.h"
#include "arm_common.h"

#ifdef MCT_USE_ARM_OPS

typedef struct {
    int32_t out_off, lo, hi;
} clamp_t;

/* 2 output channels x 2 rows (pixels) of the 1x1 product. Register budget: 4 accumulators, 6
   extended lanes, 2 moving pointers, the row length and the end: 14, all a Cortex-M has. The
   second row and the second filter are addressed as [pointer + k_n] (rows of one tile are
   adjacent, as are the two filters) so they need no pointers of their own. */
static MCT_ALWAYS_INLINE void gemm_2x2(const int8_t *xa, const int8_t *w0, int32_t k_n, int32_t base0, int32_t base1,
                                       int32_t out[4])
{
    int32_t a00 = base0, a01 = base1, a10 = base0, a11 = base1;
    const int8_t *x = xa, *w = w0;
    const int8_t *const x_end = xa + (k_n & ~3);
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    /* GCC spills 3-5 registers per iteration of the C loop below (it hoists the loads); the same
       20 instructions written out keep everything in registers: 14 instead of ~27 per 16 MACs,
       the biggest single win of these kernels. Identical arithmetic to the C version (host-tested);
       on the board it is checked by the bench against the host engine, op by op. */
    if (x != x_end) {
        uint32_t t0, t1, t2, t3, t4, t5;
        __asm volatile(
            "1:\n\t"
            "ldr    %[t1], [%[w], %[k]]\n\t"     /* filter 1, 4 input channels */
            "ldr    %[t0], [%[w]], #4\n\t"       /* filter 0 */
            "sxtb16 %[t2], %[t0]\n\t"            /* f0 lanes (0,2) */
            "sxtb16 %[t0], %[t0], ror #8\n\t"    /* f0 lanes (1,3) */
            "sxtb16 %[t3], %[t1]\n\t"
            "sxtb16 %[t1], %[t1], ror #8\n\t"
            "ldr    %[t4], [%[x], %[k]]\n\t"     /* pixel b */
            "sxtb16 %[t5], %[t4]\n\t"
            "sxtb16 %[t4], %[t4], ror #8\n\t"
            "smlad  %[a10], %[t5], %[t2], %[a10]\n\t"
            "smlad  %[a10], %[t4], %[t0], %[a10]\n\t"
            "smlad  %[a11], %[t5], %[t3], %[a11]\n\t"
            "smlad  %[a11], %[t4], %[t1], %[a11]\n\t"
            "ldr    %[t4], [%[x]], #4\n\t"       /* pixel a */
            "sxtb16 %[t5], %[t4]\n\t"
            "sxtb16 %[t4], %[t4], ror #8\n\t"
            "smlad  %[a00], %[t5], %[t2], %[a00]\n\t"
            "smlad  %[a00], %[t4], %[t0], %[a00]\n\t"
            "smlad  %[a01], %[t5], %[t3], %[a01]\n\t"
            "smlad  %[a01], %[t4], %[t1], %[a01]\n\t"
            "cmp    %[x], %[end]\n\t"
            "bne    1b\n\t"
            : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [x] "+r"(x), [w] "+r"(w),
              [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [t5] "=&r"(t5)
            : [k] "r"(k_n), [end] "r"(x_end)
            : "cc");
    }
#else
    while (x != x_end) {
        const uint32_t wv0 = mct_load4(w), wv1 = mct_load4(w + k_n);
        const uint32_t w0l = mct_sxtb16(wv0), w0h = mct_sxtb16_ror8(wv0);
        const uint32_t w1l = mct_sxtb16(wv1), w1h = mct_sxtb16_ror8(wv1);
        const uint32_t xva = mct_load4(x), xvb = mct_load4(x + k_n);
        const uint32_t xl = mct_sxtb16(xva), xh = mct_sxtb16_ror8(xva);
        const uint32_t yl = mct_sxtb16(xvb), yh = mct_sxtb16_ror8(xvb);
        a00 = mct_smlad(xh, w0h, mct_smlad(xl, w0l, a00));
        a01 = mct_smlad(xh, w1h, mct_smlad(xl, w1l, a01));
        a10 = mct_smlad(yh, w0h, mct_smlad(yl, w0l, a10));
        a11 = mct_smlad(yh, w1h, mct_smlad(yl, w1l, a11));
        x += 4;
        w += 4;
    }
#endif
    for (int32_t k = k_n & ~3; k < k_n; ++k) {
        const int32_t x0 = xa[k], x1 = xa[k + k_n], f0 = w0[k], f1 = w0[k + k_n];
        a00 = mct_wrap_add(a00, x0 * f0); /* the base holds the bias: wrap like SMLAD, no UB */
        a01 = mct_wrap_add(a01, x0 * f1);
        a10 = mct_wrap_add(a10, x1 * f0);
        a11 = mct_wrap_add(a11, x1 * f1);
    }
    out[0] = a00;
    out[1] = a01;
    out[2] = a10;
    out[3] = a11;
}

/* one row x one channel (odd leftovers) */
static int32_t dot_1x1(const int8_t *x, const int8_t *w, int32_t k_n, int32_t base)
{
    int32_t acc = base;
    int32_t k = 0;
    for (; k + 4 <= k_n; k += 4) {
        const uint32_t xv = mct_load4(x + k), wv = mct_load4(w + k);
        acc = mct_smlad(mct_sxtb16(xv), mct_sxtb16(wv), acc);
        acc = mct_smlad(mct_sxtb16_ror8(xv), mct_sxtb16_ror8(wv), acc);
    }
    for (; k < k_n; ++k) {
        acc = mct_wrap_add(acc, (int32_t)x[k] * (int32_t)w[k]);
    }
    return acc;
}

static MCT_ALWAYS_INLINE void pointwise_pair(const int8_t *in, const int8_t *w0, int32_t rows, int32_t k_n,
                                             int32_t c_n, int32_t base0, int32_t base1, const mct_rq_t *r0,
                                             const mct_rq_t *r1, const clamp_t *cl, int mode, int8_t *out)
{
    int32_t r = 0;
    for (; r + 2 <= rows; r += 2) {
        int32_t acc[4];
        gemm_2x2(in + r * k_n, w0, k_n, base0, base1, acc);
        int8_t *o = out + r * c_n;
        o[0] = mct_rq_out(acc[0], r0, mode, cl->out_off, cl->lo, cl->hi);
        o[1] = mct_rq_out(acc[1], r1, mode, cl->out_off, cl->lo, cl->hi);
        o[c_n] = mct_rq_out(acc[2], r0, mode, cl->out_off, cl->lo, cl->hi);
        o[c_n + 1] = mct_rq_out(acc[3], r1, mode, cl->out_off, cl->lo, cl->hi);
    }
    if (r < rows) {
        const int8_t *x = in + r * k_n;
        out[r * c_n] = mct_rq_out(dot_1x1(x, w0, k_n, base0), r0, mode, cl->out_off, cl->lo, cl->hi);
        out[r * c_n + 1] = mct_rq_out(dot_1x1(x, w0 + k_n, k_n, base1), r1, mode, cl->out_off, cl->lo, cl->hi);
    }
}

static void pointwise(const mct_conv_params_t *p, const mct_channel_quant_t *q, int32_t rows, int32_t k_n,
                      const int8_t *in, const int8_t *filter, const int32_t *bias, int32_t c_n, int8_t *out)
{
    const clamp_t cl = {p->output_offset, p->act_min, p->act_max};
    int32_t c = 0;
    for (; c + 2 <= c_n; c += 2) {
        const int8_t *w0 = filter + c * k_n;
        const mct_rq_t r0 = mct_rq_make(q->multiplier[c], q->shift[c]);
        const mct_rq_t r1 = mct_rq_make(q->multiplier[c + 1], q->shift[c + 1]);
        /* bias + off * sum(w): wrapping like the reference's int32 arithmetic */
        const int32_t b0 = (bias != 0) ? bias[c] : 0, b1 = (bias != 0) ? bias[c + 1] : 0;
        const int32_t base0 = mct_wrap_add(b0, p->input_offset * mct_sum_s8(w0, k_n));
        const int32_t base1 = mct_wrap_add(b1, p->input_offset * mct_sum_s8(w0 + k_n, k_n));
        switch (mct_rq_mode(mct_rq_is_right(&r0) && mct_rq_is_right(&r1), cl.lo, cl.hi)) {
        case MCT_RQ_RIGHT_SAT8:
            pointwise_pair(in, w0, rows, k_n, c_n, base0, base1, &r0, &r1, &cl, MCT_RQ_RIGHT_SAT8, out + c);
            break;
        case MCT_RQ_RIGHT:
            pointwise_pair(in, w0, rows, k_n, c_n, base0, base1, &r0, &r1, &cl, MCT_RQ_RIGHT, out + c);
            break;
        default:
            pointwise_pair(in, w0, rows, k_n, c_n, base0, base1, &r0, &r1, &cl, MCT_RQ_GENERAL, out + c);
            break;
        }
    }
    if (c < c_n) {
        const int8_t *w0 = filter + c * k_n;
        const mct_rq_t r0 = mct_rq_make(q->multiplier[c], q->shift[c]);
        const int32_t base0 = mct_wrap_add((bias != 0) ? bias[c] : 0, p->input_offset * mct_sum_s8(w0, k_n));
        for (int32_t r = 0; r < rows; ++r) {
            out[r * c_n + c] = mct_rq_out(dot_1x1(in + r * k_n, w0, k_n, base0), &r0, MCT_RQ_GENERAL, cl.out_off, cl.lo, cl.hi);
        }
    }
}

/* (x + off) . w over n elements, 2 filters at once; off is added to two inputs per SADD16. */
static void dot_off_2(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t off, int32_t *a0,
                      int32_t *a1)
{
    const uint32_t off2 = mct_dup16(off);
    int32_t s0 = *a0, s1 = *a1;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t xv = mct_load4(x + i);
        const uint32_t xl = mct_sadd16(mct_sxtb16(xv), off2), xh = mct_sadd16(mct_sxtb16_ror8(xv), off2);
        const uint32_t wv0 = mct_load4(w0 + i), wv1 = mct_load4(w1 + i);
        s0 = mct_smlad(xl, mct_sxtb16(wv0), s0);
        s0 = mct_smlad(xh, mct_sxtb16_ror8(wv0), s0);
        s1 = mct_smlad(xl, mct_sxtb16(wv1), s1);
        s1 = mct_smlad(xh, mct_sxtb16_ror8(wv1), s1);
    }
    for (; i < n; ++i) {
        const int32_t xv = (int32_t)x[i] + off;
        s0 += xv * (int32_t)w0[i];
        s1 += xv * (int32_t)w1[i];
    }
    *a0 = s0;
    *a1 = s1;
}

static void general(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                    const int8_t *in, const mct_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                    const mct_dims_t *out_dims, int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c;
    const int32_t f_stride = k_h * k_w * in_c; /* bytes per output channel's filter */
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            /* the valid tap rows, so the inner loops need no bounds checks */
            const int32_t ky0 = (in_y0 < 0) ? -in_y0 : 0;
            const int32_t ky1 = (in_y0 + k_h > in_h) ? in_h - in_y0 : k_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                const int32_t kx0 = (in_x0 < 0) ? -in_x0 : 0;
                const int32_t kx1 = (in_x0 + k_w > in_w) ? in_w - in_x0 : k_w;
                const int32_t run = (kx1 - kx0) * in_c; /* a tap row is contiguous in input and filter */
                int8_t *op = out + (((b * out_h) + oy) * out_w + ox) * out_c;
                for (int32_t oc = 0; oc < out_c; oc += 2) {
                    const int32_t oc1 = (oc + 1 < out_c) ? oc + 1 : oc; /* odd count: compute the last twice */
                    int32_t a0 = 0, a1 = 0;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *ip = in + (((b * in_h) + in_y0 + ky) * in_w + in_x0 + kx0) * in_c;
                        const int32_t f_off = (ky * k_w + kx0) * in_c;
                        dot_off_2(ip, filter + oc * f_stride + f_off, filter + oc1 * f_stride + f_off, run,
                                  p->input_offset, &a0, &a1);
                    }
                    if (bias != 0) {
                        a0 = mct_wrap_add(a0, bias[oc]);
                        a1 = mct_wrap_add(a1, bias[oc1]);
                    }
                    const mct_rq_t r0 = mct_rq_make(q->multiplier[oc], q->shift[oc]);
                    op[oc] = mct_rq_out(a0, &r0, MCT_RQ_GENERAL, p->output_offset, p->act_min, p->act_max);
                    if (oc1 != oc) {
                        const mct_rq_t r1 = mct_rq_make(q->multiplier[oc1], q->shift[oc1]);
                        op[oc1] = mct_rq_out(a1, &r1, MCT_RQ_GENERAL, p->output_offset, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

void mct_conv2d_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                   const int8_t *in, const mct_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                   const mct_dims_t *out_dims, int8_t *out)
{
    if (filter_dims->h == 1 && filter_dims->w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 &&
        p->pad_w == 0 && out_dims->h == in_dims->h && out_dims->w == in_dims->w) {
        pointwise(p, q, out_dims->n * out_dims->h * out_dims->w, in_dims->c, in, filter, bias, out_dims->c, out);
        return;
    }
    general(p, q, in_dims, in, filter_dims, filter, bias, out_dims, out);
}

#endif /* MCT_USE_ARM_OPS */
