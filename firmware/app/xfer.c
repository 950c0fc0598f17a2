/* xfer.c - chunk sequencing shared by LOAD and SAMPLE. */
#include "xfer.h"

#include "protocol.h"

void xfer_begin(xfer_t *x, uint32_t total, uint32_t crc)
{
    x->total = total;
    x->received = 0u;
    x->crc = crc;
    x->open = 1u;
}

uint8_t xfer_chunk(const xfer_t *x, const uint8_t *payload, uint16_t len, uint32_t *offset,
                   const uint8_t **data, uint32_t *n)
{
    if (len <= XFER_CHUNK_HEADER_SIZE || len > XFER_CHUNK_HEADER_SIZE + XFER_CHUNK_MAX_DATA) {
        return STATUS_BAD_ARG;
    }
    if (x->open == 0u) {
        return STATUS_BAD_STATE;
    }
    *offset = proto_get_u32(&payload[4]);
    *n = (uint32_t)len - XFER_CHUNK_HEADER_SIZE;
    *data = &payload[XFER_CHUNK_HEADER_SIZE];
    /* Strictly sequential: a retransmitted chunk is replayed by the link and never
     * arrives here twice, so any other offset is a host bug or a lost chunk. */
    if (*offset != x->received) {
        return STATUS_BAD_STATE;
    }
    if (*n > x->total - x->received) {
        return STATUS_BAD_ARG;
    }
    return STATUS_OK;
}

void xfer_accept(xfer_t *x, uint32_t n) { x->received += n; }

uint8_t xfer_complete(const xfer_t *x)
{
    return (x->open != 0u && x->received == x->total) ? STATUS_OK : STATUS_BAD_STATE;
}

void xfer_close(xfer_t *x) { x->open = 0u; }
