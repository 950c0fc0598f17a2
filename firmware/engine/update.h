/* update.h - SGD + QAS update kernels (update.c). Not part of the public API. */
#ifndef MCT_UPDATE_H
#define MCT_UPDATE_H

#include <stdint.h>

#define MCT_ROUND_NEAREST 0
#define MCT_ROUND_STOCHASTIC 1
#define MCT_ROUND_ACCUMULATOR 2

typedef struct {
    int32_t rounding;  /* MCT_ROUND_* */
    int32_t axis;      /* 0: conv/FC layout [k][per]; 3: depthwise [taps][k] */
    int32_t k;         /* updated output channels (bias: channels) */
    int32_t per;       /* weights per channel */
    int32_t qas;       /* fp32 mode: divide by the scale (QAS) or multiply (plain SGD on the int8 graph) */
    float lr;          /* fp32 mode */
    int32_t advance;   /* stochastic: this op moves the stored PRNG state on by one step's draws */
    int32_t acc_bits;  /* accumulator rounding: 8 or 16 fraction bits */
    const int32_t *jump; /* 32 GF(2) columns: state -> this layer's first draw state */
    const int32_t *adv;  /* 32 GF(2) columns: state -> next step's state */
    const int32_t *a;    /* per channel: int: multiplier; fp32: float32 bits of s_w (weights) or s_x s_w (biases) */
    const int32_t *b;    /* per channel: int: shift; fp32: unused */
} mct_update_params_t;

void mct_update_weight_f32(const mct_update_params_t *p, const float *gw, int8_t *w, void *frac, uint32_t *prng);
void mct_update_weight_int(const mct_update_params_t *p, const int32_t *gw, int32_t gw_exp, int8_t *w, void *frac,
                           uint32_t *prng);
void mct_update_bias_f32(const mct_update_params_t *p, const float *gb, int32_t *b);
void mct_update_bias_int(const mct_update_params_t *p, const int32_t *gb, int32_t gb_exp, int32_t *b);

#endif /* MCT_UPDATE_H */
