/*
 * train_math.h - the integer primitives of the training math (docs/training-math.md section 1), as the
 * golden model (tools/mcutrain/golden/fixedpoint.py) defines them. Backward and update kernels use only
 * these, so bit-exactness with the golden is decided here.
 *
 *   round_shift(x, n) = (x + 2^(n-1)) >> n, arithmetic shift (round half up); n <= 0: x << -n.
 *   mul_shift(x, m, s) = round_shift((int64)x * m, 31 - s), saturated to int32 (one product, one rounding).
 *   normalize16(acc) : n = max(0, bitlen(max|acc|) - 15); q = clamp(round_shift(acc, n), -32767, 32767).
 *
 * Shifts far beyond the operand width give what exact arithmetic gives (0 for |x| << 2^n) instead of
 * C's undefined behaviour; left shifts wrap in 64 bits exactly as numpy's int64 shifts do.
 */
#ifndef MCT_TRAIN_MATH_H
#define MCT_TRAIN_MATH_H

#include <stdint.h>

/* The engine relies on arithmetic right shifts of negative int64 values (gcc/clang on every target). */
typedef char mct_assert_arith_shift64[(((int64_t)-8 >> 1) == -4) ? 1 : -1];

static inline int64_t mct_round_shift64(int64_t x, int32_t n)
{
    if (n <= 0) {
        const int32_t l = (-n > 62) ? 62 : -n;
        return (int64_t)((uint64_t)x << l);
    }
    if (n > 62) {
        return 0; /* |x| < 2^62 everywhere it is used, so x / 2^n rounds to 0 */
    }
    return (x + ((int64_t)1 << (n - 1))) >> n;
}

static inline int32_t mct_sat32(int64_t v)
{
    return (v > INT32_MAX) ? INT32_MAX : ((v < INT32_MIN) ? INT32_MIN : (int32_t)v);
}

static inline int32_t mct_mul_shift(int32_t x, int32_t mult, int32_t shift)
{
    return mct_sat32(mct_round_shift64((int64_t)x * (int64_t)mult, 31 - shift));
}

static inline uint32_t mct_abs32(int32_t v)
{
    return (v < 0) ? 0u - (uint32_t)v : (uint32_t)v;
}

static inline int32_t mct_bitlen32(uint32_t v)
{
    int32_t n = 0;
    while (v != 0) {
        v >>= 1;
        ++n;
    }
    return n;
}

/* Normalisation exponent of an int32 accumulator array (first pass of normalize16). */
static inline int32_t mct_norm16_shift(uint32_t n, const int32_t *acc)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t a = mct_abs32(acc[i]);
        m = (a > m) ? a : m;
    }
    const int32_t s = mct_bitlen32(m) - 15;
    return (s > 0) ? s : 0;
}

static inline int16_t mct_norm16_value(int32_t acc, int32_t shift)
{
    const int64_t q = mct_round_shift64(acc, shift);
    return (int16_t)((q > 32767) ? 32767 : ((q < -32767) ? -32767 : q));
}

/* xorshift32 (13, 17, 5), the golden's PRNG for stochastic rounding. */
static inline uint32_t mct_xorshift32(uint32_t x)
{
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

/* y = M x over GF(2); M given by its 32 columns (col[i] = M e_i). xorshift32 is linear, so a jump of
   any number of draws is one such product (matrices precomputed on the host). */
static inline uint32_t mct_gf2_apply(const int32_t *col, uint32_t x)
{
    uint32_t y = 0;
    for (uint32_t i = 0; i < 32u; ++i) {
        if ((x >> i) & 1u) {
            y ^= (uint32_t)col[i];
        }
    }
    return y;
}

#endif /* MCT_TRAIN_MATH_H */
