/* CRC-32 (IEEE 802.3 / zlib / PNG): reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF.
 * Chosen so the host can use zlib.crc32 as an independent implementation; check value of
 * "123456789" is 0xCBF43926. See docs/protocol.md for why CRC-32 rather than CRC-16. */
#ifndef MCUTRAIN_CRC32_H
#define MCUTRAIN_CRC32_H

#include <stdint.h>

#define CRC32_INIT 0xFFFFFFFFu

/* Streaming form: state = crc32_update(CRC32_INIT, ...) over each piece, then crc32_final(state). */
uint32_t crc32_update(uint32_t state, const uint8_t *data, uint32_t len);

static inline uint32_t crc32_final(uint32_t state) { return state ^ 0xFFFFFFFFu; }

/* One-shot CRC of a buffer. */
uint32_t crc32(const uint8_t *data, uint32_t len);

#endif /* MCUTRAIN_CRC32_H */
