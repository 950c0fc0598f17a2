/* softmax_xent.c - the loss: softmax cross-entropy on the int8 logits z = s (q - zp), its gradient
   with respect to the real logits (softmax(z) - onehot(label)), the loss value and the predicted class.
   fp32: float softmax. int: TFLM's integer softmax with 16-bit output, acc = p16 + 32768 - 65536 onehot,
   normalized to int16 with exponent -16 + n (golden/loss.py); no float in the gradient path.
   The loss is a report only, always float; exp/log are small libm-free approximations (|rel err| < 1e-6)
   so host and device builds compute the same value. */
#include "../train_math.h"
#include "train_ops.h"

#define LN2 0.69314718f

/* exp(x) for x <= 0 (softmax after subtracting the max): 2^k * e^r, |r| <= ln2 / 2. */
static float exp_neg(float x)
{
    if (!(x >= -87.0f)) {
        return 0.0f; /* also NaN: the cast below must see a value in range */
    }
    x = (x > 0.0f) ? 0.0f : x; /* only a non-finite scale gets here */
    const float kf = x / LN2 - 0.5f; /* x <= 0: rounds to nearest by truncating (k + 0.5) toward zero */
    const int32_t k = (int32_t)kf;
    const float r = x - (float)k * LN2;
    float e = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    union {
        uint32_t u;
        float f;
    } two_k;
    two_k.u = (uint32_t)(k + 127) << 23; /* k in [-126, 0] */
    return e * two_k.f;
}

/* ln(y) for y >= 1 (a sum of exps including exp(0)): y = m 2^e, m in [0.75, 1.5), atanh series. */
static float log_ge1(float y)
{
    union {
        uint32_t u;
        float f;
    } v;
    v.f = y;
    int32_t e = (int32_t)((v.u >> 23) & 0xFFu) - 127;
    v.u = (v.u & 0x007FFFFFu) | 0x3F800000u; /* m in [1, 2) */
    float m = v.f;
    if (m > 1.5f) {
        m *= 0.5f;
        ++e;
    }
    const float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
    const float s = t * (2.0f + t2 * (2.0f / 3 + t2 * (2.0f / 5 + t2 * (2.0f / 7 + t2 * (2.0f / 9)))));
    return s + (float)e * LN2;
}

/* Loss, probabilities (into p when not NULL) and argmax, in float. */
static void float_softmax(const mct_xent_params_t *pr, uint32_t n, const int8_t *q, int32_t label, float *p,
                          float *loss, int32_t *predicted)
{
    int32_t best = 0;
    for (uint32_t i = 1; i < n; ++i) {
        best = (q[i] > q[best]) ? (int32_t)i : best;
    }
    *predicted = best;
    const float zmax = pr->scale * ((float)q[best] - (float)pr->zero_point);
    float sum = 0.0f;
    for (uint32_t i = 0; i < n; ++i) {
        const float e = exp_neg(pr->scale * ((float)q[i] - (float)pr->zero_point) - zmax);
        sum += e;
        if (p != 0) {
            p[i] = e;
        }
    }
    if (p != 0) {
        for (uint32_t i = 0; i < n; ++i) {
            p[i] /= sum;
        }
    }
    const float zl = pr->scale * ((float)q[label] - (float)pr->zero_point) - zmax;
    const float l = log_ge1(sum) - zl;
    *loss = (l > 69.0776f) ? 69.0776f : l; /* the golden clips p at 1e-30 */
}

int mct_softmax_xent_f32(const mct_xent_params_t *p, uint32_t n, const int8_t *logits, int32_t label,
                         float *scratch, float *g, float *loss, int32_t *predicted)
{
    if (label < 0 || (uint32_t)label >= n) {
        return -1;
    }
    float_softmax(p, n, logits, label, scratch, loss, predicted);
    for (uint32_t i = 0; i < n; ++i) {
        g[i] = scratch[i] - (((int32_t)i == label) ? 1.0f : 0.0f);
    }
    return 0;
}

int mct_softmax_xent_int(const mct_xent_params_t *p, uint32_t n, const int8_t *logits, int32_t label,
                         int32_t *scratch, int16_t *g, int32_t *g_exp, float *loss, int32_t *predicted)
{
    if (label < 0 || (uint32_t)label >= n) {
        return -1;
    }
    float_softmax(p, n, logits, label, 0, loss, predicted);
    mct_softmax_s8_s16(&p->softmax, n, logits, scratch);
    for (uint32_t i = 0; i < n; ++i) {
        scratch[i] = scratch[i] + 32768 - (((int32_t)i == label) ? 65536 : 0); /* p * 2^16 - onehot * 2^16 */
    }
    const int32_t s = mct_norm16_shift(n, scratch);
    for (uint32_t i = 0; i < n; ++i) {
        g[i] = mct_norm16_value(scratch[i], s);
    }
    *g_exp = -16 + s;
    return 0;
}
