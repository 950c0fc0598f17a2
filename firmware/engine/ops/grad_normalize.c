/* grad_normalize.c - int mode: an int32 gradient accumulator becomes an int16 gradient with a power-of-two
   exponent (normalize16, two passes: max |acc|, then round-shift). A second contribution to a tensor is
   first normalized on its own, then summed with the first at the larger exponent and normalized again,
   exactly as the golden's add_grads. */
#include "../train_math.h"
#include "train_ops.h"

void mct_normalize_int(uint32_t n, int32_t *acc, int32_t acc_exp, int accumulate, int16_t *out, int32_t *out_exp)
{
    int32_t s = mct_norm16_shift(n, acc);
    if (!accumulate) {
        for (uint32_t i = 0; i < n; ++i) {
            out[i] = mct_norm16_value(acc[i], s);
        }
        *out_exp = acc_exp + s;
        return;
    }
    /* b = normalize16(acc) kept in acc; a = out. Align both to the larger exponent, add, renormalize. */
    for (uint32_t i = 0; i < n; ++i) {
        acc[i] = mct_norm16_value(acc[i], s);
    }
    const int32_t eb = acc_exp + s, ea = *out_exp;
    const int32_t e = (ea > eb) ? ea : eb;
    for (uint32_t i = 0; i < n; ++i) {
        acc[i] = (int32_t)(mct_round_shift64(out[i], e - ea) + mct_round_shift64(acc[i], e - eb));
    }
    s = mct_norm16_shift(n, acc);
    for (uint32_t i = 0; i < n; ++i) {
        out[i] = mct_norm16_value(acc[i], s);
    }
    *out_exp = e + s;
}
