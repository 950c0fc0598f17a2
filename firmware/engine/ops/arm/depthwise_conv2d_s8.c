/* arm/depthwise_conv2d_s8.c - Cortex-M4/M7 int8 depthwise convolution, same name and results as
   ops/depthwise_conv2d_s8.c; selected with -DMCT_USE_ARM_OPS. No scratch memory.

   3x3 kernels (any stride, any padding), depth multiplier 1 or a multiple of 4, output channels in
   groups of 4. Each group is done as two "units" of 2 channels, ch = (oc + l, oc + l + 2), l = 0, 1:
   SXTB16 (ROR #8 for l = 1) of a 4-channel input word puts exactly a unit's two channels in the
   two 16-bit lanes, and SMLABB / SMLATT multiply each lane by its weight. (With a depth multiplier
   that is a multiple of 4 the group shares one input channel: LDRSB, then SMLABB / SMLABT.)
   A unit is the OUTER loop: its weights (one lane word per tap), bias + input-offset term and
   requantization constants are set up once for all its pixels.

   Pixels go in horizontal blocks of 4 (then 2, then 1): 8 accumulators, the 3 weight words of one
   tap row, and each input column of the block loaded and extended ONCE and multiplied into every
   output that uses it. Stride 1, per tap row: 6 LDR + 6 SXTB16 + 24 SMLAxy for 24 MACs (the old
   one-pixel loop: 12 LDR + 6 SXTB16 + 24 SMLAxy, plus spills). That takes all 14 registers, so a
   whole run of blocks (MACs, requantization, stores, both loops) is one asm block; its other
   state lives in a stack struct (run_t) that it reads as [sp, #imm]. The host build runs a C
   version of the same arithmetic (tested against the reference kernels); the asm is checked on the
   emulated board by the kernel bench, op by op.

   Requantization in 4 instructions per output (SMMLAR, ADD, ASR, SSAT): the weights and the bias
   are doubled, the output offset and the rounding folded into one constant (mct_rqd_t,
   arm_requant.h). A clamp narrower than int8 costs 6 more. Units where the form does not hold (a
   multiplier >= 1, a bias near 2^30) take a per-pixel C path with the general requantization.

   Padding: the input offset is folded into the bias as off * (sum of the 9 weights), so a padded
   tap must contribute -off * w = zp * w. For padded tap rows, and for the one padded tap column of
   the first / last output column, that is a per-channel constant added to the accumulator's start
   value, and the kernel reads and multiplies only taps inside the image. Output rows are done in
   bands with the same valid tap rows (the top rows, the middle, the bottom rows); the plan of asm
   runs per band (plan_t) is made once per layer. Anything else (2 or more padded tap columns, an
   image narrower than 2) goes through the per-pixel C path, which multiplies the zero point.
   Other kernel sizes, channel tails, other depth multipliers and an offset that is not an int8
   zero point take the plain per-channel loop. */
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

/* One unit: output channels ch[0] = oc + l, ch[1] = oc + l + 2. */
typedef struct {
    uint32_t w[15];   /* per tap (ky * 3 + kx): the weights of ch[0], ch[1] in lanes 0, 1 (x2 if fast);
                         6 more words so that 9 can be copied from any tap row */
    int32_t base[2];  /* bias + off * (sum of the 9 weights) (x2 if fast) */
    mct_rqd_t rqd[2]; /* fast requantization (doubled accumulators) */
    mct_rq_t r[2];    /* general requantization (not fast) */
    int fast;
} unit_t;

/* The loop of one asm run: `rows` output rows x `ninit` blocks. The same for every unit. */
typedef struct {
    int32_t n;     /* blocks left in this row, >= 1 */
    int32_t ninit; /* blocks per row */
    int32_t rows;  /* rows left, >= 1 */
    int32_t prs;   /* p step from the end of a row of blocks to the start of the next */
    int32_t ors;   /* the same for op (LDRD with prs) */
    int32_t rs;    /* p step from one tap row to the next, after the row's own p moves */
    int32_t bstep; /* p step from one block to the next */
    int32_t oc;    /* op step from one pixel to the next */
} loop_t;

/* State of one asm run, on the stack: the asm reads every field as [sp, #imm]. */
typedef struct {
    loop_t k;
    int32_t rb[2];   /* accumulator start (x2) */
    const int8_t *p; /* input of the next block: first valid tap row, first tap column read */
    int8_t *op;      /* output of the next block's first pixel, channel ch[0] */
    int32_t nr;      /* tap rows, 1..3 */
    int32_t c;       /* bytes per input pixel */
    uint32_t w[9];   /* weights of the tap rows read, from the first */
    mct_rqd_t q[2];
    int32_t clamp;   /* the activation range is narrower than int8: */
    int32_t lohi[2]; /* clamp to [lohi[0], lohi[1]] after the SSAT */
} run_t;

/* kept out of the caller: their locals would add to its frame, live during the whole layer */
#if defined(__GNUC__)
#define DW_NOINLINE __attribute__((noinline))
#else
#define DW_NOINLINE
#endif

/* How a unit reads its input: lanes (0,2) or (1,3) of a 4-channel word, or one broadcast byte. */
#define K_LO 0
#define K_HI 1
#define K_BC 2
/* The asm runs: blocks of 4 or 2 pixels; single pixels with taps 0..2; taps 1, 2 (column 0 is
   padding: the first output column); taps 0, 1 (column 2 is: the last) */
#define RUN_4 0
#define RUN_2 1
#define RUN_1 2
#define RUN_L 3
#define RUN_R 4

/* One asm run of an output-row band, relative to the band's first input / output row. */
typedef struct {
    loop_t k;       /* vertical runs (RUN_L, RUN_R): n = ninit = rows of the band, else rows = them */
    int32_t run;
    int32_t start;  /* the accumulator start: 0 all tap columns inside, 1 column 0 padded, 2 column 2 */
    int32_t p_off;  /* bytes from the band's first valid tap row to the run's first input */
    int32_t op_off; /* bytes from the band's first output row to the run's first output */
} call_t;

/* The plan of a layer, the same for every unit. */
typedef struct {
    /* output rows [ya, yb) / columns [xa, xb) have all 3 tap rows / columns inside the image */
    int32_t ya, yb, xa, xb;
    call_t calls[5];
    int32_t ncalls;
    int32_t any[2][2]; /* output columns [any[i][0], any[i][1]) go through pixels_any */
} plan_t;

/* one input column into the lanes: lanes (0,2) / (1,3) of 4 channels, or the broadcast byte */
static MCT_ALWAYS_INLINE uint32_t ext_x(const int8_t *q, int kind)
{
    if (kind == K_BC) {
        return (uint32_t)(int32_t)*q;
    }
    return (kind == K_LO) ? mct_sxtb16(mct_load4(q)) : mct_sxtb16_ror8(mct_load4(q));
}

/* one tap into both channels' accumulators */
static MCT_ALWAYS_INLINE void mac2(uint32_t x, uint32_t w, int kind, int32_t *a0, int32_t *a1)
{
    *a0 = mct_smlabb(x, w, *a0);
    *a1 = (kind == K_BC) ? mct_smlabt(x, w, *a1) : mct_smlatt(x, w, *a1);
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP

/* Registers: r0/r1, r2/r3, r4/r5, r6/r8 accumulate pixel j's ch[0]/ch[1]; r7 the input column;
   r9 p; r10 c; r11, r12, lr the 3 weight words of the tap row. Column k is at p + k * c: [p, c,
   lsl #n] reaches columns 0, 1, 2, 4, 8, one ADD moves p for the others. */
#define DW_A00 "r0"
#define DW_A01 "r1"
#define DW_A10 "r2"
#define DW_A11 "r3"
#define DW_A20 "r4"
#define DW_A21 "r5"
#define DW_A30 "r6"
#define DW_A31 "r8"
#define DW_W0 "r11"
#define DW_W1 "r12"
#define DW_W2 "lr"
#define DW_MAC(HI, j, t)                                                                              \
    "smlabb " DW_A##j##0 ", r7, " DW_W##t ", " DW_A##j##0 "\n\t" HI " " DW_A##j##1 ", r7, " DW_W##t       \
    ", " DW_A##j##1 "\n\t"
#define DW_LD(LD, EX, ADDR) LD " r7, " ADDR "\n\t" EX
#define DW_C0 "[r9]"
#define DW_C1 "[r9, r10]"
#define DW_C2 "[r9, r10, lsl #1]"
#define DW_C4 "[r9, r10, lsl #2]"
#define DW_C8 "[r9, r10, lsl #3]"
#define DW_ADD1 "add r9, r9, r10\n\t"
#define DW_ADD2 "add r9, r9, r10, lsl #1\n\t"

/* one tap row of a block. stride 1, 4 pixels: columns 0..5, p moves 1 column */
#define DW_S1_4(LD, EX, HI)                                                                           \
    DW_LD(LD, EX, DW_C0) DW_MAC(HI, 0, 0)                                                             \
    DW_LD(LD, EX, DW_C1) DW_MAC(HI, 0, 1) DW_MAC(HI, 1, 0)                                            \
    DW_LD(LD, EX, DW_C2) DW_MAC(HI, 0, 2) DW_MAC(HI, 1, 1) DW_MAC(HI, 2, 0)                           \
    DW_LD(LD, EX, DW_C4) DW_MAC(HI, 2, 2) DW_MAC(HI, 3, 1)                                            \
    DW_ADD1                                                                                           \
    DW_LD(LD, EX, DW_C2) DW_MAC(HI, 1, 2) DW_MAC(HI, 2, 1) DW_MAC(HI, 3, 0)                           \
    DW_LD(LD, EX, DW_C4) DW_MAC(HI, 3, 2)
/* stride 2, 4 pixels: columns 0..8, p moves 3 */
#define DW_S2_4(LD, EX, HI)                                                                           \
    DW_LD(LD, EX, DW_C0) DW_MAC(HI, 0, 0)                                                             \
    DW_LD(LD, EX, DW_C1) DW_MAC(HI, 0, 1)                                                             \
    DW_LD(LD, EX, DW_C2) DW_MAC(HI, 0, 2) DW_MAC(HI, 1, 0)                                            \
    DW_LD(LD, EX, DW_C4) DW_MAC(HI, 1, 2) DW_MAC(HI, 2, 0)                                            \
    DW_LD(LD, EX, DW_C8) DW_MAC(HI, 3, 2)                                                             \
    DW_ADD2                                                                                           \
    DW_LD(LD, EX, DW_C1) DW_MAC(HI, 1, 1)                                                             \
    DW_LD(LD, EX, DW_C4) DW_MAC(HI, 2, 2) DW_MAC(HI, 3, 0)                                            \
    DW_ADD1                                                                                           \
    DW_LD(LD, EX, DW_C2) DW_MAC(HI, 2, 1)                                                             \
    DW_LD(LD, EX, DW_C4) DW_MAC(HI, 3, 1)
/* stride 1, 2 pixels: columns 0..3, p moves 1 */
#define DW_S1_2(LD, EX, HI)                                                                           \
    DW_LD(LD, EX, DW_C0) DW_MAC(HI, 0, 0)                                                             \
    DW_LD(LD, EX, DW_C1) DW_MAC(HI, 0, 1) DW_MAC(HI, 1, 0)                                            \
    DW_LD(LD, EX, DW_C2) DW_MAC(HI, 0, 2) DW_MAC(HI, 1, 1)                                            \
    DW_ADD1 DW_LD(LD, EX, DW_C2) DW_MAC(HI, 1, 2)
/* stride 2, 2 pixels: columns 0..4, p moves 1 */
#define DW_S2_2(LD, EX, HI)                                                                           \
    DW_LD(LD, EX, DW_C0) DW_MAC(HI, 0, 0)                                                             \
    DW_LD(LD, EX, DW_C1) DW_MAC(HI, 0, 1)                                                             \
    DW_LD(LD, EX, DW_C2) DW_MAC(HI, 0, 2) DW_MAC(HI, 1, 0)                                            \
    DW_LD(LD, EX, DW_C4) DW_MAC(HI, 1, 2)                                                             \
    DW_ADD1 DW_LD(LD, EX, DW_C2) DW_MAC(HI, 1, 1)
/* 1 pixel, p does not move */
#define DW_X_ALL(LD, EX, HI)                                                                          \
    DW_LD(LD, EX, DW_C0) DW_MAC(HI, 0, 0) DW_LD(LD, EX, DW_C1) DW_MAC(HI, 0, 1)                       \
    DW_LD(LD, EX, DW_C2) DW_MAC(HI, 0, 2)
#define DW_X_L(LD, EX, HI) DW_LD(LD, EX, DW_C0) DW_MAC(HI, 0, 1) DW_LD(LD, EX, DW_C1) DW_MAC(HI, 0, 2)
#define DW_X_R(LD, EX, HI) DW_LD(LD, EX, DW_C0) DW_MAC(HI, 0, 0) DW_LD(LD, EX, DW_C1) DW_MAC(HI, 0, 1)

/* nr (1..3) tap rows; r7 is free between rows, SMLAxy/LDR/ADD leave the flags of the CMP alone */
#define DW_ROWS(ROW)                                                                                  \
    "ldrd r11, r12, %[w0]\n\tldr lr, %[w2]\n\t" ROW "ldr r7, %[nr]\n\tcmp r7, #2\n\tblt 2f\n\t"          \
    "ldr r7, %[rs]\n\tadd r9, r9, r7\n\tldrd r11, r12, %[w3]\n\tldr lr, %[w5]\n\t" ROW "beq 2f\n\t"     \
    "ldr r7, %[rs]\n\tadd r9, r9, r7\n\tldrd r11, r12, %[w6]\n\tldr lr, %[w8]\n\t" ROW "2:\n\t"

/* accumulator a -> int8 in a (mct_rqd_apply + SSAT), constants m, C, e in registers */
#define DW_RQ(a, m, c, e)                                                                             \
    "smmlar r7, " a ", " m ", " c "\n\tadd r7, r7, " a ", asr #31\n\tasr r7, r7, " e "\n\tssat " a         \
    ", #8, r7\n\t"

#define DW_OPERANDS                                                                                   \
    : [p] "+m"(st->p), [op] "+m"(st->op), [n] "+m"(st->k.n), [rows] "+m"(st->k.rows)                   \
    : [rb] "m"(st->rb[0]), [nr] "m"(st->nr), [c] "m"(st->c), [oc] "m"(st->k.oc), [rs] "m"(st->k.rs),  \
      [bstep] "m"(st->k.bstep), [ninit] "m"(st->k.ninit), [prs] "m"(st->k.prs), [w0] "m"(st->w[0]),    \
      [w2] "m"(st->w[2]), [w3] "m"(st->w[3]), [w5] "m"(st->w[5]), [w6] "m"(st->w[6]), [w8] "m"(st->w[8]), \
      [q0] "m"(st->q[0].mult), [e0] "m"(st->q[0].e), [q1] "m"(st->q[1].mult), [e1] "m"(st->q[1].e),     \
      [clamp] "m"(st->clamp), [lohi] "m"(st->lohi[0])                                                  \
    : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory"

/* the activation clamp of the requantized outputs, only when it is narrower than int8 (r7, r9, r10
   free; CBZ reaches the 8 clamps of a block) */
#define DW_CL(a) "cmp " a ", r9\n\tit lt\n\tmovlt " a ", r9\n\tcmp " a ", r10\n\tit gt\n\tmovgt " a ", r10\n\t"
#define DW_CLAMP(ACCS) "ldr r7, %[clamp]\n\tcbz r7, 3f\n\tldrd r9, r10, %[lohi]\n\t" ACCS "3:\n\t"

/* next block (p += bstep; n counts down), then next row (p += prs, op += ors; rows counts down) */
#define DW_NEXT                                                                                       \
    "ldr r9, %[p]\n\tldr r10, %[bstep]\n\tadd r9, r9, r10\n\tstr r9, %[p]\n\t"                           \
    "ldr r7, %[n]\n\tsubs r7, r7, #1\n\tstr r7, %[n]\n\tbne 1b\n\t"                                        \
    "ldr r7, %[ninit]\n\tstr r7, %[n]\n\tldrd r10, r11, %[prs]\n\tadd r9, r9, r10\n\tstr r9, %[p]\n\t"     \
    "ldr r9, %[op]\n\tadd r9, r9, r11\n\tstr r9, %[op]\n\t"                                             \
    "ldr r7, %[rows]\n\tsubs r7, r7, #1\n\tstr r7, %[rows]\n\tbne 1b\n\t"

/* blocks of 4 pixels: accumulate, requantize ch[0] then ch[1] (the tap row registers hold
   m, C, e), store */
#define DW_RUN4(TPL, LD, EX, HI)                                                                      \
    __asm volatile("1:\n\t"                                                                           \
                   "ldrd r0, r1, %[rb]\n\tldrd r2, r3, %[rb]\n\tldrd r4, r5, %[rb]\n\tldrd r6, r8, %[rb]\n\t" \
                   "ldr r9, %[p]\n\tldr r10, %[c]\n\t" DW_ROWS(TPL(LD, EX, HI))                           \
                   "ldrd r11, r12, %[q0]\n\tldr lr, %[e0]\n\t" DW_RQ("r0", "r11", "r12", "lr")             \
                   DW_RQ("r2", "r11", "r12", "lr") DW_RQ("r4", "r11", "r12", "lr")                       \
                   DW_RQ("r6", "r11", "r12", "lr") "ldrd r11, r12, %[q1]\n\tldr lr, %[e1]\n\t"             \
                   DW_RQ("r1", "r11", "r12", "lr") DW_RQ("r3", "r11", "r12", "lr")                       \
                   DW_RQ("r5", "r11", "r12", "lr") DW_RQ("r8", "r11", "r12", "lr")                       \
                   DW_CLAMP(DW_CL("r0") DW_CL("r1") DW_CL("r2") DW_CL("r3") DW_CL("r4") DW_CL("r5")           \
                            DW_CL("r6") DW_CL("r8"))                                                  \
                   "ldr r9, %[op]\n\tldr r10, %[oc]\n\t"                                              \
                   "strb r0, [r9]\n\tstrb r1, [r9, #2]\n\tadd r9, r9, r10\n\t"                        \
                   "strb r2, [r9]\n\tstrb r3, [r9, #2]\n\tadd r9, r9, r10\n\t"                        \
                   "strb r4, [r9]\n\tstrb r5, [r9, #2]\n\tadd r9, r9, r10\n\t"                        \
                   "strb r6, [r9]\n\tstrb r8, [r9, #2]\n\tadd r9, r9, r10\n\t"                        \
                   "str r9, %[op]\n\t" DW_NEXT DW_OPERANDS)

/* blocks of 2 pixels, as above */
#define DW_RUN2(TPL, LD, EX, HI)                                                                      \
    __asm volatile("1:\n\t"                                                                           \
                   "ldrd r0, r1, %[rb]\n\tldrd r2, r3, %[rb]\n\tldr r9, %[p]\n\tldr r10, %[c]\n\t"          \
                   DW_ROWS(TPL(LD, EX, HI))                                                           \
                   "ldrd r11, r12, %[q0]\n\tldr lr, %[e0]\n\t" DW_RQ("r0", "r11", "r12", "lr")             \
                   DW_RQ("r2", "r11", "r12", "lr") "ldrd r11, r12, %[q1]\n\tldr lr, %[e1]\n\t"             \
                   DW_RQ("r1", "r11", "r12", "lr") DW_RQ("r3", "r11", "r12", "lr")                       \
                   DW_CLAMP(DW_CL("r0") DW_CL("r1") DW_CL("r2") DW_CL("r3"))                              \
                   "ldr r9, %[op]\n\tldr r10, %[oc]\n\t"                                              \
                   "strb r0, [r9]\n\tstrb r1, [r9, #2]\n\tadd r9, r9, r10\n\t"                        \
                   "strb r2, [r9]\n\tstrb r3, [r9, #2]\n\tadd r9, r9, r10\n\t"                        \
                   "str r9, %[op]\n\t" DW_NEXT DW_OPERANDS)

/* single pixels; the requantization constants stay in r2-r6, r8. op moves by st->oc per pixel
   (out_c along a row, a whole output row down a column) */
#define DW_RUN1(TPL, LD, EX, HI)                                                                      \
    __asm volatile("ldrd r2, r3, %[q0]\n\tldr r4, %[e0]\n\tldrd r5, r6, %[q1]\n\tldr r8, %[e1]\n\t"    \
                   "1:\n\t"                                                                           \
                   "ldrd r0, r1, %[rb]\n\tldr r9, %[p]\n\tldr r10, %[c]\n\t" DW_ROWS(TPL(LD, EX, HI))     \
                   DW_RQ("r0", "r2", "r3", "r4") DW_RQ("r1", "r5", "r6", "r8")                          \
                   DW_CLAMP(DW_CL("r0") DW_CL("r1"))                                                  \
                   "ldr r7, %[op]\n\tstrb r0, [r7]\n\tstrb r1, [r7, #2]\n\tldr r9, %[oc]\n\t"           \
                   "add r7, r7, r9\n\tstr r7, %[op]\n\t" DW_NEXT DW_OPERANDS)

#define DW_KINDS(RUN, TPL)                                                                            \
    do {                                                                                              \
        if (kind == K_LO) {                                                                           \
            RUN(TPL, "ldr", "sxtb16 r7, r7\n\t", "smlatt");                                           \
        } else if (kind == K_HI) {                                                                    \
            RUN(TPL, "ldr", "sxtb16 r7, r7, ror #8\n\t", "smlatt");                                    \
        } else {                                                                                      \
            RUN(TPL, "ldrsb", "", "smlabt");                                                          \
        }                                                                                             \
    } while (0)

/* st must be the caller's local (the asm addresses it from sp) */
static MCT_ALWAYS_INLINE void run4(run_t *st, int stride, int kind)
{
    if (stride == 1) {
        DW_KINDS(DW_RUN4, DW_S1_4);
    } else {
        DW_KINDS(DW_RUN4, DW_S2_4);
    }
}

static MCT_ALWAYS_INLINE void run2(run_t *st, int stride, int kind)
{
    if (stride == 1) {
        DW_KINDS(DW_RUN2, DW_S1_2);
    } else {
        DW_KINDS(DW_RUN2, DW_S2_2);
    }
}

static MCT_ALWAYS_INLINE void run1(run_t *st, int variant, int kind)
{
    if (variant == RUN_1) {
        DW_KINDS(DW_RUN1, DW_X_ALL);
    } else if (variant == RUN_L) {
        DW_KINDS(DW_RUN1, DW_X_L);
    } else {
        DW_KINDS(DW_RUN1, DW_X_R);
    }
}

#else /* the same arithmetic in portable C (int32 sums wrap the same in any order) */

/* npx pixels, taps t0..t1-1 of each tap row; column (j * stride + t - t0) of the block is read;
   p moves adv columns per tap row in the asm (st->k.rs is the rest of the row step) */
static void run_c(run_t *st, int32_t npx, int32_t stride, int32_t adv, int32_t t0, int32_t t1, int kind)
{
    const int32_t row = st->k.rs + adv * st->c;
    for (; st->k.rows > 0; --st->k.rows) {
        for (st->k.n = st->k.ninit; st->k.n > 0; --st->k.n) {
            int32_t a[4][2];
            for (int32_t j = 0; j < npx; ++j) {
                a[j][0] = st->rb[0];
                a[j][1] = st->rb[1];
            }
            for (int32_t r = 0; r < st->nr; ++r) {
                for (int32_t j = 0; j < npx; ++j) {
                    for (int32_t t = t0; t < t1; ++t) {
                        const uint32_t x = ext_x(st->p + r * row + (j * stride + t - t0) * st->c, kind);
                        mac2(x, st->w[3 * r + t], kind, &a[j][0], &a[j][1]);
                    }
                }
            }
            for (int32_t j = 0; j < npx; ++j) {
                for (int32_t i = 0; i < 2; ++i) {
                    const int32_t v = mct_ssat8(mct_rqd_apply(a[j][i], &st->q[i]));
                    st->op[2 * i] = (int8_t)mct_clamp(v, st->lohi[0], st->lohi[1]);
                }
                st->op += st->k.oc;
            }
            st->p += st->k.bstep;
        }
        st->p += st->k.prs;
        st->op += st->k.ors;
    }
}

static MCT_ALWAYS_INLINE void run4(run_t *st, int stride, int kind)
{
    run_c(st, 4, stride, (stride == 1) ? 1 : 3, 0, 3, kind);
}

static MCT_ALWAYS_INLINE void run2(run_t *st, int stride, int kind)
{
    run_c(st, 2, stride, 1, 0, 3, kind);
}

static MCT_ALWAYS_INLINE void run1(run_t *st, int variant, int kind)
{
    run_c(st, 1, 1, 0, (variant == RUN_L) ? 1 : 0, (variant == RUN_R) ? 2 : 3, kind);
}

#endif

/* Pixels [ox0, ox1) of `rows` output rows, any padding (taps outside the image multiply the zero
   point), any requantization: prow is the first valid tap row, w its weights. */
static void pixels_any(const dw_t *d, const unit_t *u, const int8_t *prow, int8_t *orow, int32_t rows,
                       int32_t ox0, int32_t ox1, const uint32_t *w, int32_t nr, const int32_t rb[2], int kind)
{
    const mct_conv_params_t *p = d->p;
    const int32_t row = d->in_w * d->in_c, c = d->in_c;
    const uint32_t zp2 = mct_dup16(-p->input_offset);
    for (int32_t y = 0; y < rows; ++y, prow += p->stride_h * row, orow += d->out_w * d->out_c) {
        for (int32_t ox = ox0; ox < ox1; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_w;
            int32_t a0 = rb[0], a1 = rb[1];
            const int8_t *pr = prow;
            if (ix0 >= 0 && ix0 + 3 <= d->in_w) { /* no tap column outside */
                for (int32_t r = 0; r < nr; ++r, pr += row) {
                    const int8_t *q = pr + ix0 * c;
                    mac2(ext_x(q, kind), w[3 * r], kind, &a0, &a1);
                    mac2(ext_x(q + c, kind), w[3 * r + 1], kind, &a0, &a1);
                    mac2(ext_x(q + 2 * c, kind), w[3 * r + 2], kind, &a0, &a1);
                }
            } else {
                for (int32_t r = 0; r < nr; ++r, pr += row) {
                    for (int32_t t = 0; t < 3; ++t) {
                        const int32_t ix = ix0 + t;
                        const uint32_t x = (ix >= 0 && ix < d->in_w) ? ext_x(pr + ix * c, kind) : zp2;
                        mac2(x, w[3 * r + t], kind, &a0, &a1);
                    }
                }
            }
            int8_t *op = orow + ox * d->out_c;
            if (u->fast) {
                op[0] = (int8_t)mct_clamp(mct_ssat8(mct_rqd_apply(a0, &u->rqd[0])), p->act_min, p->act_max);
                op[2] = (int8_t)mct_clamp(mct_ssat8(mct_rqd_apply(a1, &u->rqd[1])), p->act_min, p->act_max);
            } else {
                op[0] = mct_rq_out(a0, &u->r[0], MCT_RQ_GENERAL, p->output_offset, p->act_min, p->act_max);
                op[2] = mct_rq_out(a1, &u->r[1], MCT_RQ_GENERAL, p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}

/* lane i (0, 1) of a word of two int16 */
static inline int32_t lane(uint32_t v, int32_t i)
{
    return (int32_t)(int16_t)(uint16_t)(v >> (16 * i));
}

/* Accumulator starts of an output row whose valid tap rows are [ky0, ky1): st[0] for a pixel with
   all 3 tap columns inside, + zp * (weights of the padded rows); st[1], st[2]: column 0 / 2 is
   padding too. */
static void row_starts(const unit_t *u, int32_t ky0, int32_t ky1, int32_t zp, int32_t st[3][2])
{
    uint32_t pad = 0, cl = 0, cr = 0; /* lane sums (at most 9 x 256) */
    for (int32_t ky = 0; ky < 3; ++ky) {
        const uint32_t *w = u->w + 3 * ky;
        if (ky < ky0 || ky >= ky1) {
            pad = mct_sadd16(pad, mct_sadd16(w[0], mct_sadd16(w[1], w[2])));
        } else {
            cl = mct_sadd16(cl, w[0]);
            cr = mct_sadd16(cr, w[2]);
        }
    }
    for (int32_t i = 0; i < 2; ++i) {
        st[0][i] = mct_wrap_add(u->base[i], zp * lane(pad, i));
        st[1][i] = mct_wrap_add(st[0][i], zp * lane(cl, i));
        st[2][i] = mct_wrap_add(st[0][i], zp * lane(cr, i));
    }
}

static void unit_make(const dw_t *d, int32_t oc, int32_t l, unit_t *u)
{
    const mct_conv_params_t *p = d->p;
    int32_t bias[2];
    /* fast: every accumulator |bias + sum (x + off) w| < 2^30 (so it can be doubled), 9 taps of
       at most 128 * 128 each, and a clamp inside int8; then mct_rqd_make decides */
    int fast = -128 <= p->act_min && p->act_min <= p->act_max && p->act_max <= 127;
    for (int32_t i = 0; i < 2; ++i) {
        const int32_t ch = oc + l + 2 * i;
        bias[i] = (d->bias != 0) ? d->bias[ch] : 0;
        const int64_t bound = ((bias[i] < 0) ? -(int64_t)bias[i] : (int64_t)bias[i]) + 2 * 9 * 128 * 128;
        fast &= mct_rqd_make(d->q->multiplier[ch], d->q->shift[ch], p->output_offset, bound, &u->rqd[i]);
    }
    u->fast = fast;
    uint32_t sum = 0; /* lanes: sum of the 9 weights */
    const int8_t *f = d->filter + oc;
    for (int32_t t = 0; t < 9; ++t, f += d->out_c) {
        const uint32_t v = mct_load4(f);
        const uint32_t w = (l == 0) ? mct_sxtb16(v) : mct_sxtb16_ror8(v);
        sum = mct_sadd16(sum, w);
        u->w[t] = fast ? mct_sadd16(w, w) : w; /* the fast form works on doubled accumulators */
    }
    for (int32_t t = 9; t < 15; ++t) {
        u->w[t] = 0;
    }
    for (int32_t i = 0; i < 2; ++i) {
        const int32_t ch = oc + l + 2 * i;
        const int32_t base = mct_wrap_add(bias[i], p->input_offset * lane(sum, i));
        u->base[i] = fast ? 2 * base : base; /* no wrap when fast (bound above) */
        if (!fast) {
            u->r[i] = mct_rq_make(d->q->multiplier[ch], d->q->shift[ch]);
        }
    }
}

/* All pixels of unit (oc, l), in bands of output rows with the same valid tap rows: each row above
   [ya, yb) alone, [ya, yb) together, each row below alone. */
static DW_NOINLINE void unit_run(const dw_t *d, const plan_t *pl, int32_t oc, int32_t l, int kind)
{
    const mct_conv_params_t *p = d->p;
    unit_t unit;
    const unit_t *u = &unit;
    unit_make(d, oc, l, &unit);
    const int32_t in_h = d->in_h, sy = p->stride_h, sx = p->stride_w;
    const int32_t row = d->in_w * d->in_c;
    const int32_t ic = (kind == K_BC) ? oc / d->dm : oc; /* the lane kinds read channels oc..oc+3 */
    run_t st;
    st.c = d->in_c;
    st.q[0] = u->rqd[0];
    st.q[1] = u->rqd[1];
    st.lohi[0] = p->act_min;
    st.lohi[1] = p->act_max;
    st.clamp = p->act_min != -128 || p->act_max != 127;

    for (int32_t b = 0; b < d->batches; ++b) {
        const int8_t *img = d->in + b * in_h * row + ic;
        for (int32_t oy = 0; oy < d->out_h;) {
            const int32_t oy1 = (oy >= pl->ya && oy < pl->yb) ? pl->yb : oy + 1;
            const int32_t rows = oy1 - oy;
            const int32_t iy0 = oy * sy - p->pad_h;
            const int32_t ky0 = (iy0 < 0) ? ((-iy0 < 3) ? -iy0 : 3) : 0;
            const int32_t ky1 = (in_h - iy0 < 3) ? ((in_h - iy0 > ky0) ? in_h - iy0 : ky0) : 3;
            const int32_t nr = ky1 - ky0;
            int32_t starts[3][2];
            row_starts(u, ky0, ky1, -p->input_offset, starts);
            const int8_t *prow = img + ((nr > 0) ? (iy0 + ky0) * row : 0);
            int8_t *orow = d->out + ((b * d->out_h + oy) * d->out_w) * d->out_c + oc + l;
            const uint32_t *w = u->w + 3 * ky0;
            oy = oy1;
            if (!u->fast || nr == 0) {
                pixels_any(d, u, prow, orow, rows, 0, d->out_w, w, nr, starts[0], kind);
                continue;
            }
            memcpy(st.w, w, sizeof st.w); /* u->w is padded: 9 words from any tap row */
            st.nr = nr;
            for (int32_t i = 0; i < pl->ncalls; ++i) {
                const call_t *c = &pl->calls[i];
                st.k = c->k;
                if (c->run >= RUN_L) {
                    st.k.n = st.k.ninit = rows;
                } else {
                    st.k.rows = rows;
                }
                st.rb[0] = starts[c->start][0];
                st.rb[1] = starts[c->start][1];
                st.p = prow + c->p_off;
                st.op = orow + c->op_off;
                if (c->run == RUN_4) {
                    run4(&st, sx, kind);
                } else if (c->run == RUN_2) {
                    run2(&st, sx, kind);
                } else {
                    run1(&st, c->run, kind);
                }
            }
            for (int32_t i = 0; i < 2; ++i) {
                if (pl->any[i][0] < pl->any[i][1]) {
                    pixels_any(d, u, prow, orow, rows, pl->any[i][0], pl->any[i][1], w, nr, starts[0], kind);
                }
            }
        }
    }
}

/* outputs [*a, *b) along one axis whose 3 taps are all inside [0, n) */
static void span(int32_t n, int32_t out_n, int32_t stride, int32_t pad, int32_t *a, int32_t *b)
{
    int32_t hi = (n - 3 + pad >= 0) ? (n - 3 + pad) / stride + 1 : 0;
    hi = (hi > out_n) ? out_n : hi;
    const int32_t lo = (pad + stride - 1) / stride;
    *a = (lo > hi) ? hi : lo;
    *b = hi;
}

static void add_call(plan_t *pl, int32_t run, int32_t start, int32_t p_off, int32_t op_off, loop_t k)
{
    call_t *c = &pl->calls[pl->ncalls++];
    c->k = k;
    c->run = run;
    c->start = start;
    c->p_off = p_off;
    c->op_off = op_off;
}

/* The asm runs of one output-row band: the first output column if only its tap column 0 is
   padding, blocks of 4 and 2 (strides 1, 2) and single pixels over [xa, xb), the column xb if
   only its tap column 2 is padding; pixels_any for any other column. */
static DW_NOINLINE void plan_make(const dw_t *d, plan_t *pl)
{
    const mct_conv_params_t *p = d->p;
    const int32_t c = d->in_c, oc = d->out_c, sx = p->stride_w;
    const int32_t row = d->in_w * c, prs = p->stride_h * row, ors = d->out_w * oc;
    span(d->in_h, d->out_h, p->stride_h, p->pad_h, &pl->ya, &pl->yb);
    span(d->in_w, d->out_w, sx, p->pad_w, &pl->xa, &pl->xb);
    const int32_t xa = pl->xa, xb = pl->xb;
    const int left = xa == 1 && p->pad_w == 1 && d->in_w >= 2;
    const int right = xb == d->out_w - 1 && xb * sx - p->pad_w >= 0 && xb * sx - p->pad_w + 2 == d->in_w;
    const loop_t col = {0, 0, 1, 0, 0, row, prs, ors}; /* down one output column */
    pl->ncalls = 0;
    if (left) {
        add_call(pl, RUN_L, 1, 0, 0, col);
    }
    if (right) {
        add_call(pl, RUN_R, 2, (xb * sx - p->pad_w) * c, xb * oc, col);
    }
    const int32_t nx = xb - xa;
    const int32_t n4 = (sx <= 2) ? nx / 4 : 0, n2 = (sx <= 2) ? (nx % 4) / 2 : 0, n1 = nx - 4 * n4 - 2 * n2;
    int32_t ox = xa;
    if (n4 > 0) { /* a block's tap row moves p 1 (stride 1) or 3 (stride 2) columns */
        const loop_t k = {n4, n4, 0, prs - 4 * n4 * sx * c, ors - 4 * n4 * oc, row - ((sx == 1) ? 1 : 3) * c,
                          4 * sx * c, oc};
        add_call(pl, RUN_4, 0, (ox * sx - p->pad_w) * c, ox * oc, k);
        ox += 4 * n4;
    }
    if (n2 > 0) { /* p moves 1 column per tap row */
        const loop_t k = {1, 1, 0, prs, ors - 2 * oc, row - c, 0, oc};
        add_call(pl, RUN_2, 0, (ox * sx - p->pad_w) * c, ox * oc, k);
        ox += 2;
    }
    if (n1 > 0) {
        const loop_t k = {n1, n1, 0, prs - n1 * sx * c, ors - n1 * oc, row, sx * c, oc};
        add_call(pl, RUN_1, 0, (ox * sx - p->pad_w) * c, ox * oc, k);
    }
    pl->any[0][0] = left;
    pl->any[0][1] = xa;
    pl->any[1][0] = xb + right;
    pl->any[1][1] = d->out_w;
}

/* Any kernel size / depth multiplier, output channels [oc0, oc1): the reference loops with the
   hoisted requantization. */
static DW_NOINLINE void plain(const dw_t *d, int32_t oc0, int32_t oc1, int32_t k_h, int32_t k_w)
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
        plan_t pl;
        plan_make(&d, &pl);
        for (; oc + 4 <= d.out_c; oc += 4) {
            for (int32_t l = 0; l < 2; ++l) {
                unit_run(&d, &pl, oc, l, bcast ? K_BC : ((l == 0) ? K_LO : K_HI));
            }
        }
    }
    plain(&d, oc, d.out_c, filter_dims->h, filter_dims->w);
}

#endif /* MCT_USE_ARM_OPS */
