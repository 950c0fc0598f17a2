/* Test shim around the device link, loaded by the Python tests through ctypes. It owns one link_t
 * plus a capture buffer for everything the link writes, so a test can feed wire bytes in and
 * read wire bytes out. No logic of its own beyond optional echo replies. */
#include <stdint.h>
#include <string.h>

#include "link.h"

#define SHIM_OUT_CAP (64u * 1024u)

typedef struct {
    link_t link;
    uint8_t out[SHIM_OUT_CAP];
    uint32_t out_len;
    uint32_t out_overflow;
    int echo;                 /* reply to every delivered request: OK + its own payload */
    uint32_t delivered;
    const link_frame_t *req;  /* last delivered request, valid until the next feed */
    link_frame_t last;        /* copy of it */
} shim_t;

uint32_t shim_size(void) { return (uint32_t)sizeof(shim_t); }
uint32_t shim_link_size(void) { return (uint32_t)sizeof(link_t); }

static void shim_write(void *ctx, const uint8_t *data, uint32_t len)
{
    shim_t *s = (shim_t *)ctx;
    if (s->out_len + len > SHIM_OUT_CAP) {
        s->out_overflow += len;
        return;
    }
    memcpy(&s->out[s->out_len], data, len);
    s->out_len += len;
}

void shim_init(shim_t *s, int echo)
{
    memset(s, 0, sizeof *s);
    s->echo = echo;
    link_init(&s->link, shim_write, s);
}

/* Feed bytes; returns how many requests were delivered to the "app". */
uint32_t shim_feed(shim_t *s, const uint8_t *data, uint32_t n)
{
    uint32_t i, got = 0;
    for (i = 0; i < n; i++) {
        const link_frame_t *req = NULL;
        if (link_rx_byte(&s->link, data[i], &req)) {
            got++;
            s->delivered++;
            s->req = req;
            memcpy(&s->last, req, sizeof s->last);
            if (s->echo) {
                link_reply(&s->link, req, STATUS_OK, req->payload, req->len);
            }
        }
    }
    return got;
}

uint32_t shim_take(shim_t *s, uint8_t *buf, uint32_t cap)
{
    uint32_t n = (s->out_len < cap) ? s->out_len : cap;
    memcpy(buf, s->out, n);
    memmove(s->out, &s->out[n], s->out_len - n);
    s->out_len -= n;
    return n;
}

void shim_last(const shim_t *s, uint8_t *cmd, uint8_t *seq, uint16_t *len, uint8_t *payload)
{
    *cmd = s->last.cmd;
    *seq = s->last.seq;
    *len = s->last.len;
    memcpy(payload, s->last.payload, s->last.len);
}

void shim_reply(shim_t *s, uint8_t status, const uint8_t *payload, uint16_t len)
{
    link_reply(&s->link, s->req, status, payload, len);
}

void shim_log(shim_t *s, const char *text) { link_log(&s->link, text); }

void shim_event(shim_t *s, uint8_t kind, const uint8_t *payload, uint16_t len)
{
    link_event(&s->link, kind, payload, len);
}

void shim_counters(const shim_t *s, uint32_t out[6])
{
    out[0] = s->link.counters.rx_frames;
    out[1] = s->link.counters.rx_dups;
    out[2] = s->link.counters.rx_bad_crc;
    out[3] = s->link.counters.rx_bad;
    out[4] = s->link.counters.rx_ignored;
    out[5] = s->link.counters.tx_frames;
}

/* Streaming encoder over several parts, to compare against the one-buffer encoder. */
typedef struct {
    uint8_t *buf;
    uint32_t len;
    uint32_t cap;
} sink_t;

static void sink_write(void *ctx, const uint8_t *data, uint32_t len)
{
    sink_t *k = (sink_t *)ctx;
    if (k->len + len <= k->cap) {
        memcpy(&k->buf[k->len], data, len);
    }
    k->len += len;
}

uint32_t shim_cobs_encode_parts(const uint8_t *a, uint32_t na, const uint8_t *b, uint32_t nb,
                                const uint8_t *c, uint32_t nc, uint8_t *out, uint32_t cap)
{
    const uint8_t *parts[3];
    uint32_t lens[3];
    sink_t k;
    parts[0] = a;
    parts[1] = b;
    parts[2] = c;
    lens[0] = na;
    lens[1] = nb;
    lens[2] = nc;
    k.buf = out;
    k.len = 0;
    k.cap = cap;
    cobs_encode_parts(parts, lens, 3u, sink_write, &k);
    return k.len;
}
