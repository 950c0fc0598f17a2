/* arm/add_s8.c - Cortex-M4/M7 int8 elementwise add, same name and results as ops/add_s8.c (TFLite's int8
   ADD); selected with -DMCT_USE_ARM_OPS. No scratch memory.

   The reference rescales each input with a full MultiplyByQuantizedMultiplier and the sum with a third
   (~130 instructions per element on the board). Here every rescale is a closed form set up once per call:
   - An input is EXACT when its rescale loses nothing: mct_mbqm((x + off) << ls, m, -e) = (x + off) * M
     whenever m is a multiple of 2^(31 - ls + e), M = m / 2^(31 - ls + e) (SRDHM of v*M * 2^(31+e) is v*M*2^e
     with nothing to round, and dividing that by 2^e leaves no remainder). TFLite's parameters always make
     one input so: the larger input scale is s / (2 s) = 1/2, m = 2^30, shift 0, M = 2^19.
   - The other is ROUND: the doubled-accumulator form of arm_requant.h (mct_rqd_make / mct_rqd_apply),
     a2 = (x + off) << (ls + 1) = x * 2^(ls+1) + const (one MLA), s = (SMMLAR(a2, m, C) + (a2 >> 31)) >> e.
   - The sum is requantized to the output by the same doubled form with the output offset folded in, which
     wants 2S = 2 s_r + x_e * 2M + 2 off_e M (an ADD with a shifted operand and an MLA).
   Per element: 2 LDRSB, ROUND input MLA + SMMLAR + ADD + ASR, the sum ADD + MLA, the output SMMLAR + ADD +
   ASR + SSAT, STRB: 13 instructions plus the loop (two EXACT inputs: 2 MLA for the whole sum).
   Every bound the closed forms need (no int32 wrap anywhere) is checked here against the worst int8 input;
   parameters that fail it (left shifts, hand-made scales; never TFLite's) take a loop with the hoisted
   mct_rq_apply of arm_requant.h, exact for every parameter the loader accepts. Elements are read before
   their output is written, in order, so out may alias an input, as in the reference. */
#include "../../quant.h"
#include "../ops.h"
#include "arm_dot.h"

#ifdef MCT_USE_ARM_OPS

/* 1 and *mul = M when mct_mbqm((x + off) << ls, m, shift) == (x + off) * M for every x (see the top). */
static int exact_mult(int32_t m, int32_t shift, int32_t ls, int32_t *mul)
{
    *mul = 0;
    if (shift > 0) {
        return 0;
    }
    const int32_t d = 31 - ls - shift; /* 9..62 for ls <= 22 */
    if (d >= 31) {
        return m == 0; /* m < 2^31 */
    }
    if ((m & ((1 << d) - 1)) != 0) {
        return 0;
    }
    *mul = m >> d;
    return 1;
}

/* One call's closed forms: 2S = t1 + x2 * m2x2 + k, where t1 = x1 * m1x2 (input 1 EXACT) or
   2 * mct_rqd_apply(x1 * p1 + a1, &r1) (ROUND: x1 * p1 + a1 = (x1 + off1) << (ls + 1)); input 2 is EXACT
   and k holds both EXACT inputs' offset terms 2 * off * M. */
typedef struct {
    int32_t m1x2, p1, a1;
    mct_rqd_t r1;
    int32_t m2x2, k;
    mct_rqd_t out;
    int32_t lo, hi;
} add_k_t;

static MCT_ALWAYS_INLINE void add_loop(const add_k_t *k, uint32_t n, const int8_t *in1, const int8_t *in2,
                                       int8_t *out, int round1, int sat8)
{
    for (uint32_t i = 0; i < n; ++i) {
        const int32_t x1 = in1[i];
        const int32_t t1 = round1 ? 2 * mct_rqd_apply(x1 * k->p1 + k->a1, &k->r1) : x1 * k->m1x2;
        const int32_t v = mct_rqd_apply(t1 + (in2[i] * k->m2x2 + k->k), &k->out);
        out[i] = (int8_t)(sat8 ? mct_ssat8(v) : mct_clamp(v, k->lo, k->hi));
    }
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* add_loop(ROUND, sat8) for TFLite's constants, left_shift 20 and the EXACT input's M = 2^19 (the larger
   scale's multiplier 1/2), with the whole int8 range as the clamp (an ADD without activation), over the
   first n & ~3 elements; returns how many it did. GCC's add_loop keeps 3 of the 14 values it needs per
   element on the stack (17 instructions); written out with the two shifts as immediates (a2 = a1 + x1 << 21,
   2 s_e + k = k + x2 << 20) they fit the registers: 13, 4 elements per loop test. Identical arithmetic to
   add_loop (host-tested); on the board the bench checks it against the host engine op by op. */
#define ADD_STEP                                                                                           \
    "ldrsb  %[t0], [%[p1]], #1\n\t"           /* x1 */                                                 \
    "add    %[t0], %[a1], %[t0], lsl #21\n\t" /* a2 = (x1 + off1) << 21 */                             \
    "smmlar %[t1], %[t0], %[m1], %[c1]\n\t"   /* SRDHM + C */                                          \
    "add    %[t1], %[t1], %[t0], asr #31\n\t" /* ties away from zero */                                \
    "asr    %[t1], %[t1], %[e1]\n\t"          /* s1 */                                                 \
    "ldrsb  %[t0], [%[p2]], #1\n\t"           /* x2 */                                                 \
    "add    %[t0], %[k], %[t0], lsl #20\n\t"  /* 2 s2 + k */                                           \
    "add    %[t0], %[t0], %[t1], lsl #1\n\t"  /* 2S */                                                 \
    "smmlar %[t1], %[t0], %[mo], %[co]\n\t"   /* the output stage, offset in co */                     \
    "add    %[t1], %[t1], %[t0], asr #31\n\t"                                                            \
    "asr    %[t1], %[t1], %[eo]\n\t"                                                                     \
    "ssat   %[t1], #8, %[t1]\n\t"                                                                        \
    "strb   %[t1], [%[po]], #1\n\t"

/* noinline: in its own frame nothing else competes for the 14 registers the loop needs */
static __attribute__((noinline)) uint32_t add_tflite_asm(const add_k_t *k, uint32_t n, const int8_t *in1,
                                                         const int8_t *in2, int8_t *out)
{
    const uint32_t done = n & ~3u;
    if (done != 0) {
        const int8_t *const end = in1 + done;
        int32_t t0, t1;
        __asm volatile("1:\n\t" ADD_STEP ADD_STEP ADD_STEP ADD_STEP
                       "cmp    %[p1], %[end]\n\t"
                       "bne    1b\n\t"
                       : [p1] "+r"(in1), [p2] "+r"(in2), [po] "+r"(out), [t0] "=&r"(t0), [t1] "=&r"(t1)
                       : [end] "r"(end), [a1] "r"(k->a1), [m1] "r"(k->r1.mult), [c1] "r"(k->r1.c),
                         [e1] "r"(k->r1.e), [k] "r"(k->k), [mo] "r"(k->out.mult), [co] "r"(k->out.c),
                         [eo] "r"(k->out.e)
                       : "cc", "memory");
    }
    return done;
}
#endif

/* Any parameters: the reference's arithmetic with the per-call work of each rescale hoisted. */
static void add_general(const mct_add_params_t *p, uint32_t n, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    const mct_rq_t r1 = mct_rq_make(p->input1_multiplier, p->input1_shift);
    const mct_rq_t r2 = mct_rq_make(p->input2_multiplier, p->input2_shift);
    const mct_rq_t ro = mct_rq_make(p->output_multiplier, p->output_shift);
    const uint32_t ls = (uint32_t)p->left_shift;
    for (uint32_t i = 0; i < n; ++i) {
        const int32_t s1 = mct_rq_apply((int32_t)((uint32_t)(in1[i] + p->input1_offset) << ls), &r1);
        const int32_t s2 = mct_rq_apply((int32_t)((uint32_t)(in2[i] + p->input2_offset) << ls), &r2);
        out[i] = mct_rq_out(mct_wrap_add(s1, s2), &ro, MCT_RQ_GENERAL, p->output_offset, p->act_min, p->act_max);
    }
}

/* Input 1 (offset off1, multiplier m1 / shift sh1; EXACT with M = mul1 when exact1), input 2 EXACT (off2,
   mul2): the constants of add_loop, 0 if a bound fails. |S| <= b1 + b2 (the most either rescaled input can
   be) < 2^30 makes 2S, and every partial sum of it, fit an int32 (mct_rqd_make refuses more). */
static int setup(const mct_add_params_t *p, int32_t off1, int32_t m1, int32_t sh1, int exact1, int32_t mul1,
                 int32_t off2, int32_t mul2, add_k_t *k)
{
    const int32_t ls = p->left_shift;
    int64_t b1 = (int64_t)mct_max_abs_off(off1) * mul1; /* EXACT */
    if (!exact1) {
        const int64_t acc_bound = (int64_t)mct_max_abs_off(off1) << ls; /* |(x + off1) << ls| */
        if (!mct_rqd_make(m1, sh1, 0, acc_bound, &k->r1)) {
            return 0;
        }
        b1 = ((acc_bound * m1) >> 31) + 1; /* >= |SRDHM|, which RDBPOT does not increase */
        k->p1 = (int32_t)1 << (ls + 1);
        k->a1 = (int32_t)((uint32_t)off1 << (ls + 1)); /* fits: |off1| < max|x + off1| */
    }
    const int64_t b2 = (int64_t)mct_max_abs_off(off2) * mul2;
    if (!mct_rqd_make(p->output_multiplier, p->output_shift, p->output_offset, b1 + b2, &k->out)) {
        return 0;
    }
    k->m1x2 = exact1 ? 2 * mul1 : 0;
    k->m2x2 = 2 * mul2;
    k->k = 2 * ((exact1 ? off1 * mul1 : 0) + off2 * mul2);
    return 1;
}

void mct_add_s8(const mct_add_params_t *p, uint32_t n, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    int32_t mul1, mul2;
    const int e1 = exact_mult(p->input1_multiplier, p->input1_shift, p->left_shift, &mul1);
    const int e2 = exact_mult(p->input2_multiplier, p->input2_shift, p->left_shift, &mul2);
    add_k_t k;
    k.lo = p->act_min;
    k.hi = p->act_max;
    const int sat8 = (k.lo == -128 && k.hi == 127);
    int ok = 0;
    if (e2) {
        ok = setup(p, p->input1_offset, p->input1_multiplier, p->input1_shift, e1, mul1, p->input2_offset, mul2, &k);
    } else if (e1) { /* the sum commutes: the EXACT input second */
        ok = setup(p, p->input2_offset, p->input2_multiplier, p->input2_shift, 0, 0, p->input1_offset, mul1, &k);
        if (ok) {
            const int8_t *t = in1;
            in1 = in2;
            in2 = t;
        }
    }
    if (!ok) {
        add_general(p, n, in1, in2, out);
    } else if (e1 && e2) {
        if (sat8) {
            add_loop(&k, n, in1, in2, out, 0, 1);
        } else {
            add_loop(&k, n, in1, in2, out, 0, 0);
        }
    } else if (sat8) {
        uint32_t i = 0;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
        if (p->left_shift == 20 && k.m2x2 == (1 << 20)) {
            i = add_tflite_asm(&k, n, in1, in2, out);
        }
#endif
        add_loop(&k, n - i, in1 + i, in2 + i, out + i, 1, 1);
    } else {
        add_loop(&k, n, in1, in2, out, 1, 0);
    }
}

#endif /* MCT_USE_ARM_OPS */
