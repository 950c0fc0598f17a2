/* arm/depthwise_conv2d_s8.c - Cortex-M4/M7 int8 depthwise convolution, same name and results as
   ops/depthwise_conv2d_s8.c; selected with -DMCT_USE_ARM_OPS. No scratch memory.

   3x3 kernels (any stride, any padding) are computed 4 output channels at a time, the channel
   group being the OUTER loop: the group's 9 x 4 weights are sign-extended once into 18 words on
   the stack, and its bias, input-offset term and requantization constants are set up once for all
   pixels. Per tap: one LDR of 4 input channels (depth_multiplier 1) or one input byte broadcast
   to the 4 outputs it feeds (depth_multiplier a multiple of 4, e.g. the first layer of a MobileNet
   on a 1-channel image), SXTB16 into two lanes, 4 SMLAxy (a depthwise product pairs no two terms
   of one output, so SMLAD does not apply).
   The input offset is folded into the bias as off * (sum of the 9 weights); a tap in the padding
   then has to contribute exactly -off * w, which is what the input zero point (-off) times w
   gives: padded taps read the zero point instead of memory, and the border needs no other case.
   Everything else (other kernel sizes, channel tails, other depth multipliers, an offset that is
   not an int8 zero point) takes a plain per-channel loop with the fast requantization. */
#include "../../quant.h"
#include "../ops.h"
#include "arm_common.h"

#ifdef MCT_USE_ARM_OPS

typedef struct {
    const mct_conv_params_t *p;
    const mct_channel_quant_t *q;
    const int8_t *in;
    const int8_t *filter;
    const int32_t *bias;
    int8_t *out;
    int32_t in_h, in_w, in_c, out_h, out_w, out_c, dm, batches;
} dw_t;

/* One tap into the 4 accumulators. bcast: one input byte feeds all 4 channels, its sign-extended
   value sits in the bottom lane and SMLABB/SMLABT pick the weight lane; otherwise 4 input channels
   are split into lanes (0,2) and (1,3) like the weights. */
#define DW_TAP(t, ptr)                                                                                \
    do {                                                                                              \
        if (bcast) {                                                                                  \
            const int32_t xv = *(ptr);                                                                \
            a0 = mct_smlabb((uint32_t)xv, wl[t], a0);                                                 \
            a2 = mct_smlabt((uint32_t)xv, wl[t], a2);                                                 \
            a1 = mct_smlabb((uint32_t)xv, wh[t], a1);                                                 \
            a3 = mct_smlabt((uint32_t)xv, wh[t], a3);                                                 \
        } else {                                                                                      \
            const uint32_t v_ = mct_load4(ptr);                                                       \
            const uint32_t xl = mct_sxtb16(v_), xh = mct_sxtb16_ror8(v_);                             \
            a0 = mct_smlabb(xl, wl[t], a0);                                                           \
            a2 = mct_smlatt(xl, wl[t], a2);                                                           \
            a1 = mct_smlabb(xh, wh[t], a1);                                                           \
            a3 = mct_smlatt(xh, wh[t], a3);                                                           \
        }                                                                                             \
    } while (0)

/* One channel group: output channels oc..oc+3. bcast: the 4 share one input channel (dm % 4 == 0);
   otherwise dm == 1 and they read 4 consecutive input channels. */
static MCT_ALWAYS_INLINE void group3x3(const dw_t *d, int32_t oc, int bcast, int mode)
{
    const mct_conv_params_t *p = d->p;
    const int32_t in_c = d->in_c, out_c = d->out_c, in_w = d->in_w, in_h = d->in_h;
    const int32_t ic = bcast ? oc / d->dm : oc;
    const int32_t row = in_w * in_c; /* bytes between vertically adjacent taps */
    uint32_t wl[9], wh[9];           /* lanes (oc, oc+2) and (oc+1, oc+3) of each tap */
    int32_t base[4] = {0, 0, 0, 0};
    for (int32_t t = 0; t < 9; ++t) {
        const int8_t *f = d->filter + t * out_c + oc;
        const uint32_t v = mct_load4(f);
        wl[t] = mct_sxtb16(v);
        wh[t] = mct_sxtb16_ror8(v);
        for (int32_t j = 0; j < 4; ++j) {
            base[j] += f[j];
        }
    }
    for (int32_t j = 0; j < 4; ++j) {
        base[j] = mct_wrap_add((d->bias != 0) ? d->bias[oc + j] : 0, p->input_offset * base[j]);
    }
    const mct_rq_t r0 = mct_rq_make(d->q->multiplier[oc], d->q->shift[oc]);
    const mct_rq_t r1 = mct_rq_make(d->q->multiplier[oc + 1], d->q->shift[oc + 1]);
    const mct_rq_t r2 = mct_rq_make(d->q->multiplier[oc + 2], d->q->shift[oc + 2]);
    const mct_rq_t r3 = mct_rq_make(d->q->multiplier[oc + 3], d->q->shift[oc + 3]);
    const uint32_t zp2 = mct_dup16(-p->input_offset); /* a padded tap, already in both lanes */
    const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max;

    for (int32_t b = 0; b < d->batches; ++b) {
        const int8_t *img = d->in + b * in_h * row + ic;
        for (int32_t oy = 0; oy < d->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            const int rows_in = (iy0 >= 0) && (iy0 + 3 <= in_h);
            int8_t *op = d->out + ((b * d->out_h + oy) * d->out_w) * out_c + oc;
            for (int32_t ox = 0; ox < d->out_w; ++ox, op += out_c) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t a0 = base[0], a1 = base[1], a2 = base[2], a3 = base[3];
                if (rows_in && ix0 >= 0 && ix0 + 3 <= in_w) {
                    /* fully unrolled: the 18 weight words stay at fixed stack offsets */
                    const int8_t *x = img + iy0 * row + ix0 * in_c;
                    DW_TAP(0, x);
                    DW_TAP(1, x + in_c);
                    DW_TAP(2, x + 2 * in_c);
                    x += row;
                    DW_TAP(3, x);
                    DW_TAP(4, x + in_c);
                    DW_TAP(5, x + 2 * in_c);
                    x += row;
                    DW_TAP(6, x);
                    DW_TAP(7, x + in_c);
                    DW_TAP(8, x + 2 * in_c);
                } else {
                    for (int32_t ky = 0; ky < 3; ++ky) {
                        const int32_t iy = iy0 + ky;
                        for (int32_t kx = 0; kx < 3; ++kx) {
                            const int32_t ix = ix0 + kx;
                            const int32_t t = ky * 3 + kx;
                            if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) {
                                DW_TAP(t, img + iy * row + ix * in_c);
                            } else { /* the zero point in both lanes */
                                a0 = mct_smlabb(zp2, wl[t], a0);
                                a2 = mct_smlatt(zp2, wl[t], a2);
                                a1 = mct_smlabb(zp2, wh[t], a1);
                                a3 = mct_smlatt(zp2, wh[t], a3);
                            }
                        }
                    }
                }
                op[0] = mct_rq_out(a0, &r0, mode, out_off, lo, hi);
                op[1] = mct_rq_out(a1, &r1, mode, out_off, lo, hi);
                op[2] = mct_rq_out(a2, &r2, mode, out_off, lo, hi);
                op[3] = mct_rq_out(a3, &r3, mode, out_off, lo, hi);
            }
        }
    }
}

/* Any kernel size / depth multiplier, output channels [oc0, oc1): the reference loops with the
   hoisted requantization. */
static void plain(const dw_t *d, int32_t oc0, int32_t oc1, int32_t k_h, int32_t k_w)
{
    const mct_conv_params_t *p = d->p;
    for (int32_t oc = oc0; oc < oc1; ++oc) {
        const int32_t ic = oc / d->dm;
        const mct_rq_t r = mct_rq_make(d->q->multiplier[oc], d->q->shift[oc]);
        const int32_t b0 = (d->bias != 0) ? d->bias[oc] : 0;
        for (int32_t b = 0; b < d->batches; ++b) {
            for (int32_t oy = 0; oy < d->out_h; ++oy) {
                const int32_t iy0 = oy * p->stride_h - p->pad_h;
                for (int32_t ox = 0; ox < d->out_w; ++ox) {
                    const int32_t ix0 = ox * p->stride_w - p->pad_w;
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < k_h; ++ky) {
                        const int32_t iy = iy0 + ky;
                        if (iy < 0 || iy >= d->in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < k_w; ++kx) {
                            const int32_t ix = ix0 + kx;
                            if (ix < 0 || ix >= d->in_w) {
                                continue;
                            }
                            const int32_t iv = d->in[(((b * d->in_h) + iy) * d->in_w + ix) * d->in_c + ic];
                            acc += (iv + p->input_offset) * d->filter[(ky * k_w + kx) * d->out_c + oc];
                        }
                    }
                    acc = mct_wrap_add(acc, b0);
                    d->out[(((b * d->out_h) + oy) * d->out_w + ox) * d->out_c + oc] =
                        mct_rq_out(acc, &r, MCT_RQ_GENERAL, p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
}

void mct_depthwise_conv2d_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                             const int8_t *in, const mct_dims_t *filter_dims, const int8_t *filter,
                             const int32_t *bias, const mct_dims_t *out_dims, int8_t *out)
{
    const dw_t d = {p, q, in, filter, bias, out, in_dims->h, in_dims->w, in_dims->c, out_dims->h, out_dims->w,
                    out_dims->c, p->depth_multiplier, out_dims->n};
    const int bcast = (d.dm % 4) == 0;
    /* padded taps stand for the zero point, which must be an int8 for the folding to hold */
    const int fast = filter_dims->h == 3 && filter_dims->w == 3 && (d.dm == 1 || bcast) &&
                     p->input_offset >= -127 && p->input_offset <= 128;
    int32_t oc = 0;
    if (fast) {
        for (; oc + 4 <= d.out_c; oc += 4) {
            int all_right = 1;
            for (int32_t j = 0; j < 4; ++j) {
                const mct_rq_t r = mct_rq_make(q->multiplier[oc + j], q->shift[oc + j]);
                all_right &= mct_rq_is_right(&r);
            }
            /* every (layout, requantization mode) pair is its own instantiation */
            const int mode = mct_rq_mode(all_right, p->act_min, p->act_max);
            if (bcast) {
                if (mode == MCT_RQ_RIGHT_SAT8) {
                    group3x3(&d, oc, 1, MCT_RQ_RIGHT_SAT8);
                } else if (mode == MCT_RQ_RIGHT) {
                    group3x3(&d, oc, 1, MCT_RQ_RIGHT);
                } else {
                    group3x3(&d, oc, 1, MCT_RQ_GENERAL);
                }
            } else if (mode == MCT_RQ_RIGHT_SAT8) {
                group3x3(&d, oc, 0, MCT_RQ_RIGHT_SAT8);
            } else if (mode == MCT_RQ_RIGHT) {
                group3x3(&d, oc, 0, MCT_RQ_RIGHT);
            } else {
                group3x3(&d, oc, 0, MCT_RQ_GENERAL);
            }
        }
    }
    plain(&d, oc, d.out_c, filter_dims->h, filter_dims->w);
}

#endif /* MCT_USE_ARM_OPS */
