/* arm_requant.h - TFLite's MultiplyByQuantizedMultiplier (quant.h mct_mbqm) with the per-channel
   work hoisted out of the pixel loops, bit-exact for every accumulator, multiplier >= 0 and shift
   in [-31, 31] (the ranges the program loader accepts).

   Why it is exact. mct_mbqm computes t = SRDHM(x << l, m) then RoundingDivideByPOT(t, e).
   - multiplier >= 0, so the one saturating SRDHM case (both INT32_MIN) never happens, and
     SRDHM(a, m) = (a*m + 2^30 [- 2^31 + 1 ... see below]) / 2^31 truncated toward zero equals
     floor((a*m + 2^30) / 2^31) for both signs (for a*m < 0 the nudge 1 - 2^30 plus truncation is
     the same as adding 2^30 and flooring).
   - RoundingDivideByPOT(t, e), e >= 1, is floor((t + 2^(e-1) - [t < 0]) / 2^e), and nested floors
     by powers of two compose, so the whole thing is one 64-bit add and one arithmetic shift:
         floor((a*m + 2^30 + 2^(30+e) - [t < 0] * 2^31) / 2^(31+e)).
     [t < 0] may be replaced by [a < 0]: they only differ when t == 0, where both roundings give 0.
   - 31 + e >= 32, so the shift is the high word of the 64-bit sum shifted right by e - 1.
   On a Cortex-M4 that is SMLAL into a preloaded constant and one ASR. */
#ifndef MCT_ARM_REQUANT_H
#define MCT_ARM_REQUANT_H

#include <stdint.h>

typedef struct {
    int64_t k_pos;  /* rounding constant for a >= 0 */
    int64_t k_neg;  /* ... for a < 0 (ties away from zero) */
    int32_t mult;
    int32_t left;   /* TFLite shift > 0: left shift before the multiply */
    int32_t hi_shift; /* e - 1 when e >= 1; -1 marks e == 0 (shift the 64-bit sum by 31) */
} mct_rq_t;

static inline mct_rq_t mct_rq_make(int32_t multiplier, int32_t shift)
{
    mct_rq_t r;
    r.mult = multiplier;
    r.left = (shift > 0) ? shift : 0;
    const int32_t e = (shift > 0) ? 0 : -shift;
    if (e == 0) {
        r.k_pos = (int64_t)1 << 30;
        r.k_neg = r.k_pos;
        r.hi_shift = -1;
    } else {
        r.k_pos = ((int64_t)1 << 30) + ((int64_t)1 << (30 + e));
        r.k_neg = r.k_pos - ((int64_t)1 << 31);
        r.hi_shift = e - 1;
    }
    return r;
}

/* mct_mbqm(acc, multiplier, shift) for the (multiplier, shift) r was made from. */
static inline int32_t mct_rq_apply(int32_t acc, const mct_rq_t *r)
{
    const int32_t a = (int32_t)((uint32_t)acc << r->left); /* wraps like TFLite's int32 product */
    const int64_t p = (int64_t)a * r->mult + ((a < 0) ? r->k_neg : r->k_pos);
    if (r->hi_shift < 0) {
        return (int32_t)(p >> 31); /* fits: |a * m| < 2^62 */
    }
    return (int32_t)(p >> 32) >> r->hi_shift;
}

/* The common case e >= 1, left == 0 (multiplier < 1): no branch, no left shift. The caller checks
   r->hi_shift >= 0 && r->left == 0 once per channel. */
static inline int32_t mct_rq_apply_right(int32_t a, const mct_rq_t *r)
{
    const int64_t p = (int64_t)a * r->mult + ((a < 0) ? r->k_neg : r->k_pos);
    return (int32_t)(p >> 32) >> r->hi_shift;
}

/* The same requantization of a DOUBLED accumulator a2 = 2 * acc (a kernel that doubles its weights and
   bias gets it for free), with the output offset folded in, in 4 Cortex-M instructions
   (mct_rqd_apply in arm_common.h):
       t = SMMLAR(a2, m, C) = hi32(C * 2^32 + a2 * m + 2^31) = SRDHM(acc, m) + C
       v = (t + (a2 >> 31)) >> e            = mct_mbqm(acc, m, -e) + out_off
   with e = -shift >= 1 and C = 2^(e-1) + out_off * 2^e. Why: SRDHM(acc, m) = floor((2 acc m + 2^31) / 2^32)
   (above), RoundingDivideByPOT(t, e) = floor((t + 2^(e-1) - [t < 0]) / 2^e) where [t < 0] may be
   [acc < 0] (above), and adding out_off * 2^e before that floor adds out_off after it.
   It holds while nothing wraps: |a2| < 2^31 and |SRDHM| + |C| + 1 < 2^31. mct_rqd_make checks both
   for every accumulator with |acc| <= acc_bound and returns 0 (use mct_rq_apply) otherwise. */
typedef struct {
    int32_t mult;
    int32_t c;
    int32_t e;
} mct_rqd_t;

static inline int mct_rqd_make(int32_t multiplier, int32_t shift, int32_t out_off, int64_t acc_bound, mct_rqd_t *r)
{
    r->mult = 0;
    r->c = 0;
    r->e = 1;
    if (shift > -1 || shift < -31 || acc_bound >= ((int64_t)1 << 30)) {
        return 0;
    }
    const int32_t e = -shift;
    if (e <= 22 && out_off >= -255 && out_off <= 255) {
        /* |C| <= 511 * 2^21 < 2^30 and |SRDHM| <= 2^30: the check below always passes */
        r->mult = multiplier;
        r->c = (int32_t)(((uint32_t)1 << (e - 1)) + (uint32_t)out_off * ((uint32_t)1 << e));
        r->e = e;
        return 1;
    }
    const int64_t c = ((int64_t)1 << (e - 1)) + (int64_t)out_off * ((int64_t)1 << e);
    const int64_t t = ((acc_bound * multiplier) >> 31) + 1; /* >= |SRDHM(acc, m)| */
    if (t + ((c < 0) ? -c : c) + 1 >= ((int64_t)1 << 31)) {
        return 0;
    }
    r->mult = multiplier;
    r->c = (int32_t)c;
    r->e = e;
    return 1;
}

#endif /* MCT_ARM_REQUANT_H */
