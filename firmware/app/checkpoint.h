/* checkpoint.h - learned state in two flash slots, A and B (flash_layout.h).
 *
 * Slot = 32-byte header then the payload (the session's state regions, concatenated):
 *   0 u32 magic "MCTK" | 4 u16 version (1) | 6 pad | 8 u32 seq | 12 u32 model_id |
 *   16 u32 steps | 20 u32 payload size | 24 u32 payload CRC-32 | 28 u32 CRC-32 of bytes 0..27
 * The header is written last, after the payload was read back and checked, so a save cut
 * short by a reset leaves an invalid slot and the other slot still holds the previous state.
 * A save goes to the slot that does not hold the newest valid checkpoint; a restore (and the
 * boot) takes the newest valid one of the bound model, falling back to the other slot. */
#ifndef MCUTRAIN_CHECKPOINT_H
#define MCUTRAIN_CHECKPOINT_H

#include <stdint.h>

#include "protocol.h"

#define CHECKPOINT_MAGIC 0x4B54434Du /* "MCTK" */
#define CHECKPOINT_VERSION 1u
#define CHECKPOINT_HEADER 32u
/* In INFO and BOOT, 0 means "no checkpoint"; in requests the same value means "auto". */
#define CHECKPOINT_SLOT_NONE CHECKPOINT_SLOT_AUTO

/* CHECKPOINT_SAVE / CHECKPOINT_RESTORE request payloads; reply CHECKPOINT_REPLY_SIZE. */
uint8_t checkpoint_save(const uint8_t *payload, uint16_t len, uint8_t *reply, uint16_t *reply_len);
uint8_t checkpoint_restore(const uint8_t *payload, uint16_t len, uint8_t *reply, uint16_t *reply_len);

/* At boot, after binding a program: restore its newest valid checkpoint, if any.
 * Returns the slot restored (CHECKPOINT_SLOT_A/B) or CHECKPOINT_SLOT_NONE. */
uint8_t checkpoint_boot(void);

/* Slot the current weights came from or went to last (CHECKPOINT_SLOT_*), for INFO. */
uint8_t checkpoint_current(void);
void checkpoint_forget(void);

#endif /* MCUTRAIN_CHECKPOINT_H */
