/*
 * train_ops.h - backward, loss and update kernels (docs/training-math.md). Every kernel exists in the two
 * numeric modes: `_f32` (float32 gradients in real units) and `_int` (int16 gradients / int32 accumulators
 * with a power-of-two exponent, integer-only inner loops, bit-exact with tools/mcutrain/golden).
 *
 * Conventions:
 *  - Gradients have their activation's NHWC shape (batch 1 for weight ops).
 *  - int mode: a kernel writing a summed gradient writes an int32 accumulator (`acc`) and its exponent;
 *    mct_normalize_int then turns it into the int16 gradient. `*exp` values are powers of two:
 *    real = q * 2^exp.
 *  - `accumulate` (fp32 mode): add the contribution to what the output already holds (a tensor read by two
 *    ops); otherwise overwrite. int mode accumulates through mct_normalize_int.
 *  - Weights of a layer whose first k output channels are updated live in two places: the RAM copy of
 *    those channels and the constant (flash) tensor for the rest (mct_filter_t).
 */
#ifndef MCT_TRAIN_OPS_H
#define MCT_TRAIN_OPS_H

#include <stdint.h>

#include "ops.h"

typedef struct {
    const int8_t *flash; /* the whole constant filter (channels >= k are read from here) */
    const int8_t *ram;   /* first k output channels, updated in the arena (NULL when k == 0) */
    int32_t k;
} mct_filter_t;

/* Conv / FC filter [C_out, ...]: row of output channel oc (per = elements per channel). */
static inline const int8_t *mct_filter_row(const mct_filter_t *f, int32_t oc, int32_t per)
{
    return (oc < f->k) ? f->ram + oc * per : f->flash + oc * per;
}

/* Depthwise filter [1, KH, KW, C_out]: tap t = ky * KW + kx of channel oc. */
static inline int32_t mct_filter_dw(const mct_filter_t *f, int32_t tap, int32_t oc, int32_t c_out)
{
    return (oc < f->k) ? f->ram[tap * f->k + oc] : f->flash[tap * c_out + oc];
}

/* Gradient outputs are sums of scattered contributions, so they start from zero. */
static inline void mct_zero_f32(uint32_t n, float *v)
{
    for (uint32_t i = 0; i < n; ++i) {
        v[i] = 0.0f;
    }
}

static inline void mct_zero_i32(uint32_t n, int32_t *v)
{
    for (uint32_t i = 0; i < n; ++i) {
        v[i] = 0;
    }
}

/* Geometry shared by the conv-like backward kernels. */
typedef struct {
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_h;
    int32_t pad_w;
    int32_t depth_multiplier;
} mct_geom_t;

/* ---- forward helpers ------------------------------------------------------------------------------- */
/* Forward conv / depthwise / FC whose first k output channels come from RAM (sparse update). */
void mct_conv2d_split_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                         const int8_t *in, const mct_dims_t *filter_dims, const mct_filter_t *f,
                         const int32_t *bias, const mct_dims_t *out_dims, int8_t *out);
void mct_depthwise_conv2d_split_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q,
                                   const mct_dims_t *in_dims, const int8_t *in, const mct_dims_t *filter_dims,
                                   const mct_filter_t *f, const int32_t *bias, const mct_dims_t *out_dims,
                                   int8_t *out);
void mct_fully_connected_split_s8(const mct_fc_params_t *p, const mct_channel_quant_t *q, int32_t batches,
                                  int32_t depth, int32_t units, const int8_t *in, const mct_filter_t *f,
                                  const int32_t *bias, int8_t *out);

/* 1 bit per element: set where lo < x < hi (strictly inside the activation clamp). */
void mct_mask_bits(uint32_t n, const int8_t *x, int32_t lo, int32_t hi, uint8_t *bits);

/* ---- activation mask (in place) --------------------------------------------------------------------- */
/* Keeps g[i] where the mask says so: bits != NULL -> bit i, else lo < x[i] < hi. */
void mct_act_grad_f32(uint32_t n, float *g, const uint8_t *bits, const int8_t *x, int32_t lo, int32_t hi);
void mct_act_grad_int(uint32_t n, int16_t *g, const uint8_t *bits, const int8_t *x, int32_t lo, int32_t hi);

/* ---- conv / depthwise / FC ------------------------------------------------------------------------- */
/* Input gradient. f32: scale[C_out] = weight scales. int: g2 = mul_shift(g, mult[o], shift[o]) (shift
   includes the headroom shift), acc = sum w_q * g2 over the transposed conv. */
void mct_conv2d_grad_input_f32(const mct_geom_t *g, const mct_dims_t *gy_dims, const float *gy,
                               const mct_dims_t *f_dims, const mct_filter_t *f, const float *scale,
                               const mct_dims_t *x_dims, int accumulate, float *gx);
void mct_conv2d_grad_input_int(const mct_geom_t *g, const mct_dims_t *gy_dims, const int16_t *gy,
                               const mct_dims_t *f_dims, const mct_filter_t *f, const int32_t *mult,
                               const int32_t *shift, const mct_dims_t *x_dims, int32_t *acc);
void mct_depthwise_grad_input_f32(const mct_geom_t *g, const mct_dims_t *gy_dims, const float *gy,
                                  const mct_dims_t *f_dims, const mct_filter_t *f, const float *scale,
                                  const mct_dims_t *x_dims, int accumulate, float *gx);
void mct_depthwise_grad_input_int(const mct_geom_t *g, const mct_dims_t *gy_dims, const int16_t *gy,
                                  const mct_dims_t *f_dims, const mct_filter_t *f, const int32_t *mult,
                                  const int32_t *shift, const mct_dims_t *x_dims, int32_t *acc);
void mct_fc_grad_input_f32(int32_t units, int32_t depth, const float *gy, const mct_filter_t *f,
                           const float *scale, int accumulate, float *gx);
void mct_fc_grad_input_int(int32_t units, int32_t depth, const int16_t *gy, const mct_filter_t *f,
                           const int32_t *mult, const int32_t *shift, int32_t *acc);

/* Weight gradient of the first k output channels. f32: x real = x_scale * (x + input_offset).
   int: acc = sum round_shift(g, shift) * (x + input_offset) (exponent: e_gy + shift). */
void mct_conv2d_grad_weight_f32(const mct_geom_t *g, const mct_dims_t *gy_dims, const float *gy,
                                const mct_dims_t *x_dims, const int8_t *x, int32_t input_offset, float x_scale,
                                const mct_dims_t *f_dims, int32_t k, float *gw);
void mct_conv2d_grad_weight_int(const mct_geom_t *g, const mct_dims_t *gy_dims, const int16_t *gy,
                                const mct_dims_t *x_dims, const int8_t *x, int32_t input_offset, int32_t shift,
                                const mct_dims_t *f_dims, int32_t k, int32_t *gw);
void mct_depthwise_grad_weight_f32(const mct_geom_t *g, const mct_dims_t *gy_dims, const float *gy,
                                   const mct_dims_t *x_dims, const int8_t *x, int32_t input_offset,
                                   float x_scale, const mct_dims_t *f_dims, int32_t k, float *gw);
void mct_depthwise_grad_weight_int(const mct_geom_t *g, const mct_dims_t *gy_dims, const int16_t *gy,
                                   const mct_dims_t *x_dims, const int8_t *x, int32_t input_offset,
                                   int32_t shift, const mct_dims_t *f_dims, int32_t k, int32_t *gw);
void mct_fc_grad_weight_f32(int32_t depth, const float *gy, const int8_t *x, int32_t input_offset, float x_scale,
                            int32_t k, float *gw);
void mct_fc_grad_weight_int(int32_t depth, const int16_t *gy, const int8_t *x, int32_t input_offset, int32_t k,
                            int32_t *gw);

/* Bias gradient: sum over positions of a [positions, channels] gradient. */
void mct_grad_bias_f32(uint32_t positions, uint32_t channels, const float *gy, float *gb);
void mct_grad_bias_int(uint32_t positions, uint32_t channels, const int16_t *gy, int32_t *gb);

/* ---- shape ops ------------------------------------------------------------------------------------- */
/* Copy (ADD, RESHAPE, QUANTIZE, DEQUANTIZE backward). int: to int16 (out16) or to an int32 accumulator. */
void mct_grad_copy_f32(uint32_t n, const float *gy, int accumulate, float *out);
void mct_grad_copy_int(uint32_t n, const int16_t *gy, int16_t *out16, int32_t *out32);
/* PAD backward: crop the 4-D gy (gy_dims) at `before` to x_dims. */
void mct_pad_grad_f32(const int32_t gy_dims[4], const float *gy, const int32_t before[4], const int32_t x_dims[4],
                      int accumulate, float *gx);
void mct_pad_grad_int(const int32_t gy_dims[4], const int16_t *gy, const int32_t before[4],
                      const int32_t x_dims[4], int16_t *gx16, int32_t *gx32);
/* Pools: r = the int mode's fixed-point bits of 1/n (exponent: e_gy - r). */
int mct_avg_pool_grad_f32(const mct_pool_params_t *p, const mct_dims_t *gy_dims, const float *gy,
                          const mct_dims_t *x_dims, int accumulate, float *gx);
int mct_avg_pool_grad_int(const mct_pool_params_t *p, int32_t r, const mct_dims_t *gy_dims, const int16_t *gy,
                          const mct_dims_t *x_dims, int32_t *acc);
int mct_max_pool_grad_f32(const mct_pool_params_t *p, const mct_dims_t *gy_dims, const float *gy,
                          const mct_dims_t *x_dims, const int8_t *x, int accumulate, float *gx);
int mct_max_pool_grad_int(const mct_pool_params_t *p, const mct_dims_t *gy_dims, const int16_t *gy,
                          const mct_dims_t *x_dims, const int8_t *x, int32_t *acc);
/* MEAN backward: broadcast gy over the reduced axes (axis_mask over the 4-D view x_dims). */
void mct_mean_grad_f32(int32_t axis_mask, const int32_t x_dims[4], const float *gy, int32_t count, int accumulate,
                       float *gx);
void mct_mean_grad_int(int32_t axis_mask, const int32_t x_dims[4], const int16_t *gy, int32_t count, int32_t r,
                       int32_t *acc);

/* int mode: acc (exponent *acc_exp) -> int16 gradient out (exponent *out_exp). accumulate: out already holds
   a gradient of the same tensor; the sum (golden add_grads) replaces it. acc is clobbered. */
void mct_normalize_int(uint32_t n, int32_t *acc, int32_t acc_exp, int accumulate, int16_t *out, int32_t *out_exp);

/* ---- loss ------------------------------------------------------------------------------------------ */
typedef struct {
    int32_t zero_point;
    float scale;
    mct_softmax_params_t softmax; /* int mode: TFLM softmax of the logits with 16-bit output */
} mct_xent_params_t;

/* Softmax cross-entropy on int8 logits. Writes the gradient of the real logits (f32: g; int: g16 + exp),
   the loss (float) and the predicted class (first argmax). scratch: n floats (f32) / n int32 (int).
   Returns 0, or -1 for a label outside [0, n). */
int mct_softmax_xent_f32(const mct_xent_params_t *p, uint32_t n, const int8_t *logits, int32_t label,
                         float *scratch, float *g, float *loss, int32_t *predicted);
int mct_softmax_xent_int(const mct_xent_params_t *p, uint32_t n, const int8_t *logits, int32_t label,
                         int32_t *scratch, int16_t *g, int32_t *g_exp, float *loss, int32_t *predicted);

/* 16-bit output variant of the int8 softmax (scale 1/65536, zero point -32768), one row. */
void mct_softmax_s8_s16(const mct_softmax_params_t *p, uint32_t depth, const int8_t *in, int32_t *out);

#endif /* MCT_TRAIN_OPS_H */
