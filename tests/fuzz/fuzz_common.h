/* Shared by the random-frame driver and the libFuzzer harness: a link under test, a capture of
 * everything it writes, and the checks that every output frame is well formed and that a clean
 * frame after any garbage is accepted. Failures abort() so sanitizers and libFuzzer see them. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cobs.h"
#include "engine.h"
#include "link.h"

#define FZ_OUT_CAP (64u * 1024u)

typedef struct {
    link_t link;
    uint8_t out[FZ_OUT_CAP];
    uint32_t out_len;
    uint64_t delivered;
    uint64_t out_frames;
    uint8_t last_seq;
    uint16_t last_len;
    uint8_t last_cmd;
} fz_t;

#define FZ_CHECK(cond, msg)                                                            \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", msg, __FILE__, __LINE__); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* Every frame the link writes must decode, carry a good CRC and respect the size limit. */
static void fz_validate_output(fz_t *f)
{
    static uint8_t dec[LINK_MAX_FRAME + 16];
    uint32_t start = 0, i;
    for (i = 0; i < f->out_len; i++) {
        if (f->out[i] != 0u) {
            continue;
        }
        if (i > start) {
            int32_t n = cobs_decode(&f->out[start], i - start, dec, sizeof dec);
            FZ_CHECK(n >= (int32_t)(PROTO_HEADER_SIZE + PROTO_CRC_SIZE), "output frame does not decode");
            FZ_CHECK((uint32_t)n <= LINK_MAX_FRAME, "output frame too long");
            FZ_CHECK(proto_get_u16(&dec[3]) + PROTO_HEADER_SIZE + PROTO_CRC_SIZE == (uint32_t)n,
                     "output length field wrong");
            FZ_CHECK(mct_crc32(0u, dec, (uint32_t)n - PROTO_CRC_SIZE) == proto_get_u32(&dec[n - 4]), "output CRC wrong");
            FZ_CHECK(dec[0] > PROTO_CMD_MAX, "device sent a request");
            f->out_frames++;
        }
        start = i + 1u;
    }
    FZ_CHECK(start == f->out_len, "output ends inside a frame");
    f->out_len = 0;
}

static void fz_write(void *ctx, const uint8_t *data, uint32_t len)
{
    fz_t *f = (fz_t *)ctx;
    if (f->out_len + len > FZ_OUT_CAP) {
        /* Only whole frames are validated, so flush up to the last delimiter. */
        uint32_t keep_from = f->out_len;
        while (keep_from > 0u && f->out[keep_from - 1u] != 0u) {
            keep_from--;
        }
        {
            uint32_t tail = f->out_len - keep_from;
            uint8_t save[LINK_MAX_WIRE];
            FZ_CHECK(tail <= sizeof save, "unterminated output longer than a frame");
            memcpy(save, &f->out[keep_from], tail);
            f->out_len = keep_from;
            fz_validate_output(f);
            memcpy(f->out, save, tail);
            f->out_len = tail;
        }
    }
    memcpy(&f->out[f->out_len], data, len);
    f->out_len += len;
}

static void fz_init(fz_t *f)
{
    memset(f, 0, sizeof *f);
    link_init(&f->link, fz_write, f);
}

/* Feed bytes; echo every delivered request. Returns the number delivered. */
static uint32_t fz_feed(fz_t *f, const uint8_t *data, uint32_t n)
{
    uint32_t i, got = 0;
    for (i = 0; i < n; i++) {
        const link_frame_t *req = NULL;
        if (link_rx_byte(&f->link, data[i], &req)) {
            FZ_CHECK(req != NULL, "delivered without a frame");
            FZ_CHECK(req->cmd >= 1u && req->cmd <= PROTO_CMD_MAX, "delivered a non-request");
            FZ_CHECK(req->cmd != CMD_HELLO, "HELLO leaked to the app");
            FZ_CHECK(req->len <= LINK_MAX_PAYLOAD, "delivered an oversize frame");
            f->last_cmd = req->cmd;
            f->last_seq = req->seq;
            f->last_len = req->len;
            got++;
            f->delivered++;
            link_reply(&f->link, req, STATUS_OK, req->payload, req->len);
        }
    }
    return got;
}

/* Build a wire frame (COBS + delimiter) into out; returns its length. */
static uint32_t fz_make_frame(uint8_t cmd, uint8_t seq, uint8_t arg, const uint8_t *payload, uint16_t len,
                              uint8_t *out, uint32_t cap)
{
    static uint8_t body[LINK_MAX_FRAME + 64];
    int32_t n;
    body[0] = cmd;
    body[1] = seq;
    body[2] = arg;
    proto_put_u16(&body[3], len);
    memcpy(&body[PROTO_HEADER_SIZE], payload, len);
    proto_put_u32(&body[PROTO_HEADER_SIZE + len], mct_crc32(0u, body, PROTO_HEADER_SIZE + (uint32_t)len));
    n = cobs_encode(body, PROTO_HEADER_SIZE + (uint32_t)len + PROTO_CRC_SIZE, out, cap - 1u);
    FZ_CHECK(n > 0, "frame does not fit");
    out[n] = 0u;
    return (uint32_t)n + 1u;
}

/* After any garbage, a delimiter plus a fresh valid frame must be delivered intact. */
static void fz_probe(fz_t *f, uint32_t counter)
{
    static uint8_t wire[LINK_MAX_WIRE + 1];
    uint8_t payload[8];
    uint32_t n;
    proto_put_u32(payload, counter);
    proto_put_u32(&payload[4], ~counter);
    wire[0] = 0u;
    n = fz_make_frame(CMD_PING, (uint8_t)counter, 0u, payload, sizeof payload, &wire[1], sizeof wire - 1u);
    /* The leading delimiter may itself complete a frame the garbage started (a valid frame cut
     * just before its delimiter is one): that is correct, so it is fed on its own. */
    (void)fz_feed(f, wire, 1u);
    FZ_CHECK(fz_feed(f, &wire[1], n) == 1u, "valid frame after garbage was not accepted");
    FZ_CHECK(f->last_cmd == CMD_PING && f->last_seq == (uint8_t)counter && f->last_len == 8u,
             "probe delivered with wrong header");
    FZ_CHECK(memcmp(f->link.rx.payload, payload, 8) == 0, "probe delivered with wrong payload");
    /* The same frame again is a retransmission: answered from the cache, not delivered. */
    {
        uint32_t dups = f->link.counters.rx_dups;
        FZ_CHECK(fz_feed(f, &wire[1], n) == 0u, "duplicate probe re-executed");
        FZ_CHECK(f->link.counters.rx_dups == dups + 1u, "duplicate probe not replayed");
    }
}

#endif /* FUZZ_COMMON_H */
