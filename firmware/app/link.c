#include "link.h"

#include <string.h>

#include "engine.h" /* mct_crc32: one CRC-32 for the link and the program format */

#define LINK_MIN_FRAME (PROTO_HEADER_SIZE + PROTO_CRC_SIZE)

static const uint8_t link_delim = 0u;

/* COBS-encode the concatenated parts and terminate the frame. */
static void link_send_parts(link_t *l, const uint8_t *const *parts, const uint32_t *lens, uint32_t n)
{
    cobs_encode_parts(parts, lens, n, l->write, l->ctx);
    l->write(l->ctx, &link_delim, 1u);
    l->counters.tx_frames++;
}

static void link_send_cached(link_t *l)
{
    const uint8_t *parts[1];
    uint32_t lens[1];
    parts[0] = l->tx;
    lens[0] = l->tx_len;
    link_send_parts(l, parts, lens, 1u);
}

/* Header + payload + CRC from three separate places, so events need no buffer of their own. */
static void link_send_frame(link_t *l, uint8_t cmd, uint8_t seq, uint8_t arg, const uint8_t *payload,
                            uint16_t len)
{
    uint8_t hdr[PROTO_HEADER_SIZE];
    uint8_t crc[PROTO_CRC_SIZE];
    const uint8_t *parts[3];
    uint32_t lens[3];
    uint32_t state;

    hdr[0] = cmd;
    hdr[1] = seq;
    hdr[2] = arg;
    proto_put_u16(&hdr[3], len);
    state = mct_crc32(0u, hdr, PROTO_HEADER_SIZE);
    state = mct_crc32(state, payload, len);
    proto_put_u32(crc, state);
    parts[0] = hdr;
    parts[1] = payload;
    parts[2] = crc;
    lens[0] = PROTO_HEADER_SIZE;
    lens[1] = len;
    lens[2] = PROTO_CRC_SIZE;
    link_send_parts(l, parts, lens, 3u);
}

static void link_nak(link_t *l, uint8_t seq, uint8_t reason)
{
    if (reason == STATUS_BAD_CRC) {
        l->counters.rx_bad_crc++;
    } else {
        l->counters.rx_bad++;
    }
    link_send_frame(l, FRAME_NAK, seq, reason, NULL, 0u);
}

void link_init(link_t *l, link_write_fn write, void *ctx)
{
    memset(l, 0, sizeof *l);
    l->write = write;
    l->ctx = ctx;
    cobs_dec_reset(&l->dec);
    /* Delimit whatever glitch bytes the UART may have put on the line during reset, so they
     * cannot merge with (and spoil) the BOOT event that usually follows. */
    l->write(l->ctx, &link_delim, 1u);
}

/* Store one decoded byte in place; a frame found bad is discarded up to its delimiter. */
static void link_rx_put(link_t *l, uint8_t b)
{
    uint16_t pos = l->rx_pos;
    if (l->rx_err != 0u) {
        return;
    }
    switch (pos) {
    case 0u: l->rx.cmd = b; break;
    case 1u: l->rx.seq = b; break;
    case 2u: l->rx_arg = b; break;
    case 3u: l->rx.len = b; break;
    case 4u:
        l->rx.len = (uint16_t)(l->rx.len | ((uint16_t)b << 8));
        if (l->rx.len > LINK_MAX_PAYLOAD) {
            l->rx_err = STATUS_TOO_LONG;
            return;
        }
        break;
    default: {
        uint16_t off = (uint16_t)(pos - PROTO_HEADER_SIZE);
        if (off < l->rx.len) {
            l->rx.payload[off] = b;
        } else if ((uint16_t)(off - l->rx.len) < PROTO_CRC_SIZE) {
            l->rx_crc[off - l->rx.len] = b;
        } else {
            /* More bytes than the header announced: cannot be trusted, and must not overflow. */
            l->rx_err = STATUS_BAD_FRAME;
            return;
        }
        break;
    }
    }
    l->rx_pos = (uint16_t)(pos + 1u);
}

static void link_answer_hello(link_t *l, uint32_t crc)
{
    uint8_t p[HELLO_REPLY_SIZE];
    uint8_t status = STATUS_OK;
    /* A HELLO opens a host session: forget the previous session's reply. */
    l->have_last = 0u;
    l->pending_crc = crc;
    if (l->rx.len >= 1u && l->rx.payload[0] != PROTO_VERSION) {
        status = STATUS_VERSION;
    }
    p[0] = PROTO_VERSION;
    p[1] = 0u;
    proto_put_u16(&p[2], (uint16_t)LINK_MAX_PAYLOAD);
    proto_put_u32(&p[4], l->counters.rx_frames);
    proto_put_u32(&p[8], l->counters.rx_bad_crc + l->counters.rx_bad);
    link_reply(l, &l->rx, status, p, HELLO_REPLY_SIZE);
}

/* A delimiter arrived: judge the frame that it ends. */
static int link_rx_end(link_t *l, int dec_result, const link_frame_t **out)
{
    uint16_t pos = l->rx_pos;
    uint8_t err = l->rx_err;
    uint32_t crc;

    l->rx_pos = 0u;
    l->rx_err = 0u;
    if (dec_result == COBS_DEC_ERROR && err == 0u) {
        err = STATUS_BAD_FRAME; /* the line dropped bytes inside a COBS block */
    }
    if (pos == 0u && err == 0u) {
        return 0; /* back-to-back delimiters: idle filler, used by the host to resync */
    }
    if (err == 0u && (pos < LINK_MIN_FRAME || pos != LINK_MIN_FRAME + l->rx.len)) {
        err = STATUS_BAD_FRAME;
    }
    crc = proto_get_u32(l->rx_crc);
    if (err == 0u) {
        uint8_t hdr[PROTO_HEADER_SIZE];
        uint32_t state;
        hdr[0] = l->rx.cmd;
        hdr[1] = l->rx.seq;
        hdr[2] = l->rx_arg;
        proto_put_u16(&hdr[3], l->rx.len);
        state = mct_crc32(0u, hdr, PROTO_HEADER_SIZE);
        state = mct_crc32(state, l->rx.payload, l->rx.len);
        if (state != crc) {
            err = STATUS_BAD_CRC;
        }
    }
    if (err != 0u) {
        /* The seq is only a hint (the header may be the damaged part); the host retransmits its
         * outstanding request on any NAK, which is safe because duplicates are not re-executed. */
        link_nak(l, (pos >= 2u) ? l->rx.seq : 0u, err);
        return 0;
    }
    if (l->rx.cmd == 0u || l->rx.cmd > PROTO_CMD_MAX) {
        /* A reply, NAK or event: our own frames echoed by a loopback, or another device. NAKing
         * them could start a NAK storm between two devices, so stay silent. */
        l->counters.rx_ignored++;
        return 0;
    }
    if (l->have_last && l->rx.seq == l->last_seq && crc == l->last_crc) {
        /* The host retransmitted because our reply was lost or late: replay, do not re-execute. */
        l->counters.rx_dups++;
        link_send_cached(l);
        return 0;
    }
    if (l->rx.cmd == CMD_HELLO) {
        link_answer_hello(l, crc);
        return 0;
    }
    l->counters.rx_frames++;
    l->pending_crc = crc;
    *out = &l->rx;
    return 1;
}

int link_rx_byte(link_t *l, uint8_t byte, const link_frame_t **out)
{
    uint8_t b = 0u;
    int r = cobs_dec_byte(&l->dec, byte, &b);
    if (r == COBS_DEC_BYTE) {
        link_rx_put(l, b);
        return 0;
    }
    if (r == COBS_DEC_END || r == COBS_DEC_ERROR) {
        return link_rx_end(l, r, out);
    }
    return 0;
}

void link_reply(link_t *l, const link_frame_t *req, uint8_t status, const uint8_t *payload, uint16_t len)
{
    uint32_t crc;
    if (len > LINK_MAX_PAYLOAD || (payload == NULL && len != 0u)) {
        status = STATUS_INTERNAL;
        len = 0u;
    }
    l->tx[0] = (uint8_t)(req->cmd | PROTO_REPLY_BIT);
    l->tx[1] = req->seq;
    l->tx[2] = status;
    proto_put_u16(&l->tx[3], len);
    if (len != 0u) {
        /* memmove: a handler may pass back part of its own request (PING echoes it). */
        memmove(&l->tx[PROTO_HEADER_SIZE], payload, len);
    }
    crc = mct_crc32(0u, l->tx, (uint32_t)PROTO_HEADER_SIZE + len);
    proto_put_u32(&l->tx[PROTO_HEADER_SIZE + len], crc);
    l->tx_len = (uint16_t)(LINK_MIN_FRAME + len);
    l->have_last = 1u;
    l->last_seq = req->seq;
    l->last_crc = l->pending_crc;
    link_send_cached(l);
}

void link_event(link_t *l, uint8_t kind, const uint8_t *payload, uint16_t len)
{
    if (payload == NULL) {
        len = 0u;
    }
    if (len > LINK_MAX_PAYLOAD) {
        len = (uint16_t)LINK_MAX_PAYLOAD; /* an event is best effort; a long log line is cut */
    }
    link_send_frame(l, FRAME_EVENT, l->event_seq, kind, payload, len);
    l->event_seq++;
}

void link_log(link_t *l, const char *text)
{
    uint16_t n = 0u;
    /* Bounded strlen: never read past what one frame can carry. */
    while (n < LINK_MAX_PAYLOAD && text[n] != '\0') {
        n++;
    }
    link_event(l, EVENT_LOG, (const uint8_t *)text, n);
}
