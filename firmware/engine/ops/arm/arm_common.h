/* arm_common.h - pieces shared by the Cortex-M kernels in ops/arm/. */
#ifndef MCT_ARM_COMMON_H
#define MCT_ARM_COMMON_H

#include <stdint.h>

#include "../../quant.h"
#include "arm_requant.h"
#include "arm_simd.h"

/* Kernels are written once with a compile-time flag and instantiated twice (multiplier < 1 for
   every channel, the usual case, or general); forcing the inlining is what makes the flag free. */
#if defined(__GNUC__)
#define MCT_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define MCT_ALWAYS_INLINE inline
#endif

/* 1 when a channel's requantization is the branch-free "right shift only" form. */
static inline int mct_rq_is_right(const mct_rq_t *r)
{
    return r->left == 0 && r->hi_shift >= 0;
}

/* Requantization modes, chosen once per channel group and passed as a literal so each kernel is
   instantiated per mode: GENERAL (any shift), RIGHT (multiplier < 1: no left shift, no branch),
   RIGHT_SAT8 (also the clamp is the whole int8 range, e.g. RELU6 mapped onto [-128, 127]: one SSAT). */
#define MCT_RQ_GENERAL 0
#define MCT_RQ_RIGHT 1
#define MCT_RQ_RIGHT_SAT8 2

static inline int mct_rq_mode(int all_right, int32_t lo, int32_t hi)
{
    if (!all_right) {
        return MCT_RQ_GENERAL;
    }
    return (lo == -128 && hi == 127) ? MCT_RQ_RIGHT_SAT8 : MCT_RQ_RIGHT;
}

/* Requantize, add the output zero point, clamp: one int8 output, = quant.h's mct_requant + clamp.
   `mode` is a compile-time constant at every call site. Only GENERAL can produce a rescaled value
   outside [MCT_RESCALED_MIN, MCT_RESCALED_MAX] (a multiplier >= 1, e == 0); the RIGHT modes (e >= 1)
   cannot (see quant.h), so the saturation costs them nothing. */
static MCT_ALWAYS_INLINE int8_t mct_rq_out(int32_t acc, const mct_rq_t *r, int mode, int32_t out_off, int32_t lo,
                                            int32_t hi)
{
    const int32_t v = ((mode != MCT_RQ_GENERAL) ? mct_rq_apply_right(acc, r) : mct_sat31(mct_rq_apply(acc, r))) +
                      out_off;
    if (mode == MCT_RQ_RIGHT_SAT8) {
        return (int8_t)mct_ssat8(v);
    }
    return (int8_t)mct_clamp(v, lo, hi);
}

/* mct_rq_apply(a2 / 2) + out_off for the doubled accumulator a2 (arm_requant.h, mct_rqd_make) */
static inline int32_t mct_rqd_apply(int32_t a2, const mct_rqd_t *r)
{
    return (mct_smmlar(a2, r->mult, r->c) + (a2 >> 31)) >> r->e;
}

/* sum of n int8 weights (the input offset times it is folded into the bias once per channel) */
static inline int32_t mct_sum_s8(const int8_t *w, int32_t n)
{
    const uint32_t ones = 0x00010001u;
    int32_t s = 0;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t v = mct_load4(w + i);
        s = mct_smlad(mct_sxtb16(v), ones, s);
        s = mct_smlad(mct_sxtb16_ror8(v), ones, s);
    }
    for (; i < n; ++i) {
        s += w[i];
    }
    return s;
}

#endif /* MCT_ARM_COMMON_H */
