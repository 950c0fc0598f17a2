/*
 * update.c - UPDATE_WEIGHT / UPDATE_BIAS: SGD with quantization-aware scaling, in place on the int8
 * weights and int32 biases held in the arena (golden/update.py, docs/training-math.md section 5).
 *
 * The step is first a fixed-point value d_fx = (weight change in LSBs) * 2^16:
 *   int mode:  d_fx = mul_shift(acc, m[o], s[o] + e + 16), (m, s) = QuantizeMultiplier(lr s_x / s_w[o])
 *              (QAS; without QAS lr s_x s_w[o]), e = the gradient's exponent. No float.
 *   fp32 mode: d_fx = round_half_away(float32(lr g / s_w[o]) * 2^16) (without QAS: lr g s_w[o]).
 * then rounded to an integer change d (nearest, stochastic with xorshift32, or a fractional accumulator)
 * and applied: w = clamp(w - d, -127, 127). Biases: db rounded to nearest, b = clamp(b - db, int32).
 *
 * Stochastic rounding draws one PRNG value per updated weight, layers in increasing op index (the golden's
 * order), while the schedule updates layers in backward order. xorshift32 is linear over GF(2), so each
 * UPDATE_WEIGHT jumps the step's PRNG state ahead past the lower layers' draws with a host-computed
 * matrix (`jump`); the op flagged `advance` moves the stored state on by one whole step's draws. The
 * stored state therefore only changes once per step and the draws do not depend on the update order.
 */
#include "ops/train_ops.h"
#include "train_math.h"
#include "update.h"

#define FRAC_BITS 16

static int64_t round_away_f32(float v)
{
    const double d = (double)v;
    if (!(d == d)) {
        return 0;
    }
    const double a = (d < 0) ? -d : d;
    if (a >= 4294967296.0) {
        return (d < 0) ? -((int64_t)1 << 32) : ((int64_t)1 << 32); /* clipped by the caller */
    }
    const int64_t r = (int64_t)(a + 0.5); /* positive: truncation is floor */
    return (d < 0) ? -r : r;
}

/* Parameter words hold float32 bits; a union avoids type-punning through pointers. */
static float f32_of(int32_t bits)
{
    union {
        int32_t i;
        float f;
    } v;
    v.i = bits;
    return v.f;
}

static int32_t channel_of(const mct_update_params_t *p, int32_t i)
{
    return (p->axis == 0) ? i / p->per : i % p->k; /* conv/FC [k][per]; depthwise [taps][k] */
}

/* Integer change of one weight from its fixed-point step (advances *x for stochastic rounding). */
static int64_t rounded(const mct_update_params_t *p, int64_t d_fx, int32_t i, void *frac, uint32_t *x)
{
    if (p->rounding == MCT_ROUND_STOCHASTIC) {
        *x = mct_xorshift32(*x);
        return (d_fx + (int64_t)(*x >> (32 - FRAC_BITS))) >> FRAC_BITS;
    }
    if (p->rounding == MCT_ROUND_ACCUMULATOR) {
        const int32_t a = p->acc_bits;
        const int64_t f = (a == 8) ? ((int8_t *)frac)[i] : ((int16_t *)frac)[i];
        const int64_t t = f + mct_round_shift64(d_fx, FRAC_BITS - a);
        const int64_t d = (t + ((int64_t)1 << (a - 1))) >> a;
        const int64_t rest = t - d * ((int64_t)1 << a); /* in [-2^(a-1), 2^(a-1)) */
        if (a == 8) {
            ((int8_t *)frac)[i] = (int8_t)rest;
        } else {
            ((int16_t *)frac)[i] = (int16_t)rest;
        }
        return d;
    }
    return mct_round_shift64(d_fx, FRAC_BITS);
}

static void apply(int8_t *w, int64_t d)
{
    const int64_t v = (int64_t)*w - d;
    *w = (int8_t)((v > 127) ? 127 : ((v < -127) ? -127 : v));
}

static uint32_t start_state(const mct_update_params_t *p, const uint32_t *prng)
{
    return (p->rounding == MCT_ROUND_STOCHASTIC) ? mct_gf2_apply(p->jump, *prng) : 0u;
}

static void finish(const mct_update_params_t *p, uint32_t *prng)
{
    if (p->rounding == MCT_ROUND_STOCHASTIC && p->advance) {
        *prng = mct_gf2_apply(p->adv, *prng);
    }
}

void mct_update_weight_f32(const mct_update_params_t *p, const float *gw, int8_t *w, void *frac, uint32_t *prng)
{
    uint32_t x = start_state(p, prng);
    const int32_t n = p->k * p->per;
    for (int32_t i = 0; i < n; ++i) {
        const float s = f32_of(p->a[channel_of(p, i)]);
        const float step = p->qas ? (p->lr * gw[i]) / s : (p->lr * gw[i]) * s;
        const int64_t d_fx = mct_sat32(round_away_f32(step * 65536.0f));
        apply(&w[i], rounded(p, d_fx, i, frac, &x));
    }
    finish(p, prng);
}

void mct_update_weight_int(const mct_update_params_t *p, const int32_t *gw, int32_t gw_exp, int8_t *w, void *frac,
                           uint32_t *prng)
{
    uint32_t x = start_state(p, prng);
    const int32_t n = p->k * p->per;
    for (int32_t i = 0; i < n; ++i) {
        const int32_t o = channel_of(p, i);
        const int64_t d_fx = mct_mul_shift(gw[i], p->a[o], p->b[o] + gw_exp + FRAC_BITS);
        apply(&w[i], rounded(p, d_fx, i, frac, &x));
    }
    finish(p, prng);
}

static void apply_bias(int32_t *b, int64_t d)
{
    const int64_t lim = (int64_t)1 << 40; /* keeps the subtraction exact; the result saturates anyway */
    d = (d > lim) ? lim : ((d < -lim) ? -lim : d);
    *b = mct_sat32((int64_t)*b - d);
}

void mct_update_bias_f32(const mct_update_params_t *p, const float *gb, int32_t *b)
{
    for (int32_t c = 0; c < p->k; ++c) {
        const float s = f32_of(p->a[c]);
        const float step = p->qas ? (p->lr * gb[c]) / s : (p->lr * gb[c]) * s;
        apply_bias(&b[c], round_away_f32(step));
    }
}

void mct_update_bias_int(const mct_update_params_t *p, const int32_t *gb, int32_t gb_exp, int32_t *b)
{
    for (int32_t c = 0; c < p->k; ++c) {
        apply_bias(&b[c], mct_mul_shift(gb[c], p->a[c], p->b[c] + gb_exp));
    }
}
