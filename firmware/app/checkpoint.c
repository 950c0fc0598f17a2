/* checkpoint.c - A/B checkpoint slots in flash. */
#include "checkpoint.h"

#include <string.h>

#include "board.h"
#include "engine.h"
#include "flash_layout.h"
#include "protocol.h"
#include "session.h"

/* CHECKPOINT_SLOT_* of the weights in RAM: where they were restored from or saved to. */
static uint8_t s_current;

typedef struct {
    uint32_t seq, model_id, steps, size, crc;
} ckpt_header_t;

uint8_t checkpoint_current(void) { return s_current; }
void checkpoint_forget(void) { s_current = CHECKPOINT_SLOT_NONE; }

static uint32_t state_size(void)
{
    uint32_t i, n, len, total = 0u;
    uint8_t *p;
    n = session_state_region(0u, &p, &len);
    for (i = 0u; i < n; ++i) {
        (void)session_state_region(i, &p, &len);
        total += len;
    }
    return total;
}

/* 1 when slot (0 = A, 1 = B) holds a well-formed checkpoint; payload CRC checked too. */
static int read_slot(uint32_t slot, ckpt_header_t *h)
{
    flash_span_t span = flash_checkpoint_slot(slot);
    const uint8_t *p = board_flash_ptr(span.off);
    if (proto_get_u32(p) != CHECKPOINT_MAGIC || proto_get_u16(&p[4]) != CHECKPOINT_VERSION ||
        mct_crc32(0u, p, 28u) != proto_get_u32(&p[28])) {
        return 0;
    }
    h->seq = proto_get_u32(&p[8]);
    h->model_id = proto_get_u32(&p[12]);
    h->steps = proto_get_u32(&p[16]);
    h->size = proto_get_u32(&p[20]);
    h->crc = proto_get_u32(&p[24]);
    return h->size <= span.size - CHECKPOINT_HEADER &&
           mct_crc32(0u, p + CHECKPOINT_HEADER, h->size) == h->crc;
}

/* A checkpoint this program can take: same model, same state size. */
static int fits_model(const ckpt_header_t *h)
{
    const program_ref_t *ref = session_program();
    return ref != NULL && h->model_id == ref->model_id && h->size == state_size();
}

static void put_reply(const ckpt_header_t *h, uint8_t *reply, uint16_t *reply_len)
{
    proto_put_u32(&reply[0], h->size);
    proto_put_u32(&reply[4], h->crc);
    proto_put_u32(&reply[8], h->steps);
    *reply_len = CHECKPOINT_REPLY_SIZE;
}

static void load_slot(uint32_t slot, const ckpt_header_t *h)
{
    const uint8_t *src = board_flash_ptr(flash_checkpoint_slot(slot).off) + CHECKPOINT_HEADER;
    uint32_t i, n, len;
    uint8_t *p;
    n = session_state_region(0u, &p, &len);
    for (i = 0u; i < n; ++i) {
        (void)session_state_region(i, &p, &len);
        memcpy(p, src, len);
        src += len;
    }
    session_set_steps(h->steps);
    s_current = (uint8_t)(CHECKPOINT_SLOT_A + slot);
}

/* Slots of this model, newest first; returns how many (0..2). */
static uint32_t candidates(uint32_t order[2], ckpt_header_t hs[2])
{
    uint32_t n = 0u, s;
    ckpt_header_t h;
    for (s = 0u; s < 2u; ++s) {
        if (read_slot(s, &h) && fits_model(&h)) {
            hs[n] = h;
            order[n++] = s;
        }
    }
    if (n == 2u && hs[1].seq > hs[0].seq) {
        uint32_t t = order[0];
        order[0] = order[1];
        order[1] = t;
        h = hs[0];
        hs[0] = hs[1];
        hs[1] = h;
    }
    return n;
}

uint8_t checkpoint_boot(void)
{
    uint32_t order[2];
    ckpt_header_t hs[2];
    s_current = CHECKPOINT_SLOT_NONE;
    if (session_program() == NULL || !flash_layout_ok() || state_size() == 0u) {
        return CHECKPOINT_SLOT_NONE;
    }
    if (candidates(order, hs) > 0u) {
        load_slot(order[0], &hs[0]);
    }
    return s_current;
}

uint8_t checkpoint_restore(const uint8_t *payload, uint16_t len, uint8_t *reply, uint16_t *reply_len)
{
    uint32_t order[2];
    ckpt_header_t hs[2], h;
    uint8_t req;
    if (len != CHECKPOINT_REQ_SIZE || payload[0] > CHECKPOINT_SLOT_B) {
        return STATUS_BAD_ARG;
    }
    if (session_program() == NULL || state_size() == 0u) {
        return STATUS_NO_MODEL;
    }
    if (!flash_layout_ok()) {
        return STATUS_NO_CHECKPOINT;
    }
    req = payload[0];
    if (req != CHECKPOINT_SLOT_AUTO) {
        if (!read_slot((uint32_t)req - CHECKPOINT_SLOT_A, &h)) {
            return STATUS_NO_CHECKPOINT;
        }
        if (!fits_model(&h)) {
            return STATUS_NO_MODEL; /* a checkpoint of another program */
        }
        load_slot((uint32_t)req - CHECKPOINT_SLOT_A, &h);
        put_reply(&h, reply, reply_len);
        return STATUS_OK;
    }
    /* candidates() checked the payload CRCs: a damaged newest slot is not among them, so
     * the first one is the newest that is intact. */
    if (candidates(order, hs) == 0u) {
        return STATUS_NO_CHECKPOINT;
    }
    load_slot(order[0], &hs[0]);
    put_reply(&hs[0], reply, reply_len);
    return STATUS_OK;
}

/* Streams the state regions into flash at `off`: flash takes whole words, regions come in
 * any length, so bytes gather in a small buffer. The last word is padded with 0xFF. */
static int write_payload(uint32_t off, uint32_t *crc)
{
    uint8_t buf[64];
    uint32_t fill = 0u, i, n, len, k;
    uint8_t *p;
    *crc = 0u;
    n = session_state_region(0u, &p, &len);
    for (i = 0u; i < n; ++i) {
        (void)session_state_region(i, &p, &len);
        *crc = mct_crc32(*crc, p, len);
        for (k = 0u; k < len; ++k) {
            buf[fill++] = p[k];
            if (fill == sizeof buf) {
                if (board_flash_write(off, buf, fill) != 0) {
                    return -1;
                }
                off += fill;
                fill = 0u;
            }
        }
    }
    if (fill != 0u) {
        while ((fill & 3u) != 0u) {
            buf[fill++] = 0xFFu;
        }
        if (board_flash_write(off, buf, fill) != 0) {
            return -1;
        }
    }
    return 0;
}

/* A slot may span several erase sectors: they go last to first, so the sector with the header is
 * erased last on any board (within a sector, the board's own order; qemu_f405.c: back to front).
 * A save cut short during the erase leaves the old header over a half-erased payload (the
 * payload CRC rejects it) or no header: either way the slot reads as empty, the other one counts. */
static int erase_slot(flash_span_t span)
{
    uint32_t off = span.off + span.size;
    while (off > span.off) {
        flash_span_t sector = flash_sector_at(off - 1u);
        if (board_flash_erase(sector.off, sector.size) != 0) {
            return -1;
        }
        off = sector.off;
    }
    return 0;
}

uint8_t checkpoint_save(const uint8_t *payload, uint16_t len, uint8_t *reply, uint16_t *reply_len)
{
    ckpt_header_t h, a, b;
    int va, vb;
    uint32_t slot, next_seq;
    uint8_t hdr[CHECKPOINT_HEADER];
    flash_span_t span;
    const program_ref_t *ref = session_program();
    if (len != CHECKPOINT_REQ_SIZE || payload[0] > CHECKPOINT_SLOT_B) {
        return STATUS_BAD_ARG;
    }
    if (ref == NULL || state_size() == 0u) {
        return STATUS_NO_MODEL;
    }
    if (!flash_layout_ok()) {
        return STATUS_NO_SPACE;
    }
    va = read_slot(0u, &a);
    vb = read_slot(1u, &b);
    next_seq = 1u + (va && (!vb || a.seq >= b.seq) ? a.seq : (vb ? b.seq : 0u));
    if (payload[0] != CHECKPOINT_SLOT_AUTO) {
        slot = (uint32_t)payload[0] - CHECKPOINT_SLOT_A;
    } else {
        /* Never overwrite the newest valid checkpoint: it is what a reset falls back to. */
        slot = (va && (!vb || a.seq >= b.seq)) ? 1u : 0u;
    }
    span = flash_checkpoint_slot(slot);
    h.size = state_size();
    if (h.size > span.size - CHECKPOINT_HEADER) {
        return STATUS_NO_SPACE;
    }
    h.seq = next_seq;
    h.model_id = ref->model_id;
    h.steps = session_steps();
    if (erase_slot(span) != 0 || write_payload(span.off + CHECKPOINT_HEADER, &h.crc) != 0 ||
        mct_crc32(0u, board_flash_ptr(span.off + CHECKPOINT_HEADER), h.size) != h.crc) {
        return STATUS_FLASH_ERROR;
    }
    memset(hdr, 0, sizeof hdr);
    proto_put_u32(&hdr[0], CHECKPOINT_MAGIC);
    proto_put_u16(&hdr[4], (uint16_t)CHECKPOINT_VERSION);
    proto_put_u32(&hdr[8], h.seq);
    proto_put_u32(&hdr[12], h.model_id);
    proto_put_u32(&hdr[16], h.steps);
    proto_put_u32(&hdr[20], h.size);
    proto_put_u32(&hdr[24], h.crc);
    proto_put_u32(&hdr[28], mct_crc32(0u, hdr, 28u));
    if (board_flash_write(span.off, hdr, sizeof hdr) != 0 || !read_slot(slot, &h)) {
        return STATUS_FLASH_ERROR;
    }
    s_current = (uint8_t)(CHECKPOINT_SLOT_A + slot);
    put_reply(&h, reply, reply_len);
    return STATUS_OK;
}
