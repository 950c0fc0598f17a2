/* requant_check.c - mct_rq_apply (ops/arm/arm_requant.h) against mct_mbqm (quant.h) on edge and
   random values of every shift; prints the number of mismatches (0 expected). */
#include <stdio.h>

#include "ops/arm/arm_requant.h"
#include "quant.h"

static uint32_t next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 32);
}

int main(void)
{
    static const int32_t edge[] = {0, 1, -1, 2, -2, 3, -3, 127, -128, 1 << 20, -(1 << 20), INT32_MAX, INT32_MIN,
                                   INT32_MAX - 1, INT32_MIN + 1, 1 << 30, -(1 << 30), (1 << 30) + 1, -(1 << 30) - 1};
    const int32_t n_edge = (int32_t)(sizeof edge / sizeof edge[0]);
    uint64_t seed = 12345u;
    long bad = 0, n = 0;
    for (int32_t shift = -31; shift <= 31; ++shift) {
        for (int32_t im = 0; im < 400; ++im) {
            int32_t m;
            if (im < n_edge) {
                m = (edge[im] < 0) ? -(edge[im] + 1) : edge[im]; /* multipliers are >= 0 */
            } else {
                m = (int32_t)(next(&seed) >> 1);
                if (im % 3 == 0) {
                    m = (int32_t)(next(&seed) >> 1) | (1 << 30); /* QuantizeMultiplier's range */
                }
            }
            const mct_rq_t r = mct_rq_make(m, shift);
            for (int32_t ix = 0; ix < 600; ++ix) {
                int32_t x;
                if (ix < n_edge) {
                    x = edge[ix];
                } else {
                    x = (int32_t)next(&seed);
                    x >>= (int32_t)(next(&seed) % 32u);
                }
                const int32_t want = mct_mbqm(x, m, shift);
                const int32_t got = mct_rq_apply(x, &r);
                const int32_t got2 = (r.left == 0 && r.hi_shift >= 0) ? mct_rq_apply_right(x, &r) : want;
                ++n;
                if (got != want || got2 != want) {
                    if (bad < 10) {
                        printf("x=%d m=%d shift=%d want=%d got=%d\n", (int)x, (int)m, (int)shift, (int)want, (int)got);
                    }
                    ++bad;
                }
            }
        }
    }
    printf("%ld mismatches in %ld\n", bad, n);
    return bad != 0;
}
