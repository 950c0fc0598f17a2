/* Device side of the serial link: COBS-framed, CRC-32-checked request/reply frames with sequence
 * numbers, NAKs for damaged frames, replay of the cached reply for a retransmitted request, and
 * unsolicited log/event frames. Spec: docs/protocol.md. Contract: docs/contracts.md.
 *
 * No malloc, no globals, no board calls: all state lives in a link_t that the app allocates
 * statically, received bytes come in through link_rx_byte() and every output byte leaves through
 * the write callback. Single-threaded: call everything from the main loop (not from an ISR), and
 * answer each request delivered by link_rx_byte() with exactly one link_reply() before feeding the
 * next byte, because the request frame is overwritten by the next one. */
#ifndef MCUTRAIN_LINK_H
#define MCUTRAIN_LINK_H

#include <stdint.h>

#include "cobs.h"
#include "protocol.h"

#define LINK_MAX_PAYLOAD 1024u
/* Largest decoded frame: header + payload + CRC. */
#define LINK_MAX_FRAME (PROTO_HEADER_SIZE + LINK_MAX_PAYLOAD + PROTO_CRC_SIZE)
/* Largest frame on the wire, with COBS overhead and the 0x00 delimiter. */
#define LINK_MAX_WIRE (COBS_MAX_ENCODED(LINK_MAX_FRAME) + 1u)

typedef void (*link_write_fn)(void *ctx, const uint8_t *data, uint32_t len);

typedef struct {
    uint8_t cmd;
    uint8_t seq;
    uint16_t len;
    uint8_t payload[LINK_MAX_PAYLOAD];
} link_frame_t;

/* Counters for diagnostics (also reported in the HELLO reply). */
typedef struct {
    uint32_t rx_frames;   /* valid requests delivered to the app */
    uint32_t rx_dups;     /* retransmitted requests answered from the reply cache */
    uint32_t rx_bad_crc;  /* frames NAKed for a CRC mismatch */
    uint32_t rx_bad;      /* frames NAKed as malformed or oversize */
    uint32_t rx_ignored;  /* well-formed frames that were not requests (e.g. a loopback echo) */
    uint32_t tx_frames;   /* frames sent: replies, NAKs, events */
} link_counters_t;

typedef struct link {
    link_write_fn write;
    void *ctx;

    /* Receive: decoded straight into rx, so there is no separate frame buffer. */
    cobs_dec_t dec;
    uint16_t rx_pos;              /* decoded bytes of the current frame */
    uint8_t rx_err;               /* 0, or the NAK reason once the current frame is known bad */
    uint8_t rx_arg;               /* header arg byte (0 in requests; kept to check the CRC) */
    uint8_t rx_crc[PROTO_CRC_SIZE];
    link_frame_t rx;

    /* Duplicate detection: a retransmission is byte-identical, so seq + frame CRC identify it,
     * and a new request that reuses a seq (new host session) still gets executed. */
    uint8_t have_last;
    uint8_t last_seq;
    uint32_t last_crc;
    uint32_t pending_crc;         /* CRC of the request handed to the app, awaiting link_reply */

    /* The last reply, whole and unencoded, so a retransmitted request is answered without
     * running the command again. */
    uint16_t tx_len;
    uint8_t tx[LINK_MAX_FRAME];

    uint8_t event_seq;            /* per-boot counter; BOOT is 0, so the host can count lost events */
    link_counters_t counters;
} link_t;

void link_init(link_t *l, link_write_fn write, void *ctx);

/* Feed one received byte. Returns 1 and sets *out when a new valid request completed. Bad CRC or
 * garbage -> NAK sent by the link itself; a repeated seq -> cached reply resent, returns 0.
 * HELLO (the version handshake) is answered by the link itself and never reaches the app. */
int link_rx_byte(link_t *l, uint8_t byte, const link_frame_t **out);

/* Answer req. A len above LINK_MAX_PAYLOAD is a handler bug: the host gets STATUS_INTERNAL. */
void link_reply(link_t *l, const link_frame_t *req, uint8_t status, const uint8_t *payload, uint16_t len);

/* Unsolicited frames; they bypass the reply cache and are never retransmitted. */
void link_log(link_t *l, const char *text);
void link_event(link_t *l, uint8_t kind, const uint8_t *payload, uint16_t len);

#endif /* MCUTRAIN_LINK_H */
