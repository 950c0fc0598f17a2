/* pad_s8.c - int8 PAD (constant padding with the output zero point) over a 4-D view. */
#include "ops.h"

void mct_pad_s8(const mct_pad_params_t *p, const int32_t in_dims[4], const int8_t *in, const int32_t out_dims[4],
                int8_t *out)
{
    uint32_t o = 0;
    for (int32_t a = 0; a < out_dims[0]; ++a) {
        const int32_t ia = a - p->before[0];
        const int ok_a = ia >= 0 && ia < in_dims[0];
        for (int32_t b = 0; b < out_dims[1]; ++b) {
            const int32_t ib = b - p->before[1];
            const int ok_b = ok_a && ib >= 0 && ib < in_dims[1];
            for (int32_t c = 0; c < out_dims[2]; ++c) {
                const int32_t ic = c - p->before[2];
                const int ok_c = ok_b && ic >= 0 && ic < in_dims[2];
                for (int32_t d = 0; d < out_dims[3]; ++d) {
                    const int32_t id = d - p->before[3];
                    if (ok_c && id >= 0 && id < in_dims[3]) {
                        out[o++] = in[((ia * in_dims[1] + ib) * in_dims[2] + ic) * in_dims[3] + id];
                    } else {
                        out[o++] = (int8_t)p->pad_value;
                    }
                }
            }
        }
    }
}
