/* arm/fully_connected_s8.c - Cortex-M4/M7 int8 fully connected, same name and results as
   ops/fully_connected_s8.c; selected with -DMCT_USE_ARM_OPS. No scratch memory.

   A filter wholly in flash is the split-weight kernel with no RAM channels (arm/conv2d_split_s8.c: two
   units per input pass, both offsets added with SADD16, mct_dot_off_2 in arm_dot.h), so there is one copy
   of the loops. */
#include <stddef.h>

#include "../train_ops.h"

#ifdef MCT_USE_ARM_OPS

void mct_fully_connected_s8(const mct_fc_params_t *p, const mct_channel_quant_t *q, int32_t batches, int32_t depth,
                            int32_t units, const int8_t *in, const int8_t *filter, const int32_t *bias, int8_t *out)
{
    const mct_filter_t f = {filter, NULL, 0};
    mct_fully_connected_split_s8(p, q, batches, depth, units, in, &f, bias, out);
}

#endif /* MCT_USE_ARM_OPS */
