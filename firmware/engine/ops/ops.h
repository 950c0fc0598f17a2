/*
 * ops.h - int8 kernels, CMSIS-NN style flat names. Each kernel is a pure function of its
 * arguments: shapes are already validated by the program loader, so kernels do not re-check.
 *
 * Reference versions (plain loops) live in ops/<name>.c; optimised Cortex-M versions with the
 * SAME names live in ops/arm/<name>.c and are chosen at build time (MCT_USE_ARM_OPS), never both.
 * Backward kernels go in ops/<op>_backward*.c.
 */
#ifndef MCT_OPS_H
#define MCT_OPS_H

#include <stdint.h>

#include "../tensor.h"

/* Convolution-like ops (conv, depthwise). offsets are the negated zero points TFLite uses. */
typedef struct {
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_h;            /* padding before (top); the remainder of SAME padding goes after */
    int32_t pad_w;
    int32_t depth_multiplier; /* depthwise only */
    int32_t input_offset;     /* -input zero point */
    int32_t output_offset;    /* +output zero point */
    int32_t act_min;          /* fused activation clamp, in output quantized units */
    int32_t act_max;
} mct_conv_params_t;

/* Per output channel requantization (multiplier, shift), precomputed on the host. */
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
} mct_channel_quant_t;

typedef struct {
    int32_t input_offset;
    int32_t filter_offset;
    int32_t output_offset;
    int32_t act_min;
    int32_t act_max;
} mct_fc_params_t;

typedef struct {
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t left_shift;
    int32_t input1_multiplier;
    int32_t input1_shift;
    int32_t input2_multiplier;
    int32_t input2_shift;
    int32_t output_multiplier;
    int32_t output_shift;
    int32_t output_offset;
    int32_t act_min;
    int32_t act_max;
} mct_add_params_t;

typedef struct {
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_h;
    int32_t pad_w;
    int32_t filter_h;
    int32_t filter_w;
    int32_t act_min;
    int32_t act_max;
} mct_pool_params_t;

typedef struct {
    int32_t axis_mask;   /* bit i set: reduce dim i of the extended 4-D input */
    int32_t reserved;    /* 0 */
    int32_t input_zp;
    int32_t output_zp;
    int32_t multiplier;  /* already includes 1/count (host-computed like TFLM) */
    int32_t shift;
} mct_mean_params_t;

typedef struct {
    int32_t before[4];
    int32_t after[4];
    int32_t pad_value;
} mct_pad_params_t;

typedef struct {
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} mct_softmax_params_t;

typedef struct {
    int32_t input_zp;
    int32_t output_zp;
    int32_t multiplier;
    int32_t shift;
} mct_requant_params_t;

void mct_conv2d_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                   const int8_t *in, const mct_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                   const mct_dims_t *out_dims, int8_t *out);

/* filter dims: [1, KH, KW, C_out], C_out = C_in * depth_multiplier */
void mct_depthwise_conv2d_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                             const int8_t *in, const mct_dims_t *filter_dims, const int8_t *filter,
                             const int32_t *bias, const mct_dims_t *out_dims, int8_t *out);

/* in: [batches, depth], filter: [units, depth], out: [batches, units]. q has `units` entries. */
void mct_fully_connected_s8(const mct_fc_params_t *p, const mct_channel_quant_t *q, int32_t batches, int32_t depth,
                            int32_t units, const int8_t *in, const int8_t *filter, const int32_t *bias, int8_t *out);

void mct_add_s8(const mct_add_params_t *p, uint32_t n, const int8_t *in1, const int8_t *in2, int8_t *out);

/* Return 0, or -1 if an output window covers no input element (TFLM refuses those too). */
int mct_avg_pool_s8(const mct_pool_params_t *p, const mct_dims_t *in_dims, const int8_t *in,
                    const mct_dims_t *out_dims, int8_t *out);
int mct_max_pool_s8(const mct_pool_params_t *p, const mct_dims_t *in_dims, const int8_t *in,
                    const mct_dims_t *out_dims, int8_t *out);

/* in_dims: extended 4-D input shape as int32_t[4]. */
void mct_mean_s8(const mct_mean_params_t *p, const int32_t in_dims[4], const int8_t *in, int8_t *out);

void mct_pad_s8(const mct_pad_params_t *p, const int32_t in_dims[4], const int8_t *in, const int32_t out_dims[4],
                int8_t *out);

/* rows x depth, softmax along depth. Output quantization is fixed (scale 1/256, zp -128). */
void mct_softmax_s8(const mct_softmax_params_t *p, uint32_t rows, uint32_t depth, const int8_t *in, int8_t *out);

/* Edges: float <-> int8 (the only float code), and int8 -> int8 requantization. */
void mct_quantize_f32_s8(float scale, int32_t zero_point, uint32_t n, const float *in, int8_t *out);
void mct_dequantize_s8_f32(float scale, int32_t zero_point, uint32_t n, const int8_t *in, float *out);
void mct_requantize_s8(const mct_requant_params_t *p, uint32_t n, const int8_t *in, int8_t *out);

void mct_copy_bytes(uint32_t n, const uint8_t *in, uint8_t *out);

#endif /* MCT_OPS_H */
