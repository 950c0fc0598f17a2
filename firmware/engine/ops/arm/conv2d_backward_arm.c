/* arm/conv2d_backward_arm.c - Cortex-M4/M7 CONV_2D input gradient in int mode, same name and results as
   mct_conv2d_grad_input_int in ops/conv2d_backward.c; selected with -DMCT_USE_ARM_OPS. The fp32 mode stays on
   the reference: a float sum is reproducible only in the reference's order.

   acc[in][ci] = sum over (output position, tap, oc) of w[oc][tap][ci] * g2[pos][oc]. Every term is an int32
   product and the sum wraps mod 2^32 exactly as the reference's does, so any order gives the same bits. For
   one tap this is a matrix product (positions x Co) . (Co x Ci) reduced over Co, so SMLAD needs pairs of
   OUTPUT channels in both operands:
   - g2 = mul_shift(gy, mult, shift) is formed once per element (as in the reference) into an int16 block on
     the stack, [position][channel pair]: one word is a pair. The headroom rule bounds |g2| by 2^15; an element
     that still does not fit int16 (only hostile parameters) is scattered by a scalar loop instead.
   - the weights w[oc][tap][ci..ci+3] of two channels are interleaved into 4 lane-pair words once per block
     of positions (2 LDR, 4 SXTB16, 4 PKHBT/PKHTB), then reused by every position of the block.
   - per position and 4 input channels: 4 accumulators; per 2 channel pairs LDRD (g2) + 2 LDM (weights) +
     8 SMLAD = 11 instructions for 16 MACs.
   Blocks are GI_POS positions x GI_CH channels; channels whose gradient is zero at every position of a block
   (masked by the activation clamp) are left out. Taps and padding: each tap adds into the input pixel it
   reads, for the positions whose window has that tap inside the input (padded taps contribute nothing, as in
   the reference). Any geometry and channel count takes this path (Ci % 4 channels by a 1-channel loop).
   Stack: ~1.7 KB (the g2 block 768 B, the interleaved weights 256 B). */
#include <string.h>

#include "../../train_math.h"
#include "../train_ops.h"
#include "arm_common.h"

#ifdef MCT_USE_ARM_OPS

#define GI_POS 12              /* output positions per block: the interleaved weights are reused this often */
#define GI_CH 32               /* output channels per chunk (multiple of 4): acc is read and written once per chunk */
#define GI_PAIRS (GI_CH / 2)   /* words of g2 per position */

#if defined(__GNUC__)
#define MCT_NOINLINE __attribute__((noinline))
#else
#define MCT_NOINLINE
#endif

typedef struct {
    const mct_filter_t *f;
    int32_t ci, per, k_h, k_w, in_h, in_w;
} ctx_t;

/* lanes (bottom of a, bottom of b) and (top of a, top of b): PKHBT / PKHTB */
static MCT_ALWAYS_INLINE uint32_t pair_lo(uint32_t a, uint32_t b)
{
    return (a & 0xFFFFu) | (b << 16);
}

static MCT_ALWAYS_INLINE uint32_t pair_hi(uint32_t a, uint32_t b)
{
    return (a >> 16) | (b & 0xFFFF0000u);
}

/* w[j][c] = (row 2j, row 2j+1) at input channel o + c, c < 4 */
static void pack4(const int8_t *const *rows, int32_t pairs, int32_t o, uint32_t *w)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    /* GCC builds the lane pairs with UXTH/ORR/shifts (24 instructions per pair); PKHBT/PKHTB and one STM make
       it 14. STM stores in register-number order, so t0..t3 are pinned (as in tile4). */
    register uint32_t t0 __asm("r4"), t1 __asm("r5"), t2 __asm("r6"), t3 __asm("r8");
    const int8_t *const *const end = rows + 2 * pairs;
    uint32_t va, vb;
    __asm volatile(
        "1:\n\t"
        "ldrd   %[va], %[vb], [%[rows]], #8\n\t"
        "ldr    %[va], [%[va], %[o]]\n\t"           /* row a, channels o..o+3 (LDR allows unaligned) */
        "ldr    %[vb], [%[vb], %[o]]\n\t"
        "sxtb16 %[t0], %[va]\n\t"                   /* a: c0 | c2 */
        "sxtb16 %[t1], %[va], ror #8\n\t"           /* a: c1 | c3 */
        "sxtb16 %[va], %[vb]\n\t"                   /* b: c0 | c2 */
        "sxtb16 %[vb], %[vb], ror #8\n\t"           /* b: c1 | c3 */
        "pkhtb  %[t2], %[va], %[t0], asr #16\n\t"   /* a c2 | b c2 */
        "pkhtb  %[t3], %[vb], %[t1], asr #16\n\t"   /* a c3 | b c3 */
        "pkhbt  %[t0], %[t0], %[va], lsl #16\n\t"   /* a c0 | b c0 */
        "pkhbt  %[t1], %[t1], %[vb], lsl #16\n\t"   /* a c1 | b c1 */
        "stm    %[w]!, {%[t0], %[t1], %[t2], %[t3]}\n\t"
        "cmp    %[rows], %[end]\n\t"
        "bne    1b\n\t"
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [va] "=&r"(va), [vb] "=&r"(vb),
          [rows] "+r"(rows), [w] "+r"(w)
        : [o] "r"(o), [end] "r"(end)
        : "cc", "memory");
#else
    for (int32_t j = 0; j < pairs; ++j, w += 4) {
        const uint32_t va = mct_load4(rows[2 * j] + o), vb = mct_load4(rows[2 * j + 1] + o);
        const uint32_t a02 = mct_sxtb16(va), a13 = mct_sxtb16_ror8(va);
        const uint32_t b02 = mct_sxtb16(vb), b13 = mct_sxtb16_ror8(vb);
        w[0] = pair_lo(a02, b02);
        w[1] = pair_lo(a13, b13);
        w[2] = pair_hi(a02, b02);
        w[3] = pair_hi(a13, b13);
    }
#endif
}

/* w[j] = (row 2j, row 2j+1) at input channel o (the last Ci % 4 channels) */
static void pack1(const int8_t *const *rows, int32_t pairs, int32_t o, uint32_t *w)
{
    for (int32_t j = 0; j < pairs; ++j) {
        w[j] = pair_lo((uint32_t)(int32_t)rows[2 * j][o], (uint32_t)(int32_t)rows[2 * j + 1][o]);
    }
}

static MCT_ALWAYS_INLINE void dot1(int32_t *acc, const uint32_t *w, const uint32_t *g, int32_t pairs)
{
    int32_t a = *acc;
    for (int32_t j = 0; j < pairs; ++j) {
        a = mct_smlad(w[j], g[j], a);
    }
    *acc = a;
}

/* Offset in acc of the pixel tap (ky, kx) of the window at (sy, sx) reads, or -1 when it is padding. */
static MCT_ALWAYS_INLINE int32_t tap_pixel(const ctx_t *cx, int32_t sy, int32_t sx, int32_t ky, int32_t kx)
{
    const int32_t iy = sy + ky, ix = sx + kx;
    if (iy < 0 || iy >= cx->in_h || ix < 0 || ix >= cx->in_w) {
        return -1;
    }
    return (iy * cx->in_w + ix) * cx->ci;
}

/* One gradient element outside int16 (not produced by the compiler's headroom rule): plain scatter. The
   product is formed in uint32, which is the wrapped int32 product. */
static void scatter_wide(const ctx_t *cx, int32_t sy, int32_t sx, const int8_t *row, int32_t g2, int32_t *acc)
{
    for (int32_t ky = 0; ky < cx->k_h; ++ky) {
        for (int32_t kx = 0; kx < cx->k_w; ++kx) {
            const int32_t in = tap_pixel(cx, sy, sx, ky, kx);
            if (in < 0) {
                continue;
            }
            const int8_t *w = row + (ky * cx->k_w + kx) * cx->ci;
            for (int32_t c = 0; c < cx->ci; ++c) {
                acc[in + c] = (int32_t)((uint32_t)acc[in + c] + (uint32_t)(int32_t)w[c] * (uint32_t)g2);
            }
        }
    }
}

/* A position of a block whose window has the current tap inside the input: the accumulators of the pixel
   that tap reads and the position's g2 row. */
typedef struct {
    int32_t *acc;
    const uint32_t *g2;
} hit_t;

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* tile4's unrolled loop: GI_BODIES bodies of 2 channel pairs, it runs the last pairs / 2 of them */
#define GI_BODIES 8
typedef char mct_assert_gi_bodies[(GI_PAIRS <= 2 * GI_BODIES) ? 1 : -1];

/* 2 channel pairs: 8 MACs per pair into 4 accumulators (weight word c of a pair -> input channel c) */
#define GI_BODY2                                                                                                  \
    "ldrd   %[g0], %[g1], [%[gp]], #8\n\t"                                                                         \
    "ldm    %[w]!, {%[t0], %[t1], %[t2], %[t3]}\n\t"                                                              \
    "smlad  %[a0], %[t0], %[g0], %[a0]\n\t"                                                                        \
    "smlad  %[a1], %[t1], %[g0], %[a1]\n\t"                                                                        \
    "smlad  %[a2], %[t2], %[g0], %[a2]\n\t"                                                                        \
    "smlad  %[a3], %[t3], %[g0], %[a3]\n\t"                                                                        \
    "ldm    %[w]!, {%[t0], %[t1], %[t2], %[t3]}\n\t"                                                              \
    "smlad  %[a0], %[t0], %[g1], %[a0]\n\t"                                                                        \
    "smlad  %[a1], %[t1], %[g1], %[a1]\n\t"                                                                        \
    "smlad  %[a2], %[t2], %[g1], %[a2]\n\t"                                                                        \
    "smlad  %[a3], %[t3], %[g1], %[a3]\n\t"
#endif

/* For each hit: acc[c..c+3] += sum_j w[j][0..3] . g2[j] over `pairs` channel pairs (even, <= GI_PAIRS). */
static MCT_NOINLINE void tile4(const hit_t *h, int32_t n, int32_t c, const uint32_t *w, int32_t pairs)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    /* GCC's loop is 12 instructions per pair (4 LDR for the weight words) and it spills its position loop
       around a 14-register inner loop. Here: per 2 pairs LDRD (g2) + 2 LDM (weights) + 8 SMLAD = 11, fully
       unrolled (entered by TBB at the body that leaves pairs / 2 to run, so no loop counter), the position
       loop in the same block with its state in memory (st), the accumulators moved by one LDM / STM.
       LDM / STM transfer in register-number order, so the registers are pinned. */
    struct {
        const hit_t *h;
        int32_t c4;
        const uint32_t *w;
        int32_t entry;
        const hit_t *end;
    } st = {h, 4 * c, w, GI_BODIES - pairs / 2, h + n};
    register int32_t a0 __asm("r0"), a1 __asm("r1"), a2 __asm("r2"), a3 __asm("r3");
    register uint32_t t0 __asm("r4"), t1 __asm("r5"), t2 __asm("r6"), t3 __asm("r8");
    uint32_t g0, g1;
    int32_t *acc;
    const uint32_t *gp, *wp;
    __asm volatile(
        "1:\n\t"
        "ldr    %[t0], [%[st]]\n\t"                 /* next hit */
        "ldrd   %[acc], %[gp], [%[t0]], #8\n\t"
        "str    %[t0], [%[st]]\n\t"
        "ldr    %[t1], [%[st], #4]\n\t"
        "add    %[acc], %[acc], %[t1]\n\t"
        "ldm    %[acc], {%[a0], %[a1], %[a2], %[a3]}\n\t"
        "ldr    %[w], [%[st], #8]\n\t"
        "ldr    %[t1], [%[st], #12]\n\t"
        "tbb    [pc, %[t1]]\n\t"
        "2:\n\t"
        ".byte  (10f - 2b) / 2, (11f - 2b) / 2, (12f - 2b) / 2, (13f - 2b) / 2\n\t"
        ".byte  (14f - 2b) / 2, (15f - 2b) / 2, (16f - 2b) / 2, (17f - 2b) / 2\n\t"
        ".align 1\n\t"
        "10:\n\t" GI_BODY2
        "11:\n\t" GI_BODY2
        "12:\n\t" GI_BODY2
        "13:\n\t" GI_BODY2
        "14:\n\t" GI_BODY2
        "15:\n\t" GI_BODY2
        "16:\n\t" GI_BODY2
        "17:\n\t" GI_BODY2
        "stm    %[acc], {%[a0], %[a1], %[a2], %[a3]}\n\t"
        "ldr    %[t0], [%[st]]\n\t"
        "ldr    %[t1], [%[st], #16]\n\t"
        "cmp    %[t0], %[t1]\n\t"
        "bne    1b\n\t"
        : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [t0] "=&r"(t0), [t1] "=&r"(t1),
          [t2] "=&r"(t2), [t3] "=&r"(t3), [g0] "=&r"(g0), [g1] "=&r"(g1), [acc] "=&r"(acc), [gp] "=&r"(gp),
          [w] "=&r"(wp)
        : [st] "r"(&st)
        : "cc", "memory");
#else
    for (int32_t i = 0; i < n; ++i) {
        int32_t *acc = h[i].acc + c;
        const uint32_t *g = h[i].g2, *wp = w;
        int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
        for (int32_t j = 0; j < pairs; ++j, wp += 4) {
            const uint32_t gv = g[j];
            a0 = mct_smlad(wp[0], gv, a0);
            a1 = mct_smlad(wp[1], gv, a1);
            a2 = mct_smlad(wp[2], gv, a2);
            a3 = mct_smlad(wp[3], gv, a3);
        }
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
    }
#endif
}

/* Adds one chunk (pairs channel pairs, g2 for np positions) into acc, tap by tap. */
static MCT_NOINLINE void chunk(const ctx_t *cx, const int8_t *const *rows, int32_t pairs, const uint32_t *g2,
                               int32_t np, const int32_t *sy, const int32_t *sx, uint32_t *w, int32_t *acc)
{
    hit_t h[GI_POS];
    for (int32_t ky = 0; ky < cx->k_h; ++ky) {
        for (int32_t kx = 0; kx < cx->k_w; ++kx) {
            int32_t n = 0;
            for (int32_t p = 0; p < np; ++p) {
                const int32_t in = tap_pixel(cx, sy[p], sx[p], ky, kx);
                if (in >= 0) {
                    h[n].acc = acc + in;
                    h[n++].g2 = g2 + p * GI_PAIRS;
                }
            }
            if (n == 0) {
                continue; /* the tap is padding for the whole block: no weights to interleave */
            }
            const int32_t tap = (ky * cx->k_w + kx) * cx->ci;
            int32_t c = 0;
            for (; c + 4 <= cx->ci; c += 4) {
                pack4(rows, pairs, tap + c, w);
                tile4(h, n, c, w, pairs);
            }
            for (; c < cx->ci; ++c) {
                pack1(rows, pairs, tap + c, w);
                for (int32_t i = 0; i < n; ++i) {
                    dot1(h[i].acc + c, w, h[i].g2, pairs);
                }
            }
        }
    }
}

/* Stores g2 as channel n of one position's row; row words are lane pairs in memory order (little-endian,
   as the Cortex-M and the host test build: the lower address is the bottom lane). */
static MCT_ALWAYS_INLINE void put_g2(uint32_t *row, int32_t n, int32_t v)
{
    const int16_t h = (int16_t)v;
    memcpy((uint8_t *)row + 2 * n, &h, 2);
}

/* g2 = mct_mul_shift(g, m, shift) of one channel at np positions (gy stride co) into one column of the
   block (col: its bytes in row 0), for shift in [-31, 0], the range of every channel the headroom rule scales
   (s_w[o] < 1, k <= 0). With n = 31 - shift, |g * m| < 2^46: no saturation, and the result fits int16.
   round_shift(g * m, n) = floor((2g * m + 2^n) / 2^(n + 1)); for shift < 0, 2^n is a multiple of 2^32, so
   it is (hi32(2g * m) + 2^(n - 32)) >> (n - 31): SMULL, ADD, ASR. shift 0: hi32(2g * m + 2^31).
   Returns nonzero when any g2 is. */
static MCT_ALWAYS_INLINE int32_t gather(const int16_t *gp, int32_t co, int32_t np, int32_t m, int32_t shift,
                                        uint8_t *col)
{
    int32_t any = 0;
    if (shift == 0) {
        for (int32_t p = 0; p < np; ++p, gp += co, col += 4 * GI_PAIRS) {
            const int32_t v = (int32_t)((((int64_t)(2 * *gp) * m) + 0x80000000LL) >> 32);
            const int16_t h = (int16_t)v;
            any |= v;
            memcpy(col, &h, 2);
        }
    } else {
        const int32_t sh = -shift, bias = (int32_t)1 << (sh - 1);
        for (int32_t p = 0; p < np; ++p, gp += co, col += 4 * GI_PAIRS) {
            const int32_t v = ((int32_t)(((int64_t)(2 * *gp) * m) >> 32) + bias) >> sh;
            const int16_t h = (int16_t)v;
            any |= v;
            memcpy(col, &h, 2);
        }
    }
    return any;
}

/* The block's gradient source: gy rows of its np positions (from gb, stride co) and the window origins. */
typedef struct {
    const int16_t *gb;
    int32_t co, np;
    const int32_t *mult, *shift, *sy, *sx;
} block_t;

/* Fills a chunk from channel *oc on: g2 of the next (up to GI_CH) channels that are nonzero somewhere in the
   block, their filter rows, padded to a multiple of 4 channels (an even number of pairs for tile4) with zero
   gradients (any row does: it is multiplied by 0). Returns the channel count; *oc is the next channel. */
static MCT_NOINLINE int32_t fill(const ctx_t *cx, const block_t *b, int32_t *oc_io, uint32_t *g2,
                                 const int8_t **rows, int32_t *acc)
{
    int32_t n = 0, oc = *oc_io;
    for (; oc < b->co && n < GI_CH; ++oc) {
        const int16_t *gp = b->gb + oc;
        const int32_t m = b->mult[oc], sh = b->shift[oc];
        int32_t any = 0;
        if (sh >= -31 && sh <= 0) {
            any = gather(gp, b->co, b->np, m, sh, (uint8_t *)g2 + 2 * n);
        } else {
            for (int32_t p = 0; p < b->np; ++p, gp += b->co) {
                /* off the headroom rule (hostile words): g2 may not fit int16 */
                int32_t v = (*gp != 0) ? mct_mul_shift(*gp, m, sh) : 0;
                if (v != (int32_t)(int16_t)v) {
                    scatter_wide(cx, b->sy[p], b->sx[p], mct_filter_row(cx->f, oc, cx->per), v, acc);
                    v = 0;
                }
                any |= v;
                put_g2(g2 + p * GI_PAIRS, n, v);
            }
        }
        if (any != 0) { /* else column n is overwritten by the next channel */
            rows[n++] = mct_filter_row(cx->f, oc, cx->per);
        }
    }
    *oc_io = oc;
    for (; (n & 3) != 0; ++n) {
        for (int32_t p = 0; p < b->np; ++p) {
            put_g2(g2 + p * GI_PAIRS, n, 0);
        }
        rows[n] = rows[n - 1];
    }
    return n;
}

void mct_conv2d_grad_input_int(const mct_geom_t *g, const mct_dims_t *gy_dims, const int16_t *gy,
                               const mct_dims_t *f_dims, const mct_filter_t *f, const int32_t *mult,
                               const int32_t *shift, const mct_dims_t *x_dims, int32_t *acc)
{
    const ctx_t cx = {f, x_dims->c, f_dims->h * f_dims->w * x_dims->c, f_dims->h, f_dims->w, x_dims->h,
                      x_dims->w};
    const int32_t out_w = gy_dims->w, positions = gy_dims->h * gy_dims->w;
    uint32_t g2[GI_POS * GI_PAIRS];
    uint32_t w[GI_PAIRS * 4];
    const int8_t *rows[GI_CH];
    int32_t sy[GI_POS], sx[GI_POS];
    block_t b = {gy, gy_dims->c, 0, mult, shift, sy, sx};
    int32_t oy = 0, ox = 0;
    mct_zero_i32((uint32_t)(x_dims->h * x_dims->w * x_dims->c), acc);
    for (int32_t p0 = 0; p0 < positions; p0 += GI_POS) {
        b.np = (positions - p0 < GI_POS) ? positions - p0 : GI_POS;
        b.gb = gy + p0 * b.co;
        for (int32_t p = 0; p < b.np; ++p) { /* window origins (negative inside the leading padding) */
            sy[p] = oy * g->stride_h - g->pad_h;
            sx[p] = ox * g->stride_w - g->pad_w;
            if (++ox == out_w) {
                ox = 0;
                ++oy;
            }
        }
        for (int32_t oc = 0; oc < b.co;) {
            const int32_t n = fill(&cx, &b, &oc, g2, rows, acc);
            if (n != 0) {
                chunk(&cx, rows, n / 2, g2, b.np, sy, sx, w, acc);
            }
        }
    }
}

#endif /* MCT_USE_ARM_OPS */
