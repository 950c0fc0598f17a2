/* add_s8.c - int8 elementwise add (TFLite AddElementwise): both inputs are brought to a common
   scale with 20 bits of headroom, summed, then requantized to the output scale. */
#include "../quant.h"
#include "ops.h"

#ifndef MCT_USE_ARM_OPS /* ops/arm/add_s8.c provides it */

void mct_add_s8(const mct_add_params_t *p, uint32_t n, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    for (uint32_t i = 0; i < n; ++i) {
        const int32_t v1 = (int32_t)in1[i] + p->input1_offset;
        const int32_t v2 = (int32_t)in2[i] + p->input2_offset;
        const int32_t s1 = mct_mbqm((int32_t)((uint32_t)v1 << p->left_shift), p->input1_multiplier, p->input1_shift);
        const int32_t s2 = mct_mbqm((int32_t)((uint32_t)v2 << p->left_shift), p->input2_multiplier, p->input2_shift);
        const int32_t r =
            mct_requant(mct_wrap_add(s1, s2), p->output_multiplier, p->output_shift, p->output_offset);
        out[i] = (int8_t)mct_clamp(r, p->act_min, p->act_max);
    }
}

#endif /* MCT_USE_ARM_OPS */
