/* program_store.h - where the engine's program comes from, and LOAD.
 *
 * Two places can hold a program (docs/schedule-format.md blob):
 *  - the program area of the flash region (flash_layout.h), written by LOAD: each bank
 *    starts with a 16-byte record header {u32 magic "MCTS", u32 seq, u32 size, u32 crc32},
 *    the blob follows at +16. The header is written last, after the blob checked out,
 *    so a bank whose upload was cut short is simply empty;
 *  - the board's read-only program area (board_program_rom()): a raw blob put there by
 *    the flasher (QEMU loader), for programs larger than the writable region.
 * At boot the uploaded program with the highest seq wins, else the ROM one.
 * A blob counts only if mct_program_load() accepts it (magic, version, CRC, bounds). */
#ifndef MCUTRAIN_PROGRAM_STORE_H
#define MCUTRAIN_PROGRAM_STORE_H

#include <stdint.h>

#define PROGRAM_RECORD_MAGIC 0x5354434Du /* "MCTS" */
#define PROGRAM_RECORD_HEADER 16u

typedef struct {
    const uint8_t *blob; /* NULL = none */
    uint32_t size;
    uint32_t model_id;   /* the program's header CRC (blob bytes 12..15), see docs/protocol.md */
    uint8_t source;      /* PROGRAM_SOURCE_* (protocol.h) */
} program_ref_t;

/* The program to run: newest valid upload, else ROM. Returns 1 when found. */
int program_store_find(program_ref_t *out);

/* LOAD BEGIN: checks the request, picks a bank and erases it. The bank never holds
 * `active` (the program currently bound, or NULL) when the new program fits one
 * bank; otherwise the whole program area is used and *clobbered is set when
 * `active` was in it (the caller must drop it: its bytes are gone). */
uint8_t program_store_begin(const uint8_t *payload, uint16_t len, const uint8_t *active, uint8_t *reply,
                            uint16_t *reply_len, int *clobbered);
uint8_t program_store_chunk(const uint8_t *payload, uint16_t len, uint8_t *reply, uint16_t *reply_len);

/* LOAD COMMIT, first half: all bytes in, CRC over flash equal to BEGIN's, and the engine
 * accepts the blob. On STATUS_OK *out is the new program (not yet sealed: a reboot now
 * would not find it). On failure the bank is emptied. */
uint8_t program_store_verify(program_ref_t *out);
/* Second half, once the caller has bound it: writes the record header. */
uint8_t program_store_seal(uint8_t *reply, uint16_t *reply_len);
/* Drops the transfer; a verified but unsealed upload is emptied. */
void program_store_abort(void);

/* Largest program LOAD takes (0 when the region is too small for the layout). */
uint32_t program_store_capacity(void);

/* 1 while a LOAD transfer is open. */
int program_store_busy(void);

#endif /* MCUTRAIN_PROGRAM_STORE_H */
