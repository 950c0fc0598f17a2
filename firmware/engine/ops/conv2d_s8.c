/* conv2d_s8.c - reference int8 convolution, per-channel requantization (TFLite ConvPerChannel). */
#include <stddef.h>

#include "train_ops.h"

#ifndef MCT_USE_ARM_OPS /* ops/arm/conv2d_s8.c provides it */

/* The split kernel with every output channel in flash is this convolution: one copy of the arithmetic. */
void mct_conv2d_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                   const int8_t *in, const mct_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                   const mct_dims_t *out_dims, int8_t *out)
{
    const mct_filter_t f = {filter, NULL, 0};
    mct_conv2d_split_s8(p, q, in_dims, in, filter_dims, &f, bias, out_dims, out);
}

#endif /* MCT_USE_ARM_OPS */
