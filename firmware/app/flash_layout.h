/* flash_layout.h - how the app divides the board's program/checkpoint region
 * (board_flash_*) into whole erase sectors, which may differ in size:
 *
 *   program area      every sector before slot A; LOAD target. Two banks when it has
 *                     2 or more sectors (split at the sector boundary nearest its middle),
 *                     so a failed upload never destroys the program in the other bank
 *   checkpoint slot A the fewest sectors before slot B holding APP_CHECKPOINT_SLOT_BYTES
 *   checkpoint slot B the fewest sectors at the region's end holding it
 *
 *   QEMU f405:     8 x 8 KB            program 2 sectors (banks 8 + 8 KB), slots of 3 (24 KB)
 *   DISCO-F746:    128 + 3 x 256 KB    program 384 KB (banks 128 + 256 KB), slots 256 KB
 *   NUCLEO-F412ZG: 7 x 128 KB          program 640 KB (banks 256 + 384 KB), slots 128 KB
 *   host build:    128 x 4 KB (default; MCT_HOST_FLASH_SECTORS, board/host.c)
 * Whole sectors each, so erasing one part never touches another. A program larger than
 * either bank takes the whole area (program_store.c). */
#ifndef MCUTRAIN_FLASH_LAYOUT_H
#define MCUTRAIN_FLASH_LAYOUT_H

#include <stdint.h>

typedef struct {
    uint32_t off;  /* offset inside the region */
    uint32_t size; /* bytes, whole erase sectors */
} flash_span_t;

/* 1 = the region holds the layout above (two slots and at least one program sector). */
int flash_layout_ok(void);

/* Valid when flash_layout_ok(). */
flash_span_t flash_program_area(void);
uint32_t flash_program_banks(void); /* 1 or 2 */
flash_span_t flash_program_bank(uint32_t bank);
flash_span_t flash_checkpoint_slot(uint32_t slot); /* 0 = A, 1 = B */

/* The erase sector holding region offset `off`; size 0 past the region. */
flash_span_t flash_sector_at(uint32_t off);

#endif /* MCUTRAIN_FLASH_LAYOUT_H */
