/* arm/fully_connected_s8.c - Cortex-M4/M7 int8 fully connected, same name and results as
   ops/fully_connected_s8.c; selected with -DMCT_USE_ARM_OPS. No scratch memory.

   Two units share every input load: per 4 inputs, 1 LDR + 2 SXTB16 + 2 SADD16 (input offset) for
   x, then per unit 1 LDR + 2 SXTB16 (+ 2 SADD16 only when the filter has a zero point) + 2 SMLAD.
   Both offsets are applied element-wise, exactly as the reference multiplies, so no identity
   about sums is needed; (w + filter_offset) fits an int16 lane (|.| <= 127 + 255). */
#include "../../quant.h"
#include "../ops.h"
#include "arm_common.h"

#ifdef MCT_USE_ARM_OPS

static MCT_ALWAYS_INLINE void dot2(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t x_off,
                                   int32_t w_off, int has_w_off, int32_t *a0, int32_t *a1)
{
    const uint32_t xo2 = mct_dup16(x_off), wo2 = mct_dup16(w_off);
    int32_t s0 = 0, s1 = 0;
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
        s0 = mct_smlad(xl, w0l, s0);
        s0 = mct_smlad(xh, w0h, s0);
        s1 = mct_smlad(xl, w1l, s1);
        s1 = mct_smlad(xh, w1h, s1);
    }
    for (; i < n; ++i) {
        const int32_t xv = (int32_t)x[i] + x_off;
        s0 += xv * ((int32_t)w0[i] + w_off);
        s1 += xv * ((int32_t)w1[i] + w_off);
    }
    *a0 = s0;
    *a1 = s1;
}

static MCT_ALWAYS_INLINE void fc(const mct_fc_params_t *p, const mct_channel_quant_t *q, int32_t batches,
                                 int32_t depth, int32_t units, const int8_t *in, const int8_t *filter,
                                 const int32_t *bias, int8_t *out, int has_w_off)
{
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + b * depth;
        for (int32_t u = 0; u < units; u += 2) {
            const int32_t u1 = (u + 1 < units) ? u + 1 : u; /* odd count: the last unit twice */
            int32_t a0, a1;
            dot2(x, filter + u * depth, filter + u1 * depth, depth, p->input_offset, p->filter_offset, has_w_off,
                 &a0, &a1);
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

void mct_fully_connected_s8(const mct_fc_params_t *p, const mct_channel_quant_t *q, int32_t batches, int32_t depth,
                            int32_t units, const int8_t *in, const int8_t *filter, const int32_t *bias, int8_t *out)
{
    if (p->filter_offset != 0) {
        fc(p, q, batches, depth, units, in, filter, bias, out, 1);
    } else {
        fc(p, q, batches, depth, units, in, filter, bias, out, 0);
    }
}

#endif /* MCT_USE_ARM_OPS */
