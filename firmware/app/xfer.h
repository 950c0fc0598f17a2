/* xfer.h - sequencing of the chunked transfers (LOAD, SAMPLE; docs/protocol.md):
 * BEGIN fixes size and CRC, CHUNKs must arrive in order, COMMIT only when
 * every byte is there. Where the bytes go is the caller's business. */
#ifndef MCUTRAIN_XFER_H
#define MCUTRAIN_XFER_H

#include <stdint.h>

typedef struct {
    uint32_t total;    /* bytes announced by BEGIN */
    uint32_t received; /* bytes accepted so far */
    uint32_t crc;      /* CRC-32 announced by BEGIN */
    uint8_t open;      /* 1 between BEGIN and COMMIT/ABORT */
} xfer_t;

void xfer_begin(xfer_t *x, uint32_t total, uint32_t crc);

/* Checks a CHUNK request payload (op byte included) against the transfer.
 * On STATUS_OK gives the chunk's offset, data and length; nothing changes
 * until xfer_accept(). */
uint8_t xfer_chunk(const xfer_t *x, const uint8_t *payload, uint16_t len, uint32_t *offset,
                   const uint8_t **data, uint32_t *n);
void xfer_accept(xfer_t *x, uint32_t n);

/* STATUS_OK when a COMMIT may proceed (open, all bytes in). */
uint8_t xfer_complete(const xfer_t *x);
void xfer_close(xfer_t *x);

#endif /* MCUTRAIN_XFER_H */
