/*
 * softmax_s8.c - int8 softmax, bit-exact with TFLite (Micro)'s reference int8 path.
 *
 * Per row: diff = x - max(row) (<= 0), rescaled by beta*scale to a Q5.26 fixed-point number;
 * exp(diff) is evaluated in Q0.31 with gemmlowp's method (a Taylor polynomial on [-1/4, 0) and
 * a barrel shifter of exp(-2^k) constants for the integer part); exps are summed in Q12.19, the
 * sum is inverted by Newton-Raphson in fixed point, and each output is exp * (1/sum) scaled to
 * 8 bits with output zero point -128 and scale 1/256. Every step below uses quant.h primitives.
 */
#include "../quant.h"
#include "train_ops.h"

#define SCALED_DIFF_INT_BITS 5  /* input diffs are Q5.26 */
#define ACCUM_INT_BITS 12       /* sum of exps is Q12.19 */

/* exp(a) for a in [-1/4, 0), a and result Q0.31. Taylor expansion around -1/8. */
static int32_t exp_quarter(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;             /* 1/3 in Q0.31 */
    const int32_t x = mct_wrap_add(a, 1 << 28);      /* x = a + 1/8 */
    const int32_t x2 = mct_sat_rdhm(x, x);
    const int32_t x3 = mct_sat_rdhm(x2, x);
    const int32_t x4 = mct_sat_rdhm(x2, x2);
    const int32_t x4_over_4 = mct_rdbpot(x4, 2);
    const int32_t poly = mct_rdbpot(mct_wrap_add(mct_sat_rdhm(mct_wrap_add(x4_over_4, x3), one_third), x2), 1);
    return mct_wrap_add(exp_minus_one_eighth, mct_sat_rdhm(exp_minus_one_eighth, mct_wrap_add(x, poly)));
}

/* exp(a) for a <= 0, a in Q5.26, result Q0.31. */
static int32_t exp_negative(int32_t a)
{
    const int32_t frac_bits = 31 - SCALED_DIFF_INT_BITS;     /* 26 */
    const int32_t quarter = 1 << (frac_bits - 2);
    const int32_t mask = quarter - 1;
    const int32_t a_mod_q_minus_q = mct_wrap_sub(a & mask, quarter); /* in [-1/4, 0) */
    int32_t result = exp_quarter(mct_sat_lshift(a_mod_q_minus_q, SCALED_DIFF_INT_BITS)); /* Q5.26 -> Q0.31 */
    const int32_t remainder = mct_wrap_sub(a_mod_q_minus_q, a);     /* the multiple of 1/4 removed */
    /* exp(-2^k) for k = -2..4, Q0.31; applied when bit (frac_bits + k) of the remainder is set. */
    static const int32_t k_exp_pow2[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    for (int32_t k = -2; k <= 4; ++k) {
        if (remainder & (1 << (frac_bits + k))) {
            result = mct_sat_rdhm(result, k_exp_pow2[k + 2]);
        }
    }
    /* Integer bits = 5: no clamp below -32 needed (gemmlowp only clamps for > 5 integer bits). */
    return (a == 0) ? INT32_MAX : result;
}

/* 1 / (1 + x) for x in [0, 1), x and result Q0.31, by three Newton-Raphson steps in Q2.29. */
static int32_t one_over_one_plus_x(int32_t a)
{
    /* half_denominator = (a + 1) / 2 rounded (gemmlowp RoundingHalfSum with One = INT32_MAX) */
    const int64_t sum = (int64_t)a + (int64_t)INT32_MAX;
    const int32_t half_den = (int32_t)((sum + ((sum >= 0) ? 1 : -1)) / 2);
    const int32_t c48_17 = 1515870810;   /* 48/17 in Q2.29 */
    const int32_t cm32_17 = -1010580540; /* -32/17 in Q2.29 */
    const int32_t one_q2 = 1 << 29;
    int32_t x = mct_wrap_add(c48_17, mct_sat_rdhm(half_den, cm32_17));
    for (int i = 0; i < 3; ++i) {
        const int32_t hd_x = mct_sat_rdhm(half_den, x);
        const int32_t one_minus = mct_wrap_sub(one_q2, hd_x);
        x = mct_wrap_add(x, mct_sat_lshift(mct_sat_rdhm(x, one_minus), 2)); /* Q4.27 -> Q2.29 */
    }
    return mct_sat_lshift(x, 1); /* x/2 in Q1.30 reinterpreted, -> Q0.31 */
}

static int32_t count_leading_zeros(uint32_t x)
{
    int32_t n = 0;
    if (x == 0) {
        return 32;
    }
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* exp(x - row max) in Q0.31, or -1 where x - max < diff_min (TFLite gives those classes the minimum). */
static int32_t class_exp(const mct_softmax_params_t *p, int32_t max_v, int8_t x)
{
    const int32_t diff = (int32_t)x - max_v;
    if (diff < p->diff_min) {
        return -1;
    }
    return exp_negative(mct_mbqm(diff, p->input_multiplier, p->input_left_shift));
}

/* What both output widths need of a row: its maximum and 1/sum(exp) as a Q0.31 reciprocal of the sum
   normalised to 1.x, with the power of two that normalisation took (bits_over_unit). */
typedef struct {
    int32_t max_v;
    int32_t recip;
    int32_t bits_over_unit;
} row_t;

static row_t row_stats(const mct_softmax_params_t *p, uint32_t depth, const int8_t *x)
{
    row_t r;
    r.max_v = -128;
    for (uint32_t c = 0; c < depth; ++c) {
        r.max_v = (x[c] > r.max_v) ? x[c] : r.max_v;
    }
    int32_t sum_exps = 0; /* Q12.19 */
    for (uint32_t c = 0; c < depth; ++c) {
        const int32_t e = class_exp(p, r.max_v, x[c]);
        if (e >= 0) {
            sum_exps = mct_wrap_add(sum_exps, mct_rdbpot(e, ACCUM_INT_BITS));
        }
    }
    const int32_t headroom_plus_one = count_leading_zeros((uint32_t)sum_exps);
    r.bits_over_unit = ACCUM_INT_BITS - headroom_plus_one;
    r.recip = one_over_one_plus_x((int32_t)(((uint32_t)sum_exps << headroom_plus_one) - ((uint32_t)1 << 31)));
    return r;
}

void mct_softmax_s8(const mct_softmax_params_t *p, uint32_t rows, uint32_t depth, const int8_t *in, int8_t *out)
{
    for (uint32_t r = 0; r < rows; ++r) {
        const int8_t *x = in + r * depth;
        int8_t *y = out + r * depth;
        const row_t s = row_stats(p, depth, x);
        for (uint32_t c = 0; c < depth; ++c) {
            const int32_t e = class_exp(p, s.max_v, x[c]);
            y[c] = (e < 0) ? -128 : mct_sat_s8(mct_rdbpot(mct_sat_rdhm(s.recip, e), s.bits_over_unit + 31 - 8) - 128);
        }
    }
}

/* The same softmax with a 16-bit output (scale 1/65536, zero point -32768), one row, for the int-mode
   loss (docs/training-math.md section 3). Values are int16, stored as int32 for the caller's arithmetic. */
void mct_softmax_s8_s16(const mct_softmax_params_t *p, uint32_t depth, const int8_t *x, int32_t *out)
{
    const row_t s = row_stats(p, depth, x);
    for (uint32_t c = 0; c < depth; ++c) {
        const int32_t e = class_exp(p, s.max_v, x[c]);
        out[c] = (e < 0) ? -32768
                         : mct_clamp(mct_rdbpot(mct_sat_rdhm(s.recip, e), s.bits_over_unit + 31 - 16) - 32768, -32768,
                                     32767);
    }
}
