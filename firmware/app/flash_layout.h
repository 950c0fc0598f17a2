/* flash_layout.h - how the app divides the board's program/checkpoint region
 * (board_flash_*). In erase units of the board (n = region size / erase size):
 *
 *   units [0, n-2)  program area for LOAD; two banks when it has 2 or more units,
 *                   so a failed upload never destroys the program in the other bank
 *   unit n-2        checkpoint slot A
 *   unit n-1        checkpoint slot B
 *
 * QEMU f405: 4 x 16 KB (banks of 16 KB); DISCO-F746: 3 x 256 KB (one bank);
 * host build: 128 x 4 KB. Whole erase units each, so erasing one part never
 * touches another. */
#ifndef MCUTRAIN_FLASH_LAYOUT_H
#define MCUTRAIN_FLASH_LAYOUT_H

#include <stdint.h>

#include "board.h"

typedef struct {
    uint32_t off;  /* offset inside the region */
    uint32_t size; /* bytes, whole erase units */
} flash_span_t;

static inline uint32_t flash_units(void)
{
    const board_info_t *bi = board_info();
    return bi->flash_erase_size == 0u ? 0u : bi->flash_size / bi->flash_erase_size;
}

/* 1 = the region is big enough for the layout above (at least 3 units). */
static inline int flash_layout_ok(void) { return flash_units() >= 3u; }

static inline flash_span_t flash_program_area(void)
{
    flash_span_t s;
    s.off = 0u;
    s.size = (flash_units() - 2u) * board_info()->flash_erase_size;
    return s;
}

static inline uint32_t flash_program_banks(void) { return flash_units() >= 4u ? 2u : 1u; }

static inline flash_span_t flash_program_bank(uint32_t bank)
{
    uint32_t e = board_info()->flash_erase_size;
    uint32_t units = flash_units() - 2u;
    flash_span_t s;
    if (flash_program_banks() == 1u) {
        return flash_program_area();
    }
    s.off = bank == 0u ? 0u : (units / 2u) * e;
    s.size = bank == 0u ? (units / 2u) * e : (units - units / 2u) * e;
    return s;
}

/* slot 0 = A, 1 = B */
static inline flash_span_t flash_checkpoint_slot(uint32_t slot)
{
    uint32_t e = board_info()->flash_erase_size;
    flash_span_t s;
    s.off = (flash_units() - 2u + slot) * e;
    s.size = e;
    return s;
}

#endif /* MCUTRAIN_FLASH_LAYOUT_H */
