/* Consistent Overhead Byte Stuffing (Cheshire & Baker 1999): removes every 0x00 from a frame so
 * 0x00 can delimit frames on the wire; a receiver that sees garbage resyncs at the next 0x00.
 * Overhead is at most one byte per 254 bytes plus one. Canonical form as in the original paper:
 * a frame that ends exactly after a full 254-byte block gets no trailing 0x01 block. */
#ifndef MCUTRAIN_COBS_H
#define MCUTRAIN_COBS_H

#include <stdint.h>

/* Worst-case encoded size of n bytes (excluding the 0x00 delimiter). */
#define COBS_MAX_ENCODED(n) ((n) + (n) / 254u + 1u)

/* Buffer to buffer. Returns the encoded length, or -1 if it would not fit in cap. */
int32_t cobs_encode(const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap);

/* Buffer to buffer, input without the delimiter. Returns the decoded length, or -1 on a malformed
 * input (a 0x00 inside, a block running past the end) or if it would not fit in cap. */
int32_t cobs_decode(const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap);

/* Encode the concatenation of nparts buffers straight into a write callback, with no staging
 * buffer: the device sends header, payload and CRC from where they already are. */
typedef void (*cobs_write_fn)(void *ctx, const uint8_t *data, uint32_t len);
void cobs_encode_parts(const uint8_t *const *parts, const uint32_t *lens, uint32_t nparts,
                       cobs_write_fn write, void *ctx);

/* Incremental decoder, one wire byte at a time, so the device needs no encoded-frame buffer. */
typedef struct {
    uint8_t left;  /* data bytes still to come in the current block; 0 = next byte is a code */
    uint8_t code;  /* code of the current block; 0 = no block yet in this frame */
} cobs_dec_t;

enum {
    COBS_DEC_NONE = 0,  /* byte consumed, nothing to output */
    COBS_DEC_BYTE = 1,  /* *out holds the next decoded byte */
    COBS_DEC_END = 2,   /* delimiter: the frame ended cleanly */
    COBS_DEC_ERROR = 3  /* delimiter in the middle of a block: the frame was truncated */
};

void cobs_dec_reset(cobs_dec_t *d);
/* Every input byte yields at most one output byte, so a caller never has to buffer. */
int cobs_dec_byte(cobs_dec_t *d, uint8_t in, uint8_t *out);

#endif /* MCUTRAIN_COBS_H */
