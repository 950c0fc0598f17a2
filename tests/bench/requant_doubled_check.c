/* requant_doubled_check.c - mct_rqd_apply (ops/arm: SMMLAR + add + shift on the doubled accumulator, the
   output offset folded in) against quant.h's mct_mbqm + offset, for every shift, random and edge
   multipliers, offsets and accumulator bounds that mct_rqd_make accepts. Prints the counts; exits 1 on any
   mismatch. */
#include <stdio.h>

#include "ops/arm/arm_common.h"
#include "quant.h"

static uint32_t next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 32);
}

int main(void)
{
    uint64_t seed = 99u;
    long bad = 0, n = 0, refused = 0;
    for (int32_t shift = -31; shift <= 31; ++shift) {
        for (int32_t im = 0; im < 300; ++im) {
            int32_t m = (int32_t)(next(&seed) >> 1);
            if (im % 3 == 0) {
                m |= 1 << 30; /* QuantizeMultiplier's range */
            }
            m = im == 1 ? 0 : im == 2 ? INT32_MAX : im == 4 ? (1 << 30) : m;
            for (int32_t io = 0; io < 20; ++io) {
                const int32_t off = (int32_t)(next(&seed) % 511u) - 255;
                const int64_t bound = (io % 2) ? (int64_t)(next(&seed) % (1u << 30)) : (int64_t)(next(&seed) % 400000u);
                mct_rqd_t r;
                if (!mct_rqd_make(m, shift, off, bound, &r)) {
                    ++refused; /* the kernels use mct_rq_apply then */
                    continue;
                }
                for (int32_t ix = 0; ix < 200; ++ix) {
                    int32_t acc;
                    if (ix < 2) {
                        acc = (int32_t)(ix == 0 ? bound : -bound);
                    } else if (ix < 40) {
                        acc = ix - 20;
                    } else {
                        acc = (int32_t)((int64_t)(next(&seed) % (2u * (uint32_t)bound + 1u)) - bound);
                    }
                    const int32_t want = mct_sat31(mct_mbqm(acc, m, shift)) + off;
                    ++n;
                    if (mct_rqd_apply(acc * 2, &r) != want) {
                        if (bad < 10) {
                            printf("shift %d m %d off %d acc %d: want %d\n", (int)shift, (int)m, (int)off, (int)acc,
                                   (int)want);
                        }
                        ++bad;
                    }
                }
            }
        }
    }
    printf("checked=%ld bad=%ld refused=%ld\n", n, bad, refused);
    return bad != 0;
}
