/* program_store.c - program discovery at boot and the LOAD transfer into flash. */
#include "program_store.h"

#include <string.h>

#include "board.h"
#include "engine.h"
#include "flash_layout.h"
#include "protocol.h"
#include "xfer.h"

/* The open LOAD: target span in the region, and the transfer sequencing. */
static struct {
    xfer_t x;
    flash_span_t span;
    uint8_t verified; /* COMMIT checked the blob, header not written yet */
} s_load;

static uint32_t rd32(const uint8_t *p) { return proto_get_u32(p); }

/* Record in `span` (or in the whole area when `span` is bank 0 and the record says so):
 * 1 with *out filled when it holds a program the engine accepts. */
static int bank_program(flash_span_t span, uint32_t room, program_ref_t *out, uint32_t *seq)
{
    const uint8_t *h = board_flash_ptr(span.off);
    mct_program_t p;
    uint32_t size = rd32(&h[8]);
    if (rd32(h) != PROGRAM_RECORD_MAGIC || size > room - PROGRAM_RECORD_HEADER) {
        return 0;
    }
    if (mct_program_load(&p, h + PROGRAM_RECORD_HEADER, size) != MCT_OK) {
        return 0;
    }
    out->blob = h + PROGRAM_RECORD_HEADER;
    out->size = p.size;
    out->model_id = rd32(&out->blob[12]);
    out->source = PROGRAM_SOURCE_UPLOADED;
    *seq = rd32(&h[4]);
    return 1;
}

static int rom_program(program_ref_t *out)
{
    uint32_t len;
    const uint8_t *rom = board_program_rom(&len);
    mct_program_t p;
    if (rom == NULL || len == 0u || mct_program_load(&p, rom, len) != MCT_OK) {
        return 0;
    }
    out->blob = rom;
    out->size = p.size;
    out->model_id = rd32(&rom[12]);
    out->source = PROGRAM_SOURCE_ROM;
    return 1;
}

int program_store_find(program_ref_t *out)
{
    program_ref_t cand;
    uint32_t best_seq = 0u, seq;
    int found = 0;
    uint32_t b;
    if (flash_layout_ok()) {
        flash_span_t area = flash_program_area();
        for (b = 0u; b < flash_program_banks(); ++b) {
            flash_span_t span = flash_program_bank(b);
            /* Bank 0 may hold a program spanning the whole area; then bank 1's "header" is
             * the middle of that blob and is never read as a record. */
            uint32_t room = b == 0u ? area.size : span.size;
            if (found && b == 1u && out->blob + out->size > board_flash_ptr(span.off)) {
                break;
            }
            if (bank_program(span, room, &cand, &seq) && (!found || seq > best_seq)) {
                *out = cand;
                best_seq = seq;
                found = 1;
            }
        }
    }
    return found || rom_program(out);
}

/* Highest seq among banks with a record header (valid or not), + 1. */
static uint32_t next_seq(void)
{
    uint32_t b, next = 1u;
    for (b = 0u; b < flash_program_banks(); ++b) {
        const uint8_t *h = board_flash_ptr(flash_program_bank(b).off);
        if (rd32(h) == PROGRAM_RECORD_MAGIC && rd32(&h[4]) >= next) {
            next = rd32(&h[4]) + 1u;
        }
    }
    return next;
}

static int span_holds(flash_span_t span, const uint8_t *p)
{
    const uint8_t *lo = board_flash_ptr(span.off);
    return p != NULL && p >= lo && p < lo + span.size;
}

/* The bank a program of `need` bytes (record included) goes to, never the one holding
 * `active`; among free ones the empty or older one, so the newer survives. */
static int pick_bank(uint32_t need, const uint8_t *active, flash_span_t *out)
{
    uint32_t b, best = 2u, best_seq = 0xFFFFFFFFu;
    if (flash_program_banks() < 2u) {
        return 0;
    }
    for (b = 0u; b < 2u; ++b) {
        flash_span_t span = flash_program_bank(b);
        const uint8_t *h = board_flash_ptr(span.off);
        uint32_t seq = rd32(h) == PROGRAM_RECORD_MAGIC ? rd32(&h[4]) : 0u;
        if (need > span.size || span_holds(span, active)) {
            continue;
        }
        if (best == 2u || seq < best_seq) {
            best = b;
            best_seq = seq;
        }
    }
    if (best == 2u) {
        return 0;
    }
    *out = flash_program_bank(best);
    return 1;
}

uint32_t program_store_capacity(void)
{
    return flash_layout_ok() ? flash_program_area().size - PROGRAM_RECORD_HEADER : 0u;
}

uint8_t program_store_begin(const uint8_t *payload, uint16_t len, const uint8_t *active, uint8_t *reply,
                            uint16_t *reply_len, int *clobbered)
{
    uint32_t total, crc;
    flash_span_t span, last;
    *clobbered = 0;
    if (len != LOAD_BEGIN_SIZE || payload[1] != LOAD_KIND_PROGRAM) {
        return STATUS_BAD_ARG;
    }
    total = proto_get_u32(&payload[4]);
    crc = proto_get_u32(&payload[8]);
    program_store_abort(); /* a new BEGIN ends an unfinished transfer */
    if (total == 0u) {
        return STATUS_BAD_ARG;
    }
    if (total > program_store_capacity()) {
        return STATUS_NO_SPACE;
    }
    if (!pick_bank(total + PROGRAM_RECORD_HEADER, active, &span)) {
        span = flash_program_area();
        *clobbered = span_holds(span, active);
    }
    /* Erase only the sectors the upload covers: fewer erase cycles, and on real flash an
     * erase of 256 KB takes seconds. */
    last = flash_sector_at(span.off + total + PROGRAM_RECORD_HEADER - 1u);
    if (board_flash_erase(span.off, last.off + last.size - span.off) != 0) {
        return STATUS_FLASH_ERROR;
    }
    s_load.span = span;
    s_load.verified = 0u;
    xfer_begin(&s_load.x, total, crc);
    proto_put_u32(&reply[0], program_store_capacity());
    proto_put_u16(&reply[4], (uint16_t)XFER_CHUNK_MAX_DATA);
    proto_put_u16(&reply[6], 0u);
    *reply_len = LOAD_BEGIN_REPLY_SIZE;
    return STATUS_OK;
}

uint8_t program_store_chunk(const uint8_t *payload, uint16_t len, uint8_t *reply, uint16_t *reply_len)
{
    uint32_t off, n, whole;
    const uint8_t *data;
    uint8_t st;
    if (s_load.verified != 0u) {
        return STATUS_BAD_STATE;
    }
    st = xfer_chunk(&s_load.x, payload, len, &off, &data, &n);
    if (st != STATUS_OK) {
        return st;
    }
    /* Flash takes whole words: every chunk but the last must keep offsets aligned. */
    if ((n & 3u) != 0u && off + n != s_load.x.total) {
        return STATUS_BAD_ARG;
    }
    whole = n & ~3u;
    if (whole != 0u &&
        board_flash_write(s_load.span.off + PROGRAM_RECORD_HEADER + off, data, whole) != 0) {
        return STATUS_FLASH_ERROR;
    }
    if (whole != n) {
        uint8_t tail[4] = {0xFFu, 0xFFu, 0xFFu, 0xFFu}; /* 0xFF leaves erased bits as they are */
        memcpy(tail, data + whole, n - whole);
        if (board_flash_write(s_load.span.off + PROGRAM_RECORD_HEADER + off + whole, tail, 4u) != 0) {
            return STATUS_FLASH_ERROR;
        }
    }
    xfer_accept(&s_load.x, n);
    proto_put_u32(reply, s_load.x.received);
    *reply_len = XFER_CHUNK_REPLY_SIZE;
    return STATUS_OK;
}

/* Clears the magic word (NOR: programming 0 over anything works without an erase). */
static void empty_bank(void)
{
    static const uint8_t zero[4] = {0u, 0u, 0u, 0u};
    (void)board_flash_write(s_load.span.off, zero, 4u);
}

uint8_t program_store_verify(program_ref_t *out)
{
    const uint8_t *blob = board_flash_ptr(s_load.span.off + PROGRAM_RECORD_HEADER);
    mct_program_t p;
    uint8_t st = xfer_complete(&s_load.x);
    if (st != STATUS_OK || s_load.verified != 0u) {
        return STATUS_BAD_STATE;
    }
    /* Over what flash holds, not over what arrived: also catches a bad program/write. */
    if (mct_crc32(0u, blob, s_load.x.total) != s_load.x.crc) {
        xfer_close(&s_load.x);
        empty_bank();
        return STATUS_BAD_CRC;
    }
    if (mct_program_load(&p, blob, s_load.x.total) != MCT_OK) {
        xfer_close(&s_load.x);
        empty_bank();
        return STATUS_BAD_ARG;
    }
    out->blob = blob;
    out->size = p.size;
    out->model_id = rd32(&blob[12]);
    out->source = PROGRAM_SOURCE_UPLOADED;
    s_load.verified = 1u;
    return STATUS_OK;
}

uint8_t program_store_seal(uint8_t *reply, uint16_t *reply_len)
{
    uint8_t h[PROGRAM_RECORD_HEADER];
    const uint8_t *blob = board_flash_ptr(s_load.span.off + PROGRAM_RECORD_HEADER);
    if (s_load.verified == 0u) {
        return STATUS_BAD_STATE;
    }
    proto_put_u32(&h[0], PROGRAM_RECORD_MAGIC);
    proto_put_u32(&h[4], next_seq());
    proto_put_u32(&h[8], s_load.x.total);
    proto_put_u32(&h[12], s_load.x.crc);
    s_load.verified = 0u;
    xfer_close(&s_load.x);
    if (board_flash_write(s_load.span.off, h, sizeof h) != 0 || memcmp(board_flash_ptr(s_load.span.off), h, sizeof h) != 0) {
        return STATUS_FLASH_ERROR;
    }
    proto_put_u32(&reply[0], s_load.x.total);
    proto_put_u32(&reply[4], s_load.x.crc);
    proto_put_u32(&reply[8], rd32(&blob[12]));
    *reply_len = LOAD_COMMIT_REPLY_SIZE;
    return STATUS_OK;
}

void program_store_abort(void)
{
    if (s_load.verified != 0u) {
        empty_bank();
    }
    s_load.verified = 0u;
    xfer_close(&s_load.x);
}

int program_store_busy(void) { return s_load.x.open != 0u; }
