/* arm_dot.h - the dot-product / matrix-product inner loops of the Cortex-M int8 forward kernels, one copy
   for every kernel that runs them (conv2d_split_s8.c, which arm/conv2d_s8.c and arm/fully_connected_s8.c
   call for a filter wholly in flash), and the accumulator bound the closed-form requantizations of
   arm/add_s8.c, arm/conv2d_s8.c and the pointwise tiles check. Each loop is exact int32 arithmetic wrapping
   mod 2^32 like the reference's accumulator; on a core without the DSP extension (the host test build)
   arm_simd.h emulates the instructions, so the same source is checked bit for bit on the host. */
#ifndef MCT_ARM_DOT_H
#define MCT_ARM_DOT_H

#include <stdint.h>

#include "../../quant.h"
#include "arm_common.h"

/* max |x + off| over int8 x: bounds the accumulators that decide whether a closed-form requantization holds */
static inline int32_t mct_max_abs_off(int32_t off)
{
    return (off > 0) ? off + 127 : 128 - off;
}

/* 2 output channels x 2 rows (pixels) of a 1x1 product, out = {row a . w0, row a . w1, row b . w0,
   row b . w1} + the bases. Rows of one tile are adjacent, as are the two filters, so the second row and
   the second filter are [pointer + k_n] and need no pointers of their own. Per 4 input channels: 4 LDR +
   8 SXTB16 + 8 SMLAD for 16 MACs. Register budget: 4 accumulators, 6 extended lanes, 2 moving pointers,
   the row length and the end: 14, all a Cortex-M has. */
static MCT_ALWAYS_INLINE void mct_gemm_2x2(const int8_t *xa, const int8_t *w0, int32_t k_n, int32_t base0,
                                           int32_t base1, int32_t out[4])
{
    int32_t a00 = base0, a01 = base1, a10 = base0, a11 = base1;
    const int8_t *x = xa, *w = w0;
    const int8_t *const x_end = xa + (k_n & ~3);
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    /* GCC spills 3-5 registers per iteration of the C loop below (it hoists the loads); the same 20
       instructions written out keep everything in registers: 14 instead of ~27 per 16 MACs. Identical
       arithmetic to the C version (host-tested); on the board the bench checks it against the host engine,
       op by op. */
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

/* base + x . w over k_n elements: one row x one channel (the leftovers of the 2x2 tiles) */
static inline int32_t mct_dot_1x1(const int8_t *x, const int8_t *w, int32_t k_n, int32_t base)
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

/* *a0 += (x + x_off) . (w0 + w_off), *a1 += (x + x_off) . (w1 + w_off) over n elements: two filters share
   every input load, the offsets are added to two lanes per SADD16 (the filter's only when has_w_off, a
   compile-time flag). (w + w_off) fits an int16 lane: |.| <= 128 + 255. */
static MCT_ALWAYS_INLINE void mct_dot_off_2(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n,
                                            int32_t x_off, int32_t w_off, int has_w_off, int32_t *a0, int32_t *a1)
{
    const uint32_t xo2 = mct_dup16(x_off), wo2 = mct_dup16(w_off);
    int32_t s0 = *a0, s1 = *a1;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t xv = mct_load4(x + i);
        const uint32_t xl = mct_sadd16(mct_sxtb16(xv), xo2), xh = mct_sadd16(mct_sxtb16_ror8(xv), xo2);
        const uint32_t v0 = mct_load4(w0 + i), v1 = mct_load4(w1 + i);
        uint32_t w0l = mct_sxtb16(v0), w0h = mct_sxtb16_ror8(v0), w1l = mct_sxtb16(v1), w1h = mct_sxtb16_ror8(v1);
        if (has_w_off) {
            w0l = mct_sadd16(w0l, wo2);
            w0h = mct_sadd16(w0h, wo2);
            w1l = mct_sadd16(w1l, wo2);
            w1h = mct_sadd16(w1h, wo2);
        }
        s0 = mct_smlad(xh, w0h, mct_smlad(xl, w0l, s0));
        s1 = mct_smlad(xh, w1h, mct_smlad(xl, w1l, s1));
    }
    for (; i < n; ++i) {
        const int32_t xv = (int32_t)x[i] + x_off;
        s0 = mct_wrap_add(s0, xv * ((int32_t)w0[i] + w_off));
        s1 = mct_wrap_add(s1, xv * ((int32_t)w1[i] + w_off));
    }
    *a0 = s0;
    *a1 = s1;
}

#endif /* MCT_ARM_DOT_H */
