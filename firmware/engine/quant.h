/*
 * quant.h - TFLite's integer requantization arithmetic, in one place.
 *
 * Every int8 kernel rescales its int32 accumulator with these functions and nothing else, so
 * bit-exactness with TFLite Micro is decided here. Definitions (gemmlowp / TFLite semantics):
 *
 *   SaturatingRoundingDoublingHighMul(a, b) = round_half_away(a * b / 2^31), saturating the one
 *       overflowing case a == b == INT32_MIN to INT32_MAX. It is the product of two Q0.31 numbers.
 *   RoundingDivideByPOT(x, e) = x / 2^e rounded to nearest, ties away from zero.
 *   MultiplyByQuantizedMultiplier(x, m, s) = x * (m / 2^31) * 2^s, computed as TFLite does by
 *       default ("double rounding"): left shift first for s > 0, then the high multiply, then
 *       a rounding right shift for s < 0.
 *
 * A real multiplier M in (0, 2^31) is encoded by the host (mcutrain.quantize_params.quantize_multiplier,
 * identical to TFLite's QuantizeMultiplier) as M = m * 2^(s - 31), m in [2^30, 2^31).
 *
 * Assumptions (checked at compile time where possible): two's complement int32, arithmetic
 * right shift of negative values (true for gcc/clang on every target we build for).
 */
#ifndef MCT_QUANT_H
#define MCT_QUANT_H

#include <stdint.h>
#if defined(__ARM_FEATURE_SAT)
#include <arm_acle.h>
#endif

/* C99 leaves >> of negative values implementation-defined; refuse to build where it is not arithmetic. */
typedef char mct_assert_arith_shift[((-8 >> 1) == -4) ? 1 : -1];

static inline int32_t mct_sat_rdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX; /* the only product that does not fit */
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = (ab >= 0) ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C99 division truncates toward zero, which with the nudge gives round-half-away. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x / 2^e, round to nearest, ties away from zero. e >= 32 gives 0 (|x| < 2^31 so |x / 2^e| < 1/2). */
static inline int32_t mct_rdbpot(int32_t x, int32_t e)
{
    if (e <= 0) {
        return x;
    }
    if (e >= 32) {
        return 0;
    }
    const int32_t mask = (int32_t)((((uint32_t)1) << e) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + ((x < 0) ? 1 : 0);
    return (x >> e) + ((remainder > threshold) ? 1 : 0);
}

/* Left shift by e in [1, 30], saturating (gemmlowp SaturatingRoundingMultiplyByPOT, e > 0). */
static inline int32_t mct_sat_lshift(int32_t x, int32_t e)
{
    const int32_t threshold = (int32_t)((((uint32_t)1) << (31 - e)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << e);
}

/* TFLite MultiplyByQuantizedMultiplier; shift in [-31, 31] (validated when a program is loaded). */
static inline int32_t mct_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = (shift > 0) ? shift : 0;
    const int32_t right = (shift > 0) ? 0 : -shift;
    /* TFLite writes x * (1 << left) in int32; wrap the same way without signed-overflow UB. */
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    return mct_rdbpot(mct_sat_rdhm(shifted, multiplier), right);
}

static inline int32_t mct_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return (x < lo) ? lo : ((x > hi) ? hi : x);
}

/*
 * Output stage: rescaled accumulator + output zero point, without signed overflow.
 *
 * TFLite adds the output offset to MultiplyByQuantizedMultiplier's result in plain int32, which
 * overflows (UB) when the multiplier is >= 1 (shift >= 0) and the accumulator is near INT32_MAX:
 * 2147483646 + 127. So the rescaled value is first saturated to the signed 31-bit range
 * [-2^30, 2^30 - 1] (one SSAT #31 on Arm). Bit-exact with TFLite wherever TFLite is defined:
 *   - shift < 0 (every multiplier < 1, the normal case): mct_mbqm(x) already lies in that range
 *     (RoundingDivideByPOT by >= 2 of SRDHM(x, m), m >= 0, |SRDHM| <= 2^31 - 1), nothing changes;
 *   - otherwise a value beyond the 31-bit range plus |zp| <= 255 (the loader's bound on every
 *     offset) is still far outside [-128, 127], so the clamp to [act_min, act_max] that always
 *     follows gives the same int8 as the exact sum.
 * Every int8 kernel's output stage goes through here (ops/arm/: mct_rq_out in arm_common.h).
 */
#define MCT_RESCALED_MIN (-(1 << 30))
#define MCT_RESCALED_MAX ((1 << 30) - 1)

static inline int32_t mct_sat31(int32_t x)
{
#if defined(__ARM_FEATURE_SAT)
    return __ssat(x, 31); /* one instruction instead of two compares with 32-bit constants */
#else
    return mct_clamp(x, MCT_RESCALED_MIN, MCT_RESCALED_MAX);
#endif
}

/* mct_mbqm(x, multiplier, shift) + zp, saturated as above; |zp| <= 255. */
static inline int32_t mct_requant(int32_t x, int32_t multiplier, int32_t shift, int32_t zp)
{
    return mct_sat31(mct_mbqm(x, multiplier, shift)) + zp;
}

static inline int8_t mct_sat_s8(int32_t x)
{
    return (int8_t)mct_clamp(x, -128, 127);
}

/* Wrapping int32 add (gemmlowp's FixedPoint operator+ on int32 lanes wraps in practice). */
static inline int32_t mct_wrap_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t mct_wrap_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

#endif /* MCT_QUANT_H */
