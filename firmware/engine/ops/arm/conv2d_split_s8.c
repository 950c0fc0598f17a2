/* arm/conv2d_split_s8.c - Cortex-M4/M7 split-weight forward conv / depthwise / FC, same names and results
   as ops/conv2d_split_s8.c; selected with -DMCT_USE_ARM_OPS. No scratch memory.

   A layer under sparse update keeps the weights of its first k output channels in RAM (the copy the update
   writes) and the rest in flash (mct_filter_t). That is two ordinary layers over the output-channel ranges
   [0, k) and [k, C) that share the input and interleave their outputs, so each kernel here runs on one
   channel range with that range's filter base and the inner loops of ops/arm/ (docs/kernels.md):
   - 1x1 stride-1 conv: 2 channels x 2 pixels tiles of SMLAD (the same loop as arm/conv2d_s8.c), the input
     offset folded into the bias as off * sum(w), channel pair outer. sum(w) is recomputed on every call:
     the update changes the RAM channels between steps.
   - depthwise, depth multiplier 1: 4 channels per group, the group's weights sign-extended into lane pairs
     once, pixels inner; per tap 1 LDR + 2 SXTB16 + 2 LDR (weights) + 4 SMLAxy, the offset folded into the
     bias for windows inside the input and added by 2 SADD16 per tap for windows clipped by padding (only
     their in-input taps are visited: a padded tap is the zero point, (zp + off) * w = 0, as in the
     reference).
   - other conv shapes and FC: 2 channels per input pass with the offset added by SADD16; the two rows come
     from mct_filter_row, so a pair may straddle the split.
   Leftover channels of a range and other depth multipliers take plain loops with hoisted constants. */
#include "../../quant.h"
#include "../train_ops.h"
#include "arm_common.h"

#ifdef MCT_USE_ARM_OPS

typedef struct {
    int32_t out_off, lo, hi;
} clamp_t;

/* 2 output channels x 2 rows (pixels) of the 1x1 product: the loop of arm/conv2d_s8.c gemm_2x2 (why it is
   inline asm on the board, and the register budget, are explained there). */
static MCT_ALWAYS_INLINE void gemm_2x2(const int8_t *xa, const int8_t *w0, int32_t k_n, int32_t base0, int32_t base1,
                                       int32_t out[4])
{
    int32_t a00 = base0, a01 = base1, a10 = base0, a11 = base1;
    const int8_t *x = xa, *w = w0;
    const int8_t *const x_end = xa + (k_n & ~3);
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (x != x_end) {
        uint32_t t0, t1, t2, t3, t4, t5;
        __asm volatile(
            "1:\n\t"
            "ldr    %[t1], [%[w], %[k]]\n\t"
            "ldr    %[t0], [%[w]], #4\n\t"
            "sxtb16 %[t2], %[t0]\n\t"
            "sxtb16 %[t0], %[t0], ror #8\n\t"
            "sxtb16 %[t3], %[t1]\n\t"
            "sxtb16 %[t1], %[t1], ror #8\n\t"
            "ldr    %[t4], [%[x], %[k]]\n\t"
            "sxtb16 %[t5], %[t4]\n\t"
            "sxtb16 %[t4], %[t4], ror #8\n\t"
            "smlad  %[a10], %[t5], %[t2], %[a10]\n\t"
            "smlad  %[a10], %[t4], %[t0], %[a10]\n\t"
            "smlad  %[a11], %[t5], %[t3], %[a11]\n\t"
            "smlad  %[a11], %[t4], %[t1], %[a11]\n\t"
            "ldr    %[t4], [%[x]], #4\n\t"
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

/* one row x one channel */
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

/* bias + off * sum(w): the reference's int32 accumulator of the offset terms, wrapping the same way */
static int32_t folded_base(const int32_t *bias, int32_t c, int32_t off, const int8_t *w, int32_t n)
{
    return mct_wrap_add((bias != 0) ? bias[c] : 0, off * mct_sum_s8(w, n));
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

/* Output channels [c0, c1) of a 1x1 stride-1 conv over `rows` pixels; channel c's filter row is w + c * k_n
   (w: the RAM copy for [0, k), the flash filter for [k, C)). */
static void pointwise_range(const mct_conv_params_t *p, const mct_channel_quant_t *q, int32_t rows, int32_t k_n,
                            const int8_t *in, const int8_t *w, const int32_t *bias, int32_t c_n, int32_t c0,
                            int32_t c1, int8_t *out)
{
    const clamp_t cl = {p->output_offset, p->act_min, p->act_max};
    int32_t c = c0;
    for (; c + 2 <= c1; c += 2) {
        const int8_t *w0 = w + c * k_n;
        const mct_rq_t r0 = mct_rq_make(q->multiplier[c], q->shift[c]);
        const mct_rq_t r1 = mct_rq_make(q->multiplier[c + 1], q->shift[c + 1]);
        const int32_t base0 = folded_base(bias, c, p->input_offset, w0, k_n);
        const int32_t base1 = folded_base(bias, c + 1, p->input_offset, w0 + k_n, k_n);
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
    if (c < c1) { /* odd range: one channel */
        const int8_t *w0 = w + c * k_n;
        const mct_rq_t r0 = mct_rq_make(q->multiplier[c], q->shift[c]);
        const int32_t base0 = folded_base(bias, c, p->input_offset, w0, k_n);
        for (int32_t r = 0; r < rows; ++r) {
            out[r * c_n + c] =
                mct_rq_out(dot_1x1(in + r * k_n, w0, k_n, base0), &r0, MCT_RQ_GENERAL, cl.out_off, cl.lo, cl.hi);
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
        s0 = mct_wrap_add(s0, xv * (int32_t)w0[i]);
        s1 = mct_wrap_add(s1, xv * (int32_t)w1[i]);
    }
    *a0 = s0;
    *a1 = s1;
}

/* Any other conv: per output pixel, 2 channels at a time, only the in-input taps (each tap row is one
   contiguous run of input and filter). */
static void conv_general(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                         const int8_t *in, const mct_dims_t *filter_dims, const mct_filter_t *f,
                         const int32_t *bias, const mct_dims_t *out_dims, int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c;
    const int32_t per = k_h * k_w * in_c;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            const int32_t ky0 = (in_y0 < 0) ? -in_y0 : 0;
            const int32_t ky1 = (in_y0 + k_h > in_h) ? in_h - in_y0 : k_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                const int32_t kx0 = (in_x0 < 0) ? -in_x0 : 0;
                const int32_t kx1 = (in_x0 + k_w > in_w) ? in_w - in_x0 : k_w;
                const int32_t run = (kx1 - kx0) * in_c;
                int8_t *op = out + (((b * out_h) + oy) * out_w + ox) * out_c;
                for (int32_t oc = 0; oc < out_c; oc += 2) {
                    const int32_t oc1 = (oc + 1 < out_c) ? oc + 1 : oc; /* odd count: the last one twice */
                    const int8_t *f0 = mct_filter_row(f, oc, per), *f1 = mct_filter_row(f, oc1, per);
                    int32_t a0 = 0, a1 = 0;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *ip = in + (((b * in_h) + in_y0 + ky) * in_w + in_x0 + kx0) * in_c;
                        const int32_t f_off = (ky * k_w + kx0) * in_c;
                        dot_off_2(ip, f0 + f_off, f1 + f_off, run, p->input_offset, &a0, &a1);
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

void mct_conv2d_split_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                         const int8_t *in, const mct_dims_t *filter_dims, const mct_filter_t *f,
                         const int32_t *bias, const mct_dims_t *out_dims, int8_t *out)
{
    if (filter_dims->h == 1 && filter_dims->w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 &&
        p->pad_w == 0 && out_dims->h == in_dims->h && out_dims->w == in_dims->w) {
        const int32_t rows = out_dims->n * out_dims->h * out_dims->w, k_n = in_dims->c, c_n = out_dims->c;
        if (f->k > 0) {
            pointwise_range(p, q, rows, k_n, in, f->ram, bias, c_n, 0, f->k, out);
        }
        pointwise_range(p, q, rows, k_n, in, f->flash, bias, c_n, f->k, c_n, out);
        return;
    }
    conv_general(p, q, in_dims, in, filter_dims, f, bias, out_dims, out);
}

/* ---- depthwise ---------------------------------------------------------------------------------------- */

#define DW_MAX_TAPS 25 /* up to 5x5 in the grouped path: 50 words of extended weights on the stack */

typedef struct {
    const mct_conv_params_t *p;
    const mct_channel_quant_t *q;
    const int8_t *in;
    const int32_t *bias;
    int8_t *out;
    int32_t batches, in_h, in_w, in_c, k_h, k_w, out_h, out_w, out_c;
} dw_t;

/* Valid tap range [k0, k1) along one axis for a window starting at input coordinate start. */
static MCT_ALWAYS_INLINE void tap_span(int32_t start, int32_t k, int32_t n, int32_t *k0, int32_t *k1)
{
    *k0 = (start < 0) ? -start : 0;
    *k1 = (start + k > n) ? n - start : k;
}

/* One tap of 4 channels: v = their 4 input bytes; w[0] / w[1] = the tap's weights of channels (c, c+2) /
   (c+1, c+3) as int16 lanes, the lanes SXTB16 / SXTB16 ROR 8 give v. With `add_off` the input offset is
   added to the lanes (SADD16); without, it was folded into the accumulators' start. */
static MCT_ALWAYS_INLINE void dw_tap4(uint32_t v, const uint32_t *w, uint32_t off2, int add_off, int32_t a[4])
{
    uint32_t xl = mct_sxtb16(v), xh = mct_sxtb16_ror8(v);
    if (add_off) {
        xl = mct_sadd16(xl, off2);
        xh = mct_sadd16(xh, off2);
    }
    a[0] = mct_smlabb(xl, w[0], a[0]);
    a[2] = mct_smlatt(xl, w[0], a[2]);
    a[1] = mct_smlabb(xh, w[1], a[1]);
    a[3] = mct_smlatt(xh, w[1], a[3]);
}

/* nr x nc taps from input ip (rows row_step apart, pixels in_c apart) and weight pairs wp (rows 2 * k_w
   words apart). */
static MCT_ALWAYS_INLINE void dw_window4(const int8_t *ip, int32_t row_step, int32_t in_c, const uint32_t *wp,
                                         int32_t k_w, int32_t nr, int32_t nc, uint32_t off2, int add_off,
                                         int32_t a[4])
{
    for (; nr > 0; --nr) {
        const int8_t *x = ip;
        const uint32_t *w = wp;
        if (nc == 3) { /* the common 3-wide row, unrolled */
            dw_tap4(mct_load4(x), w, off2, add_off, a);
            dw_tap4(mct_load4(x + in_c), w + 2, off2, add_off, a);
            dw_tap4(mct_load4(x + 2 * in_c), w + 4, off2, add_off, a);
        } else {
            for (int32_t n = nc; n > 0; --n) {
                dw_tap4(mct_load4(x), w, off2, add_off, a);
                x += in_c;
                w += 2;
            }
        }
        ip += row_step;
        wp += 2 * k_w;
    }
}

/* Channels c..c+3 (depth multiplier 1, one filter source) over every output pixel. wv[2 t], wv[2 t + 1]: tap
   t's weight lanes (dw_tap4), adjacent so one pointer walks both. A window wholly inside the input starts from
   base_full = bias + off * (sum of all taps' weights) and adds no offset per tap; a window clipped by padding
   visits only its in-input taps (a padded tap is the zero point: (zp + off) * w = 0, as in the reference),
   adding the offset, from the bias. Starting from the bias instead of adding it last wraps the same in int32. */
static MCT_ALWAYS_INLINE void dw_group4(const dw_t *d, int32_t c, const uint32_t *wv, const int32_t bias[4],
                                        const int32_t base_full[4], const mct_rq_t r[4], int mode)
{
    /* Only what the tap loops use is hoisted into locals: with the whole geometry and clamp as locals GCC
       spills more than it saves (measured on the bench). */
    const mct_conv_params_t *p = d->p;
    const uint32_t off2 = mct_dup16(p->input_offset);
    const int32_t in_c = d->in_c, row_step = d->in_w * in_c, k_h = d->k_h, k_w = d->k_w;
    int8_t *op = d->out + c;
    for (int32_t b = 0; b < d->batches; ++b) {
        for (int32_t oy = 0; oy < d->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            int32_t ky0, ky1;
            tap_span(y0, k_h, d->in_h, &ky0, &ky1);
            const int32_t in_row = (b * d->in_h + y0 + ky0) * d->in_w; /* first valid tap row, x = 0 */
            for (int32_t ox = 0; ox < d->out_w; ++ox, op += d->out_c) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                int32_t kx0, kx1;
                tap_span(x0, k_w, d->in_w, &kx0, &kx1);
                const int32_t nr = ky1 - ky0, nc = kx1 - kx0;
                int32_t a[4];
                if (nr == k_h && nc == k_w) {
                    a[0] = base_full[0];
                    a[1] = base_full[1];
                    a[2] = base_full[2];
                    a[3] = base_full[3];
                    dw_window4(d->in + (in_row + x0) * in_c + c, row_step, in_c, wv, k_w, k_h, k_w, off2, 0, a);
                } else {
                    a[0] = bias[0];
                    a[1] = bias[1];
                    a[2] = bias[2];
                    a[3] = bias[3];
                    if (nr > 0 && nc > 0) { /* else the window misses the input: no pointer into it is formed */
                        dw_window4(d->in + (in_row + x0 + kx0) * in_c + c, row_step, in_c,
                                   wv + 2 * (ky0 * k_w + kx0), k_w, nr, nc, off2, 1, a);
                    }
                }
                op[0] = mct_rq_out(a[0], &r[0], mode, p->output_offset, p->act_min, p->act_max);
                op[1] = mct_rq_out(a[1], &r[1], mode, p->output_offset, p->act_min, p->act_max);
                op[2] = mct_rq_out(a[2], &r[2], mode, p->output_offset, p->act_min, p->act_max);
                op[3] = mct_rq_out(a[3], &r[3], mode, p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}

/* Output channel oc of a depthwise, any depth multiplier, filter tap t at fw[t * fs + oc]. */
static void dw_channel(const dw_t *d, const int8_t *fw, int32_t fs, int32_t oc)
{
    const mct_conv_params_t *p = d->p;
    const int32_t ic = oc / p->depth_multiplier;
    const mct_rq_t r = mct_rq_make(d->q->multiplier[oc], d->q->shift[oc]);
    const int32_t bias = (d->bias != 0) ? d->bias[oc] : 0;
    int32_t pos = 0;
    for (int32_t b = 0; b < d->batches; ++b) {
        for (int32_t oy = 0; oy < d->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            int32_t ky0, ky1;
            tap_span(y0, d->k_h, d->in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < d->out_w; ++ox, ++pos) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                int32_t kx0, kx1;
                tap_span(x0, d->k_w, d->in_w, &kx0, &kx1);
                int32_t acc = 0;
                for (int32_t ky = ky0; ky < ky1; ++ky) {
                    /* x0 may be negative: index arithmetic, so no pointer before the input is formed */
                    const int32_t row = ((b * d->in_h + y0 + ky) * d->in_w + x0) * d->in_c + ic;
                    const int8_t *wp = fw + (ky * d->k_w) * fs + oc;
                    for (int32_t kx = kx0; kx < kx1; ++kx) {
                        acc += ((int32_t)d->in[row + kx * d->in_c] + p->input_offset) * (int32_t)wp[kx * fs];
                    }
                }
                acc = mct_wrap_add(acc, bias);
                d->out[pos * d->out_c + oc] = mct_rq_out(acc, &r, MCT_RQ_GENERAL, p->output_offset, p->act_min,
                                                         p->act_max);
            }
        }
    }
}

/* Output channels [c0, c1) whose filter tap t of channel c is fw[t * fs + c]. */
static void dw_range(const dw_t *d, const int8_t *fw, int32_t fs, int32_t c0, int32_t c1)
{
    const int32_t taps = d->k_h * d->k_w;
    int32_t c = c0;
    if (d->p->depth_multiplier == 1 && taps <= DW_MAX_TAPS) {
        for (; c + 4 <= c1; c += 4) {
            uint32_t wv[2 * DW_MAX_TAPS];
            int32_t wsum[4] = {0, 0, 0, 0};
            for (int32_t t = 0; t < taps; ++t) {
                const uint32_t v = mct_load4(fw + t * fs + c);
                wv[2 * t] = mct_sxtb16(v);
                wv[2 * t + 1] = mct_sxtb16_ror8(v);
                for (int32_t j = 0; j < 4; ++j) {
                    wsum[j] += fw[t * fs + c + j];
                }
            }
            int32_t bias[4], base_full[4];
            mct_rq_t r[4];
            int right = 1;
            for (int32_t j = 0; j < 4; ++j) {
                bias[j] = (d->bias != 0) ? d->bias[c + j] : 0;
                base_full[j] = mct_wrap_add(bias[j], d->p->input_offset * wsum[j]);
                r[j] = mct_rq_make(d->q->multiplier[c + j], d->q->shift[c + j]);
                right = right && mct_rq_is_right(&r[j]);
            }
            switch (mct_rq_mode(right, d->p->act_min, d->p->act_max)) {
            case MCT_RQ_RIGHT_SAT8:
                dw_group4(d, c, wv, bias, base_full, r, MCT_RQ_RIGHT_SAT8);
                break;
            case MCT_RQ_RIGHT:
                dw_group4(d, c, wv, bias, base_full, r, MCT_RQ_RIGHT);
                break;
            default:
                dw_group4(d, c, wv, bias, base_full, r, MCT_RQ_GENERAL);
                break;
            }
        }
    }
    for (; c < c1; ++c) {
        dw_channel(d, fw, fs, c);
    }
}

void mct_depthwise_conv2d_split_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q,
                                   const mct_dims_t *in_dims, const int8_t *in, const mct_dims_t *filter_dims,
                                   const mct_filter_t *f, const int32_t *bias, const mct_dims_t *out_dims,
                                   int8_t *out)
{
    const dw_t d = {p, q, in, bias, out, out_dims->n, in_dims->h, in_dims->w, in_dims->c, filter_dims->h,
                    filter_dims->w, out_dims->h, out_dims->w, out_dims->c};
    if (f->k > 0) {
        dw_range(&d, f->ram, f->k, 0, f->k); /* RAM copy: [1, KH, KW, k] */
    }
    dw_range(&d, f->flash, out_dims->c, f->k, out_dims->c);
}

/* ---- fully connected ------------------------------------------------------------------------------------ */

/* Two units per input pass, both offsets added with SADD16 (as arm/fully_connected_s8.c). */
static MCT_ALWAYS_INLINE void fc_dot2(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t x_off,
                                      int32_t w_off, int32_t *a0, int32_t *a1)
{
    const uint32_t xo2 = mct_dup16(x_off), wo2 = mct_dup16(w_off);
    int32_t s0 = 0, s1 = 0;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t xv = mct_load4(x + i);
        const uint32_t xl = mct_sadd16(mct_sxtb16(xv), xo2), xh = mct_sadd16(mct_sxtb16_ror8(xv), xo2);
        const uint32_t v0 = mct_load4(w0 + i), v1 = mct_load4(w1 + i);
        s0 = mct_smlad(xl, mct_sadd16(mct_sxtb16(v0), wo2), s0);
        s0 = mct_smlad(xh, mct_sadd16(mct_sxtb16_ror8(v0), wo2), s0);
        s1 = mct_smlad(xl, mct_sadd16(mct_sxtb16(v1), wo2), s1);
        s1 = mct_smlad(xh, mct_sadd16(mct_sxtb16_ror8(v1), wo2), s1);
    }
    for (; i < n; ++i) {
        const int32_t xv = (int32_t)x[i] + x_off;
        s0 = mct_wrap_add(s0, xv * ((int32_t)w0[i] + w_off));
        s1 = mct_wrap_add(s1, xv * ((int32_t)w1[i] + w_off));
    }
    *a0 = s0;
    *a1 = s1;
}

void mct_fully_connected_split_s8(const mct_fc_params_t *p, const mct_channel_quant_t *q, int32_t batches,
                                  int32_t depth, int32_t units, const int8_t *in, const mct_filter_t *f,
                                  const int32_t *bias, int8_t *out)
{
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + b * depth;
        for (int32_t u = 0; u < units; u += 2) {
            const int32_t u1 = (u + 1 < units) ? u + 1 : u; /* odd count: the last unit twice */
            int32_t a0, a1;
            fc_dot2(x, mct_filter_row(f, u, depth), mct_filter_row(f, u1, depth), depth, p->input_offset,
                    p->filter_offset, &a0, &a1);
            if (bias != 0) {
                a0 = mct_wrap_add(a0, bias[u]);
                a1 = mct_wrap_add(a1, bias[u1]);
            }
            const mct_rq_t r0 = mct_rq_make(q->multiplier[u], q->shift[u]);
            const mct_rq_t r1 = mct_rq_make(q->multiplier[u1], q->shift[u1]);
            out[b * units + u] = mct_rq_out(a0, &r0, MCT_RQ_GENERAL, p->output_offset, p->act_min, p->act_max);
            out[b * units + u1] = mct_rq_out(a1, &r1, MCT_RQ_GENERAL, p->output_offset, p->act_min, p->act_max);
        }
    }
}

#endif /* MCT_USE_ARM_OPS */
