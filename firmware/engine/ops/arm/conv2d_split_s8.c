/* arm/conv2d_split_s8.c - Cortex-M4/M7 split-weight forward conv / depthwise / FC, same names and results
   as ops/conv2d_split_s8.c; selected with -DMCT_USE_ARM_OPS. No scratch memory.

   A layer under sparse update keeps the weights of its first k output channels in RAM (the copy the update
   writes) and the rest in flash (mct_filter_t). That is two ordinary layers over the output-channel ranges
   [0, k) and [k, C) that share the input and interleave their outputs, so each kernel here runs on one
   channel range with that range's filter base and the inner loops of arm_dot.h (docs/kernels.md). With
   k == 0 they are the ordinary layer: arm/conv2d_s8.c and arm/fully_connected_s8.c call them so, one copy
   of the arithmetic (as the reference kernels do).
   - 1x1 stride-1 conv: 2 channels x 2 pixels tiles of SMLAD (mct_gemm_2x2), the input offset folded into
     the bias as off * sum(w), channel pair outer. sum(w) is recomputed on every call: the update changes
     the RAM channels between steps.
   - depthwise, depth multiplier 1: 4 channels per group, the group's weights sign-extended into lane pairs
     once, pixels inner; per tap 1 LDR + 2 SXTB16 + 2 LDR (weights) + 4 SMLAxy, the offset folded into the
     bias for windows inside the input and added by 2 SADD16 per tap for windows clipped by padding (only
     their in-input taps are visited: a padded tap is the zero point, (zp + off) * w = 0, as in the
     reference).
   - other conv shapes and FC: 2 channels per input pass with the offset added by SADD16 (mct_dot_off_2);
     the two rows come from mct_filter_row, so a pair may straddle the split.
   Leftover channels of a range and other depth multipliers take plain loops with hoisted constants. */
#include "../../quant.h"
#include "../train_ops.h"
#include "arm_dot.h"

#ifdef MCT_USE_ARM_OPS

typedef struct {
    int32_t out_off, lo, hi;
} clamp_t;

/* bias + off * sum(w): the reference's int32 accumulator of the offset terms, wrapping the same way */
static int32_t folded_base(const int32_t *bias, int32_t c, int32_t off, const int8_t *w, int32_t n)
{
    return mct_wrap_add((bias != 0) ? bias[c] : 0, off * mct_sum_s8(w, n));
}

/* The output stage of a pointwise channel pair. Whenever every accumulator the pair can reach is below 2^30
   in magnitude (for int8 weights: |bias| + 128 * Ci * max|x + off| < 2^30, so always but for absurd biases)
   and the multipliers are below 1, it is the doubled form of arm_requant.h (mct_rqd_make): the accumulator
   doubled by one shift, then SMMLAR, ADD, ASR with the output offset folded in, 5 instructions instead of
   ~12 for the 64-bit rounding constants of mct_rq_out. The modes extend arm_common.h's (MCT_RQ_*). */
#define PW_DOUBLED 3
#define PW_DOUBLED_SAT8 4 /* ... and the clamp is the whole int8 range: one SSAT */

typedef struct {
    mct_rq_t r[2];
    mct_rqd_t d[2];
    clamp_t cl;
} pw_out_t;

static MCT_ALWAYS_INLINE int8_t pw_out(int32_t acc, const pw_out_t *o, int ch, int mode)
{
    if (mode == PW_DOUBLED || mode == PW_DOUBLED_SAT8) {
        const int32_t v = mct_rqd_apply((int32_t)((uint32_t)acc << 1), &o->d[ch]);
        return (int8_t)((mode == PW_DOUBLED_SAT8) ? mct_ssat8(v) : mct_clamp(v, o->cl.lo, o->cl.hi));
    }
    return mct_rq_out(acc, &o->r[ch], mode, o->cl.out_off, o->cl.lo, o->cl.hi);
}

static MCT_ALWAYS_INLINE void pointwise_pair(const int8_t *in, const int8_t *w0, int32_t rows, int32_t k_n,
                                             int32_t c_n, int32_t base0, int32_t base1, const pw_out_t *po,
                                             int mode, int8_t *out)
{
    int32_t r = 0;
    for (; r + 2 <= rows; r += 2) {
        int32_t acc[4];
        mct_gemm_2x2(in + r * k_n, w0, k_n, base0, base1, acc);
        int8_t *o = out + r * c_n;
        o[0] = pw_out(acc[0], po, 0, mode);
        o[1] = pw_out(acc[1], po, 1, mode);
        o[c_n] = pw_out(acc[2], po, 0, mode);
        o[c_n + 1] = pw_out(acc[3], po, 1, mode);
    }
    if (r < rows) {
        const int8_t *x = in + r * k_n;
        out[r * c_n] = pw_out(mct_dot_1x1(x, w0, k_n, base0), po, 0, mode);
        out[r * c_n + 1] = pw_out(mct_dot_1x1(x, w0 + k_n, k_n, base1), po, 1, mode);
    }
}

/* The requantization mode of channels c, c + 1 (pw_out) */
static int pw_mode(const mct_conv_params_t *p, const mct_channel_quant_t *q, const int32_t *bias, int32_t c,
                   int32_t k_n, pw_out_t *o)
{
    const int sat8 = (p->act_min == -128 && p->act_max == 127);
    int doubled = 1;
    for (int ch = 0; ch < 2; ++ch) {
        o->r[ch] = mct_rq_make(q->multiplier[c + ch], q->shift[c + ch]);
        const int64_t b = (bias != 0) ? bias[c + ch] : 0;
        const int64_t bound = ((b < 0) ? -b : b) + (int64_t)128 * k_n * mct_max_abs_off(p->input_offset);
        doubled = mct_rqd_make(q->multiplier[c + ch], q->shift[c + ch], p->output_offset, bound, &o->d[ch]) &&
                  doubled;
    }
    if (doubled) {
        return sat8 ? PW_DOUBLED_SAT8 : PW_DOUBLED;
    }
    return mct_rq_mode(mct_rq_is_right(&o->r[0]) && mct_rq_is_right(&o->r[1]), p->act_min, p->act_max);
}

/* Output channels [c0, c1) of a 1x1 stride-1 conv over `rows` pixels; channel c's filter row is w + c * k_n
   (w: the RAM copy for [0, k), the flash filter for [k, C)). */
static void pointwise_range(const mct_conv_params_t *p, const mct_channel_quant_t *q, int32_t rows, int32_t k_n,
                            const int8_t *in, const int8_t *w, const int32_t *bias, int32_t c_n, int32_t c0,
                            int32_t c1, int8_t *out)
{
    pw_out_t po;
    po.cl.out_off = p->output_offset;
    po.cl.lo = p->act_min;
    po.cl.hi = p->act_max;
    int32_t c = c0;
    for (; c + 2 <= c1; c += 2) {
        const int8_t *w0 = w + c * k_n;
        const int32_t base0 = folded_base(bias, c, p->input_offset, w0, k_n);
        const int32_t base1 = folded_base(bias, c + 1, p->input_offset, w0 + k_n, k_n);
        switch (pw_mode(p, q, bias, c, k_n, &po)) {
        case PW_DOUBLED_SAT8:
            pointwise_pair(in, w0, rows, k_n, c_n, base0, base1, &po, PW_DOUBLED_SAT8, out + c);
            break;
        case PW_DOUBLED:
            pointwise_pair(in, w0, rows, k_n, c_n, base0, base1, &po, PW_DOUBLED, out + c);
            break;
        case MCT_RQ_RIGHT_SAT8:
            pointwise_pair(in, w0, rows, k_n, c_n, base0, base1, &po, MCT_RQ_RIGHT_SAT8, out + c);
            break;
        case MCT_RQ_RIGHT:
            pointwise_pair(in, w0, rows, k_n, c_n, base0, base1, &po, MCT_RQ_RIGHT, out + c);
            break;
        default:
            pointwise_pair(in, w0, rows, k_n, c_n, base0, base1, &po, MCT_RQ_GENERAL, out + c);
            break;
        }
    }
    if (c < c1) { /* odd range: one channel */
        const int8_t *w0 = w + c * k_n;
        const mct_rq_t r0 = mct_rq_make(q->multiplier[c], q->shift[c]);
        const int32_t base0 = folded_base(bias, c, p->input_offset, w0, k_n);
        for (int32_t r = 0; r < rows; ++r) {
            out[r * c_n + c] = mct_rq_out(mct_dot_1x1(in + r * k_n, w0, k_n, base0), &r0, MCT_RQ_GENERAL,
                                          po.cl.out_off, po.cl.lo, po.cl.hi);
        }
    }
}

/* Any other conv: per output pixel, 2 channels at a time, only the in-input taps (each tap row is one
   contiguous run of input and filter). */
static void conv_general(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                         const int8_t *in, const mct_dims_t *filter_dims, const mct_filter_t *f,
                         const int32_t *bias, const mct_dims_t *out_dims, int8_t *out)
{
    const int32_t in_h = in_dims->h, in_w = in_dims->w, in_c = in_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = out_dims->h, out_w = out_dims->w, out_c = out_dims->c;
    const int32_t per = k_h * k_w * in_c;
    for (int32_t b = 0; b < out_dims->n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            const int32_t ky0 = (in_y0 < 0) ? -in_y0 : 0;
            const int32_t ky1 = (in_y0 + k_h > in_h) ? in_h - in_y0 : k_h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                const int32_t kx0 = (in_x0 < 0) ? -in_x0 : 0;
                const int32_t kx1 = (in_x0 + k_w > in_w) ? in_w - in_x0 : k_w;
                const int32_t run = (kx1 - kx0) * in_c;
                int8_t *op = out + (((b * out_h) + oy) * out_w + ox) * out_c;
                for (int32_t oc = 0; oc < out_c; oc += 2) {
                    const int32_t oc1 = (oc + 1 < out_c) ? oc + 1 : oc; /* odd count: the last one twice */
                    const int8_t *f0 = mct_filter_row(f, oc, per), *f1 = mct_filter_row(f, oc1, per);
                    int32_t a0 = 0, a1 = 0;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *ip = in + (((b * in_h) + in_y0 + ky) * in_w + in_x0 + kx0) * in_c;
                        const int32_t f_off = (ky * k_w + kx0) * in_c;
                        mct_dot_off_2(ip, f0 + f_off, f1 + f_off, run, p->input_offset, 0, 0, &a0, &a1);
                    }
                    if (bias != 0) {
                        a0 = mct_wrap_add(a0, bias[oc]);
                        a1 = mct_wrap_add(a1, bias[oc1]);
                    }
                    const mct_rq_t r0 = mct_rq_make(q->multiplier[oc], q->shift[oc]);
                    op[oc] = mct_rq_out(a0, &r0, MCT_RQ_GENERAL, p->output_offset, p->act_min, p->act_max);
                    if (oc1 != oc) {
                        const mct_rq_t r1 = mct_rq_make(q->multiplier[oc1], q->shift[oc1]);
                        op[oc1] = mct_rq_out(a1, &r1, MCT_RQ_GENERAL, p->output_offset, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

void mct_conv2d_split_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                         const int8_t *in, const mct_dims_t *filter_dims, const mct_filter_t *f,
                         const int32_t *bias, const mct_dims_t *out_dims, int8_t *out)
{
    if (filter_dims->h == 1 && filter_dims->w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 &&
        p->pad_w == 0 && out_dims->h == in_dims->h && out_dims->w == in_dims->w) {
        const int32_t rows = out_dims->n * out_dims->h * out_dims->w, k_n = in_dims->c, c_n = out_dims->c;
        if (f->k > 0) {
            pointwise_range(p, q, rows, k_n, in, f->ram, bias, c_n, 0, f->k, out);
        }
        pointwise_range(p, q, rows, k_n, in, f->flash, bias, c_n, f->k, c_n, out);
        return;
    }
    conv_general(p, q, in_dims, in, filter_dims, f, bias, out_dims, out);
}

/* ---- depthwise ---------------------------------------------------------------------------------------- */

#define DW_MAX_TAPS 25 /* up to 5x5 in the grouped path: 50 words of extended weights on the stack */

typedef struct {
    const mct_conv_params_t *p;
    const mct_channel_quant_t *q;
    const int8_t *in;
    const int32_t *bias;
    int8_t *out;
    int32_t batches, in_h, in_w, in_c, k_h, k_w, out_h, out_w, out_c;
} dw_t;

/* Valid tap range [k0, k1) along one axis for a window starting at input coordinate start. */
static MCT_ALWAYS_INLINE void tap_span(int32_t start, int32_t k, int32_t n, int32_t *k0, int32_t *k1)
{
    *k0 = (start < 0) ? -start : 0;
    *k1 = (start + k > n) ? n - start : k;
}

/* One tap of 4 channels: v = their 4 input bytes; w[0] / w[1] = the tap's weights of channels (c, c+2) /
   (c+1, c+3) as int16 lanes, the lanes SXTB16 / SXTB16 ROR 8 give v. With `add_off` the input offset is
   added to the lanes (SADD16); without, it was folded into the accumulators' start. */
static MCT_ALWAYS_INLINE void dw_tap4(uint32_t v, const uint32_t *w, uint32_t off2, int add_off, int32_t a[4])
{
    uint32_t xl = mct_sxtb16(v), xh = mct_sxtb16_ror8(v);
    if (add_off) {
        xl = mct_sadd16(xl, off2);
        xh = mct_sadd16(xh, off2);
    }
    a[0] = mct_smlabb(xl, w[0], a[0]);
    a[2] = mct_smlatt(xl, w[0], a[2]);
    a[1] = mct_smlabb(xh, w[1], a[1]);
    a[3] = mct_smlatt(xh, w[1], a[3]);
}

/* nr x nc taps from input ip (rows row_step apart, pixels in_c apart) and weight pairs wp (rows 2 * k_w
   words apart). */
static MCT_ALWAYS_INLINE void dw_window4(const int8_t *ip, int32_t row_step, int32_t in_c, const uint32_t *wp,
                                         int32_t k_w, int32_t nr, int32_t nc, uint32_t off2, int add_off,
                                         int32_t a[4])
{
    for (; nr > 0; --nr) {
        const int8_t *x = ip;
        const uint32_t *w = wp;
        if (nc == 3) { /* the common 3-wide row, unrolled */
            dw_tap4(mct_load4(x), w, off2, add_off, a);
            dw_tap4(mct_load4(x + in_c), w + 2, off2, add_off, a);
            dw_tap4(mct_load4(x + 2 * in_c), w + 4, off2, add_off, a);
        } else {
            for (int32_t n = nc; n > 0; --n) {
                dw_tap4(mct_load4(x), w, off2, add_off, a);
                x += in_c;
                w += 2;
            }
        }
        ip += row_step;
        wp += 2 * k_w;
    }
}

/* Channels c..c+3 (depth multiplier 1, one filter source) over every output pixel. wv[2 t], wv[2 t + 1]: tap
   t's weight lanes (dw_tap4), adjacent so one pointer walks both. A window wholly inside the input starts from
   base_full = bias + off * (sum of all taps' weights) and adds no offset per tap; a window clipped by padding
   visits only its in-input taps (a padded tap is the zero point: (zp + off) * w = 0, as in the reference),
   adding the offset, from the bias. Starting from the bias instead of adding it last wraps the same in int32. */
static MCT_ALWAYS_INLINE void dw_group4(const dw_t *d, int32_t c, const uint32_t *wv, const int32_t bias[4],
                                        const int32_t base_full[4], const mct_rq_t r[4], int mode)
{
    /* Only what the tap loops use is hoisted into locals: with the whole geometry and clamp as locals GCC
       spills more than it saves (measured on the bench). */
    const mct_conv_params_t *p = d->p;
    const uint32_t off2 = mct_dup16(p->input_offset);
    const int32_t in_c = d->in_c, row_step = d->in_w * in_c, k_h = d->k_h, k_w = d->k_w;
    int8_t *op = d->out + c;
    for (int32_t b = 0; b < d->batches; ++b) {
        for (int32_t oy = 0; oy < d->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            int32_t ky0, ky1;
            tap_span(y0, k_h, d->in_h, &ky0, &ky1);
            const int32_t in_row = (b * d->in_h + y0 + ky0) * d->in_w; /* first valid tap row, x = 0 */
            for (int32_t ox = 0; ox < d->out_w; ++ox, op += d->out_c) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                int32_t kx0, kx1;
                tap_span(x0, k_w, d->in_w, &kx0, &kx1);
                const int32_t nr = ky1 - ky0, nc = kx1 - kx0;
                int32_t a[4];
                if (nr == k_h && nc == k_w) {
                    a[0] = base_full[0];
                    a[1] = base_full[1];
                    a[2] = base_full[2];
                    a[3] = base_full[3];
                    dw_window4(d->in + (in_row + x0) * in_c + c, row_step, in_c, wv, k_w, k_h, k_w, off2, 0, a);
                } else {
                    a[0] = bias[0];
                    a[1] = bias[1];
                    a[2] = bias[2];
                    a[3] = bias[3];
                    if (nr > 0 && nc > 0) { /* else the window misses the input: no pointer into it is formed */
                        dw_window4(d->in + (in_row + x0 + kx0) * in_c + c, row_step, in_c,
                                   wv + 2 * (ky0 * k_w + kx0), k_w, nr, nc, off2, 1, a);
                    }
                }
                op[0] = mct_rq_out(a[0], &r[0], mode, p->output_offset, p->act_min, p->act_max);
                op[1] = mct_rq_out(a[1], &r[1], mode, p->output_offset, p->act_min, p->act_max);
                op[2] = mct_rq_out(a[2], &r[2], mode, p->output_offset, p->act_min, p->act_max);
                op[3] = mct_rq_out(a[3], &r[3], mode, p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}

/* Output channel oc of a depthwise, any depth multiplier, filter tap t at fw[t * fs + oc]. */
static void dw_channel(const dw_t *d, const int8_t *fw, int32_t fs, int32_t oc)
{
    const mct_conv_params_t *p = d->p;
    const int32_t ic = oc / p->depth_multiplier;
    const mct_rq_t r = mct_rq_make(d->q->multiplier[oc], d->q->shift[oc]);
    const int32_t bias = (d->bias != 0) ? d->bias[oc] : 0;
    int32_t pos = 0;
    for (int32_t b = 0; b < d->batches; ++b) {
        for (int32_t oy = 0; oy < d->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            int32_t ky0, ky1;
            tap_span(y0, d->k_h, d->in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < d->out_w; ++ox, ++pos) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                int32_t kx0, kx1;
                tap_span(x0, d->k_w, d->in_w, &kx0, &kx1);
                int32_t acc = 0;
                for (int32_t ky = ky0; ky < ky1; ++ky) {
                    /* x0 may be negative: index arithmetic, so no pointer before the input is formed */
                    const int32_t row = ((b * d->in_h + y0 + ky) * d->in_w + x0) * d->in_c + ic;
                    const int8_t *wp = fw + (ky * d->k_w) * fs + oc;
                    for (int32_t kx = kx0; kx < kx1; ++kx) {
                        acc += ((int32_t)d->in[row + kx * d->in_c] + p->input_offset) * (int32_t)wp[kx * fs];
                    }
                }
                acc = mct_wrap_add(acc, bias);
                d->out[pos * d->out_c + oc] = mct_rq_out(acc, &r, MCT_RQ_GENERAL, p->output_offset, p->act_min,
                                                         p->act_max);
            }
        }
    }
}

/* Output channels [c0, c1) whose filter tap t of channel c is fw[t * fs + c]. */
static void dw_range(const dw_t *d, const int8_t *fw, int32_t fs, int32_t c0, int32_t c1)
{
    const int32_t taps = d->k_h * d->k_w;
    int32_t c = c0;
    if (d->p->depth_multiplier == 1 && taps <= DW_MAX_TAPS) {
        for (; c + 4 <= c1; c += 4) {
            uint32_t wv[2 * DW_MAX_TAPS];
            int32_t wsum[4] = {0, 0, 0, 0};
            for (int32_t t = 0; t < taps; ++t) {
                const uint32_t v = mct_load4(fw + t * fs + c);
                wv[2 * t] = mct_sxtb16(v);
                wv[2 * t + 1] = mct_sxtb16_ror8(v);
                for (int32_t j = 0; j < 4; ++j) {
                    wsum[j] += fw[t * fs + c + j];
                }
            }
            int32_t bias[4], base_full[4];
            mct_rq_t r[4];
            int right = 1;
            for (int32_t j = 0; j < 4; ++j) {
                bias[j] = (d->bias != 0) ? d->bias[c + j] : 0;
                base_full[j] = mct_wrap_add(bias[j], d->p->input_offset * wsum[j]);
                r[j] = mct_rq_make(d->q->multiplier[c + j], d->q->shift[c + j]);
                right = right && mct_rq_is_right(&r[j]);
            }
            switch (mct_rq_mode(right, d->p->act_min, d->p->act_max)) {
            case MCT_RQ_RIGHT_SAT8:
                dw_group4(d, c, wv, bias, base_full, r, MCT_RQ_RIGHT_SAT8);
                break;
            case MCT_RQ_RIGHT:
                dw_group4(d, c, wv, bias, base_full, r, MCT_RQ_RIGHT);
                break;
            default:
                dw_group4(d, c, wv, bias, base_full, r, MCT_RQ_GENERAL);
                break;
            }
        }
    }
    for (; c < c1; ++c) {
        dw_channel(d, fw, fs, c);
    }
}

void mct_depthwise_conv2d_split_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q,
                                   const mct_dims_t *in_dims, const int8_t *in, const mct_dims_t *filter_dims,
                                   const mct_filter_t *f, const int32_t *bias, const mct_dims_t *out_dims,
                                   int8_t *out)
{
    const dw_t d = {p, q, in, bias, out, out_dims->n, in_dims->h, in_dims->w, in_dims->c, filter_dims->h,
                    filter_dims->w, out_dims->h, out_dims->w, out_dims->c};
    if (f->k > 0) {
        dw_range(&d, f->ram, f->k, 0, f->k); /* RAM copy: [1, KH, KW, k] */
    }
    dw_range(&d, f->flash, out_dims->c, f->k, out_dims->c);
}

/* ---- fully connected ------------------------------------------------------------------------------------ */

/* Two units per input pass (mct_dot_off_2); has_w_off is a literal so a filter without a zero point (every
   int8 model's) pays no SADD16 on the weights. */
static MCT_ALWAYS_INLINE void fc(const mct_fc_params_t *p, const mct_channel_quant_t *q, int32_t batches,
                                 int32_t depth, int32_t units, const int8_t *in, const mct_filter_t *f,
                                 const int32_t *bias, int8_t *out, int has_w_off)
{
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = in + b * depth;
        for (int32_t u = 0; u < units; u += 2) {
            const int32_t u1 = (u + 1 < units) ? u + 1 : u; /* odd count: the last unit twice */
            int32_t a0 = 0, a1 = 0;
            mct_dot_off_2(x, mct_filter_row(f, u, depth), mct_filter_row(f, u1, depth), depth, p->input_offset,
                          p->filter_offset, has_w_off, &a0, &a1);
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

void mct_fully_connected_split_s8(const mct_fc_params_t *p, const mct_channel_quant_t *q, int32_t batches,
                                  int32_t depth, int32_t units, const int8_t *in, const mct_filter_t *f,
                                  const int32_t *bias, int8_t *out)
{
    if (p->filter_offset != 0) {
        fc(p, q, batches, depth, units, in, f, bias, out, 1);
    } else {
        fc(p, q, batches, depth, units, in, f, bias, out, 0);
    }
}

#endif /* MCT_USE_ARM_OPS */
