/* fully_connected_s8.c - reference int8 fully connected (TFLite integer FullyConnected);
   per-tensor quantization is per-channel with every channel equal. */
#include "../quant.h"
#include "ops.h"

#ifndef MCT_USE_ARM_OPS /* ops/arm/fully_connected_s8.c provides it */

void mct_fully_connected_s8(const mct_fc_params_t *p, const mct_channel_quant_t *q, int32_t batches, int32_t depth,
                            int32_t units, const int8_t *in, const int8_t *filter, const int32_t *bias, int8_t *out)
{
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *ip = in + b * depth;
        for (int32_t u = 0; u < units; ++u) {
            const int8_t *fp = filter + u * depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < depth; ++d) {
                acc += ((int32_t)fp[d] + p->filter_offset) * ((int32_t)ip[d] + p->input_offset);
            }
            if (bias != 0) {
                acc = mct_wrap_add(acc, bias[u]);
            }
            acc = mct_requant(acc, q->multiplier[u], q->shift[u], p->output_offset);
            out[b * units + u] = (int8_t)mct_clamp(acc, p->act_min, p->act_max);
        }
    }
}

#endif /* MCT_USE_ARM_OPS */
