/* quantize.c - the float edges of a model (QUANTIZE float->int8, DEQUANTIZE int8->float), the only
   float code in the engine, and int8->int8 requantization (TFLite Requantize). */
#include "../quant.h"
#include "ops.h"

/* round half away from zero without libm, for |v| < 2^31 */
static int32_t round_away(float v)
{
    int32_t t = (int32_t)v; /* truncates toward zero */
    const float frac = v - (float)t;
    if (frac >= 0.5f) {
        ++t;
    } else if (frac <= -0.5f) {
        --t;
    }
    return t;
}

void mct_quantize_f32_s8(float scale, int32_t zero_point, uint32_t n, const float *in, int8_t *out)
{
    for (uint32_t i = 0; i < n; ++i) {
        const float v = in[i] / scale; /* float division, as TFLite's AffineQuantize */
        int32_t q;
        if (!(v == v)) {
            q = zero_point; /* NaN: TFLite's result is undefined; pick the zero point */
        } else if (v >= 1.0e9f) {
            q = 127;
        } else if (v <= -1.0e9f) {
            q = -128;
        } else {
            q = round_away(v) + zero_point;
        }
        out[i] = mct_sat_s8(q);
    }
}

void mct_dequantize_s8_f32(float scale, int32_t zero_point, uint32_t n, const int8_t *in, float *out)
{
    for (uint32_t i = 0; i < n; ++i) {
        /* one rounding of the exact product, same as TFLite's double product cast to float */
        out[i] = scale * (float)((int32_t)in[i] - zero_point);
    }
}

void mct_requantize_s8(const mct_requant_params_t *p, uint32_t n, const int8_t *in, int8_t *out)
{
    for (uint32_t i = 0; i < n; ++i) {
        const int32_t v = mct_requant((int32_t)in[i] - p->input_zp, p->multiplier, p->shift, p->output_zp);
        out[i] = mct_sat_s8(v);
    }
}

void mct_copy_bytes(uint32_t n, const uint8_t *in, uint8_t *out)
{
    if (in == out) {
        return;
    }
    if (out < in || out >= in + n) {
        for (uint32_t i = 0; i < n; ++i) {
            out[i] = in[i];
        }
    } else {
        for (uint32_t i = n; i > 0; --i) { /* overlapping, out after in: copy backwards */
            out[i - 1] = in[i - 1];
        }
    }
}
