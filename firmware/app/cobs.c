#include "cobs.h"

int32_t cobs_encode(const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap)
{
    uint32_t i = 0, o = 0;
    for (;;) {
        uint32_t j = i;
        uint32_t k;
        while (j < len && in[j] != 0u && j - i < 254u) {
            j++;
        }
        if (o + 1u + (j - i) > cap) {
            return -1;
        }
        out[o++] = (uint8_t)(j - i + 1u);
        for (k = i; k < j; k++) {
            out[o++] = in[k];
        }
        if (j == len) {
            break;
        }
        /* A zero is absorbed by the block it ends; a full 0xFF block absorbs nothing, even when
         * a zero follows it (that zero then gets a block of its own). */
        i = (j - i < 254u) ? j + 1u : j;
    }
    return (int32_t)o;
}

int32_t cobs_decode(const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap)
{
    cobs_dec_t d;
    uint32_t i, o = 0;
    uint8_t b;
    cobs_dec_reset(&d);
    for (i = 0; i < len; i++) {
        if (in[i] == 0u) {
            return -1;
        }
        if (cobs_dec_byte(&d, in[i], &b) == COBS_DEC_BYTE) {
            if (o >= cap) {
                return -1;
            }
            out[o++] = b;
        }
    }
    return (cobs_dec_byte(&d, 0u, &b) == COBS_DEC_END) ? (int32_t)o : -1;
}

/* Byte i of the concatenation; parts are short (<= 3) so a linear walk is cheap. */
static uint8_t part_byte(const uint8_t *const *parts, const uint32_t *lens, uint32_t nparts, uint32_t i)
{
    uint32_t p;
    for (p = 0; p < nparts; p++) {
        if (i < lens[p]) {
            return parts[p][i];
        }
        i -= lens[p];
    }
    return 0u;
}

/* Write bytes [from, to) of the concatenation as contiguous runs, one callback per part touched. */
static void part_write(const uint8_t *const *parts, const uint32_t *lens, uint32_t nparts,
                       uint32_t from, uint32_t to, cobs_write_fn write, void *ctx)
{
    uint32_t p, base = 0;
    for (p = 0; p < nparts && from < to; p++) {
        uint32_t end = base + lens[p];
        if (from < end) {
            uint32_t stop = (to < end) ? to : end;
            write(ctx, parts[p] + (from - base), stop - from);
            from = stop;
        }
        base = end;
    }
}

void cobs_encode_parts(const uint8_t *const *parts, const uint32_t *lens, uint32_t nparts,
                       cobs_write_fn write, void *ctx)
{
    uint32_t total = 0, i = 0, p;
    for (p = 0; p < nparts; p++) {
        total += lens[p];
    }
    for (;;) {
        uint32_t j = i;
        uint8_t code;
        uint8_t zero_here = 0u;
        while (j < total && j - i < 254u) {
            if (part_byte(parts, lens, nparts, j) == 0u) {
                zero_here = 1u;
                break;
            }
            j++;
        }
        code = (uint8_t)(j - i + 1u);
        write(ctx, &code, 1u);
        part_write(parts, lens, nparts, i, j, write, ctx);
        if (j == total) {
            break;
        }
        i = zero_here ? j + 1u : j;
    }
}

void cobs_dec_reset(cobs_dec_t *d)
{
    d->left = 0u;
    d->code = 0u;
}

int cobs_dec_byte(cobs_dec_t *d, uint8_t in, uint8_t *out)
{
    if (in == 0u) {
        int r = (d->left == 0u) ? COBS_DEC_END : COBS_DEC_ERROR;
        cobs_dec_reset(d);
        return r;
    }
    if (d->left > 0u) {
        d->left--;
        *out = in;
        return COBS_DEC_BYTE;
    }
    {
        /* A code byte: the block before it ended in a zero, unless it was a full 0xFF block. */
        uint8_t prev = d->code;
        d->code = in;
        d->left = (uint8_t)(in - 1u);
        if (prev != 0u && prev != 0xFFu) {
            *out = 0u;
            return COBS_DEC_BYTE;
        }
    }
    return COBS_DEC_NONE;
}
