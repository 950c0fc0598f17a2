/* arm/conv2d_s8.c - Cortex-M4/M7 int8 convolution, same name and results as ops/conv2d_s8.c;
   selected with -DMCT_USE_ARM_OPS. No scratch memory.

   A filter wholly in flash is the split-weight kernel with no RAM channels (arm/conv2d_split_s8.c: the 1x1
   GEMM and the general per-pixel loop, inner loops in arm_dot.h), so those shapes are handed to it; one
   copy of the arithmetic, as the reference does.

   Here: few taps per output (kh * kw * cin small, e.g. a first layer 3x3 over 1-4 input channels). The
   general loop spends most of its time on loop control there (a tap row of 3 bytes is a 3-element dot
   product, per channel pair). Instead, per output pixel the whole window is loaded once into int16 lane
   pairs, every tap row as 4-byte chunks: 1 LDR + SXTB16 + SXTB16 ROR 8, lanes (0,2) and (1,3) of the chunk.
   Every output channel of a group then takes the window in one SMLAD per 2 taps against its weights,
   pre-extended once per call into the same lane order (0 for the chunk bytes past the tap row). The
   window stays in registers; the input offset is folded into the bias (off * sum(w)) and a tap in the
   padding loads -off, so it adds (-off + off) * w = 0 as in the reference. Weights and bias are doubled
   so the requantization is the 4-instruction doubled form of arm_requant.h (mct_rqd_make), output
   offset included. */
#include <stddef.h>

#include "../../quant.h"
#include "../train_ops.h"
#include "arm_dot.h"

#ifdef MCT_USE_ARM_OPS

#define SK_MAX_WORDS 18   /* lane words of a window: 3x3 over 4 input channels */
#define SK_TABLE_WORDS 80 /* per-channel records of one channel group, on the stack (320 bytes) */
#define SK_GROUP 8        /* channels per group at most */
#define SK_REC_EXTRA 4    /* a record: base2, the window's weight words, then mult, c, e */

typedef struct {
    const mct_conv_params_t *p;
    const int8_t *in;
    int8_t *out;
    int32_t batches, in_h, in_w, in_c, k_h, k_w, out_h, out_w, out_c;
    int32_t row_len; /* kw * cin: bytes of one tap row */
    int32_t chunks;  /* 4-byte chunks per tap row */
} sk_t;

/* Lane word and lane of byte i of tap row ky (i < 4 * chunks), for rw = 2 * chunks words per row. */
static inline int32_t sk_word(int32_t ky, int32_t rw, int32_t i)
{
    return ky * rw + 2 * (i >> 2) + (i & 1);
}

static inline uint32_t sk_set_lane(uint32_t word, int32_t i, int32_t v)
{
    const uint32_t shift = (uint32_t)(i & 2) << 3; /* bytes 0, 1 -> lane 0; 2, 3 -> lane 1 */
    return (word & ~(0xFFFFu << shift)) | ((uint32_t)(uint16_t)(int16_t)v << shift);
}

/* Channel oc's record at rec: base2 (twice bias + off * sum(w)), the nw weight words (twice the weights),
   then the requantization mult, c, e (mct_rqd_t), in the order the board loop reads them. 0 if the doubled
   requantization does not hold for every accumulator the channel can reach (then the general loop runs the
   whole conv). */
static int sk_record(const sk_t *s, const mct_channel_quant_t *q, const int8_t *filter, const int32_t *bias,
                     int32_t oc, uint32_t *rec)
{
    const int32_t rw = 2 * s->chunks, nw = s->k_h * rw, per = s->k_h * s->row_len;
    const int8_t *w = filter + oc * per;
    int32_t wsum = 0;
    int64_t wabs = 0;
    uint32_t *const wl = rec + 1;
    for (int32_t i = 0; i < nw; ++i) {
        wl[i] = 0;
    }
    for (int32_t ky = 0; ky < s->k_h; ++ky) {
        for (int32_t i = 0; i < s->row_len; ++i) {
            const int32_t v = w[ky * s->row_len + i];
            const int32_t j = sk_word(ky, rw, i);
            wl[j] = sk_set_lane(wl[j], i, 2 * v);
            wsum += v;
            wabs += (v < 0) ? -v : v;
        }
    }
    const int32_t b = (bias != NULL) ? bias[oc] : 0;
    const int64_t bound = ((b < 0) ? -(int64_t)b : (int64_t)b) + wabs * mct_max_abs_off(s->p->input_offset);
    mct_rqd_t r;
    if (!mct_rqd_make(q->multiplier[oc], q->shift[oc], s->p->output_offset, bound, &r)) {
        return 0;
    }
    const int32_t base = mct_wrap_add(b, s->p->input_offset * wsum);
    rec[0] = (uint32_t)base << 1; /* |base| may exceed 2^30 (only the final sum is bounded): wrap */
    rec[nw + 1] = (uint32_t)r.mult;
    rec[nw + 2] = (uint32_t)r.c;
    rec[nw + 3] = (uint32_t)r.e;
    return 1;
}

/* The window of the output pixel whose top-left tap is input (y0, x0) of batch b into x (lane words), any
   position: taps outside the input are -off. */
static void sk_gather_edge(const sk_t *s, int32_t b, int32_t y0, int32_t x0, uint32_t *x)
{
    const int32_t rw = 2 * s->chunks, cin = s->in_c;
    for (int32_t i = 0; i < s->k_h * rw; ++i) {
        x[i] = 0;
    }
    for (int32_t ky = 0; ky < s->k_h; ++ky) {
        const int32_t y = y0 + ky;
        const int y_in = (y >= 0 && y < s->in_h);
        int32_t xx = x0, ci = 0; /* tap row byte i is input channel ci of column xx */
        for (int32_t i = 0; i < s->row_len; ++i) {
            int32_t v = -s->p->input_offset;
            if (y_in && xx >= 0 && xx < s->in_w) {
                v = s->in[((b * s->in_h + y) * s->in_w + xx) * cin + ci];
            }
            const int32_t j = sk_word(ky, rw, i);
            x[j] = sk_set_lane(x[j], i, v);
            if (++ci == cin) {
                ci = 0;
                ++xx;
            }
        }
    }
}

/* The output stage of one channel: acc = 2 * its accumulator, r = the record's mult, c, e. */
static MCT_ALWAYS_INLINE int8_t sk_store(int32_t acc, const uint32_t *r, int32_t lo, int32_t hi, int sat8)
{
    const mct_rqd_t rq = {(int32_t)r[0], (int32_t)r[1], (int32_t)r[2]};
    const int32_t v = mct_rqd_apply(acc, &rq);
    return (int8_t)(sat8 ? mct_ssat8(v) : mct_clamp(v, lo, hi));
}

/* 1 when the window at input (y0, x0) lies in the input and its tap rows' 4-byte chunks (span bytes) do not
   run past the input row, so it is loaded by whole chunks. */
static MCT_ALWAYS_INLINE int sk_inside(const sk_t *s, int32_t y0, int32_t x0, int32_t span)
{
    return y0 >= 0 && y0 + s->k_h <= s->in_h && x0 >= 0 && x0 * s->in_c + span <= s->in_w * s->in_c;
}

static MCT_ALWAYS_INLINE const int8_t *sk_at(const sk_t *s, int32_t b, int32_t y0, int32_t x0)
{
    return s->in + ((b * s->in_h + y0) * s->in_w + x0) * s->in_c;
}

/* Output columns [*ox0, *ox1) of row y0 whose windows sk_inside holds for (empty when none). */
static void sk_columns(const sk_t *s, int32_t y0, int32_t span, int32_t *ox0, int32_t *ox1)
{
    const int32_t sw = s->p->stride_w, pw = s->p->pad_w;
    const int32_t x_max = (s->in_w * s->in_c - span) / s->in_c; /* the last x0 whose chunks fit the row */
    *ox0 = *ox1 = 0;
    if (y0 >= 0 && y0 + s->k_h <= s->in_h && s->in_w * s->in_c >= span) {
        *ox0 = (pw + sw - 1) / sw; /* x0 = ox * sw - pw >= 0 */
        *ox1 = (x_max + pw) / sw + 1;
        *ox1 = (*ox1 > s->out_w) ? s->out_w : *ox1;
        *ox0 = (*ox0 > *ox1) ? *ox1 : *ox0;
    }
}

/* The g channels of one output pixel (records in table) from its window x0l..x2h: 6 SMLAD each. */
static MCT_ALWAYS_INLINE void sk_channels_3x1(uint32_t x0l, uint32_t x0h, uint32_t x1l, uint32_t x1h, uint32_t x2l,
                                              uint32_t x2h, const uint32_t *rec, int32_t g, int8_t *op, int32_t lo,
                                              int32_t hi, int sat8)
{
    int8_t *const end = op + g;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    /* GCC keeps 2-3 of the window words on the stack in the C loop below (25 instructions per channel); with
       the 12 values in registers and the record walked by post-increment loads it is 19. Same arithmetic as
       the C (host-tested); on the board the bench checks it against the host engine op by op. */
    if (sat8) {
        int32_t acc, t0, t1;
        __asm volatile(
            "1:\n\t"
            "ldr    %[acc], [%[rec]], #4\n\t"        /* base2 */
            "ldrd   %[t0], %[t1], [%[rec]], #8\n\t"
            "smlad  %[acc], %[x0l], %[t0], %[acc]\n\t"
            "smlad  %[acc], %[x0h], %[t1], %[acc]\n\t"
            "ldrd   %[t0], %[t1], [%[rec]], #8\n\t"
            "smlad  %[acc], %[x1l], %[t0], %[acc]\n\t"
            "smlad  %[acc], %[x1h], %[t1], %[acc]\n\t"
            "ldrd   %[t0], %[t1], [%[rec]], #8\n\t"
            "smlad  %[acc], %[x2l], %[t0], %[acc]\n\t"
            "smlad  %[acc], %[x2h], %[t1], %[acc]\n\t"
            "ldrd   %[t0], %[t1], [%[rec]], #8\n\t"  /* mult, c */
            "smmlar %[t0], %[acc], %[t0], %[t1]\n\t"
            "ldr    %[t1], [%[rec]], #4\n\t"         /* e */
            "add    %[t0], %[t0], %[acc], asr #31\n\t"
            "asr    %[t0], %[t0], %[t1]\n\t"
            "ssat   %[t0], #8, %[t0]\n\t"
            "strb   %[t0], [%[op]], #1\n\t"
            "cmp    %[op], %[end]\n\t"
            "bne    1b\n\t"
            : [rec] "+r"(rec), [op] "+r"(op), [acc] "=&r"(acc), [t0] "=&r"(t0), [t1] "=&r"(t1)
            : [x0l] "r"(x0l), [x0h] "r"(x0h), [x1l] "r"(x1l), [x1h] "r"(x1h), [x2l] "r"(x2l), [x2h] "r"(x2h),
              [end] "r"(end)
            : "cc", "memory");
        return;
    }
#endif
    for (; op != end; ++op, rec += 6 + SK_REC_EXTRA) {
        int32_t acc = mct_smlad(x0l, rec[1], (int32_t)rec[0]);
        acc = mct_smlad(x0h, rec[2], acc);
        acc = mct_smlad(x1l, rec[3], acc);
        acc = mct_smlad(x1h, rec[4], acc);
        acc = mct_smlad(x2l, rec[5], acc);
        acc = mct_smlad(x2h, rec[6], acc);
        *op = sk_store(acc, rec + 7, lo, hi, sat8);
    }
}

/* An output pixel whose window needs the checked gather (padding, or chunks past the row). */
static MCT_ALWAYS_INLINE void sk_edge_3x1(const sk_t *s, const uint32_t *table, int32_t g, int32_t b, int32_t y0,
                                          int32_t ox, int8_t *op, int sat8)
{
    uint32_t x[6];
    sk_gather_edge(s, b, y0, ox * s->p->stride_w - s->p->pad_w, x);
    sk_channels_3x1(x[0], x[1], x[2], x[3], x[4], x[5], table, g, op, s->p->act_min, s->p->act_max, sat8);
}

/* Every output pixel of channels [c0, c0 + g) (records in table), 3 tap rows of one chunk each (3 x 1..4
   taps of one input channel: a mono first layer, or 3 x 1..2 of two): the window is 6 words held in
   registers, 3 LDR + 6 SXTB16 per pixel, then per channel 6 SMLAD against the record's 6 words. */
static MCT_ALWAYS_INLINE void sk_pixels_3x1(const sk_t *s, const uint32_t *table, int32_t c0, int32_t g,
                                            int sat8)
{
    const mct_conv_params_t *p = s->p;
    const int32_t row_step = s->in_w * s->in_c, step = p->stride_w * s->in_c;
    for (int32_t b = 0; b < s->batches; ++b) {
        for (int32_t oy = 0; oy < s->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            int8_t *op = s->out + ((b * s->out_h + oy) * s->out_w) * s->out_c + c0;
            int32_t ox0, ox1, ox = 0;
            sk_columns(s, y0, 4, &ox0, &ox1);
            for (; ox < ox0; ++ox, op += s->out_c) {
                sk_edge_3x1(s, table, g, b, y0, ox, op, sat8);
            }
            if (ox < ox1) {
                const int8_t *ip = sk_at(s, b, y0, ox * p->stride_w - p->pad_w);
                for (; ox < ox1; ++ox, op += s->out_c, ip += step) {
                    const uint32_t v0 = mct_load4(ip), v1 = mct_load4(ip + row_step);
                    const uint32_t v2 = mct_load4(ip + 2 * row_step);
                    sk_channels_3x1(mct_sxtb16(v0), mct_sxtb16_ror8(v0), mct_sxtb16(v1), mct_sxtb16_ror8(v1),
                                    mct_sxtb16(v2), mct_sxtb16_ror8(v2), table, g, op, p->act_min, p->act_max,
                                    sat8);
                }
            }
            for (; ox < s->out_w; ++ox, op += s->out_c) {
                sk_edge_3x1(s, table, g, b, y0, ox, op, sat8);
            }
        }
    }
}

/* The same for any window of up to SK_MAX_WORDS words (an even count: 2 per chunk), from the stack. */
static void sk_pixels(const sk_t *s, const uint32_t *table, int32_t c0, int32_t g)
{
    const mct_conv_params_t *p = s->p;
    const int32_t rw = 2 * s->chunks, nw = s->k_h * rw, stride = nw + SK_REC_EXTRA;
    const int32_t row_step = s->in_w * s->in_c, span = 4 * s->chunks;
    int8_t *op = s->out + c0;
    for (int32_t b = 0; b < s->batches; ++b) {
        for (int32_t oy = 0; oy < s->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < s->out_w; ++ox, op += s->out_c) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                uint32_t x[SK_MAX_WORDS];
                if (sk_inside(s, y0, x0, span)) {
                    const int8_t *ip = sk_at(s, b, y0, x0);
                    uint32_t *xp = x;
                    for (int32_t ky = 0; ky < s->k_h; ++ky, ip += row_step) {
                        for (int32_t c = 0; c < s->chunks; ++c, xp += 2) {
                            const uint32_t v = mct_load4(ip + 4 * c);
                            xp[0] = mct_sxtb16(v);
                            xp[1] = mct_sxtb16_ror8(v);
                        }
                    }
                } else {
                    sk_gather_edge(s, b, y0, x0, x);
                }
                const uint32_t *rec = table;
                for (int32_t ch = 0; ch < g; ++ch, rec += stride) {
                    int32_t acc = (int32_t)rec[0];
                    for (int32_t i = 0; i < nw; i += 2) {
                        acc = mct_smlad(x[i], rec[1 + i], acc);
                        acc = mct_smlad(x[i + 1], rec[2 + i], acc);
                    }
                    op[ch] = sk_store(acc, rec + 1 + nw, p->act_min, p->act_max, 0);
                }
            }
        }
    }
}

static void sk_group(const sk_t *s, const uint32_t *table, int32_t c0, int32_t g)
{
    if (s->k_h == 3 && s->chunks == 1) {
        if (s->p->act_min == -128 && s->p->act_max == 127) {
            sk_pixels_3x1(s, table, c0, g, 1);
        } else {
            sk_pixels_3x1(s, table, c0, g, 0);
        }
    } else {
        sk_pixels(s, table, c0, g);
    }
}

/* 0 when the shape or the parameters do not suit the small-window path (nothing written then). */
static int small_window(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                        const int8_t *in, const mct_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                        const mct_dims_t *out_dims, int8_t *out)
{
    const sk_t s = {p, in, out, out_dims->n, in_dims->h, in_dims->w, in_dims->c, filter_dims->h, filter_dims->w,
                    out_dims->h, out_dims->w, out_dims->c, filter_dims->w * in_dims->c,
                    (filter_dims->w * in_dims->c + 3) / 4};
    const int32_t nw = s.k_h * 2 * s.chunks;
    if (nw > SK_MAX_WORDS || s.out_c < 1) {
        return 0;
    }
    const int32_t stride = nw + SK_REC_EXTRA;
    const int32_t g_max = (SK_TABLE_WORDS / stride < SK_GROUP) ? SK_TABLE_WORDS / stride : SK_GROUP;
    uint32_t table[SK_TABLE_WORDS];
    for (int32_t oc = 0; oc < s.out_c; ++oc) { /* every channel must qualify before any output is written */
        if (!sk_record(&s, q, filter, bias, oc, table)) {
            return 0;
        }
    }
    for (int32_t c0 = 0; c0 < s.out_c; c0 += g_max) {
        const int32_t g = (s.out_c - c0 < g_max) ? s.out_c - c0 : g_max;
        for (int32_t ch = 0; ch < g; ++ch) {
            (void)sk_record(&s, q, filter, bias, c0 + ch, table + ch * stride);
        }
        sk_group(&s, table, c0, g);
    }
    return 1;
}

void mct_conv2d_s8(const mct_conv_params_t *p, const mct_channel_quant_t *q, const mct_dims_t *in_dims,
                   const int8_t *in, const mct_dims_t *filter_dims, const int8_t *filter, const int32_t *bias,
                   const mct_dims_t *out_dims, int8_t *out)
{
    const int pointwise = filter_dims->h == 1 && filter_dims->w == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                          p->pad_h == 0 && p->pad_w == 0;
    if (!pointwise && small_window(p, q, in_dims, in, filter_dims, filter, bias, out_dims, out)) {
        return;
    }
    const mct_filter_t f = {filter, NULL, 0};
    mct_conv2d_split_s8(p, q, in_dims, in, filter_dims, &f, bias, out_dims, out);
}

#endif /* MCT_USE_ARM_OPS */
