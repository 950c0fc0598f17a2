/* flash_layout.h - how the app divides the board's program/checkpoint region
 * (board_flash_*). In erase units of the board (n = region size / erase size,
 * s = units per checkpoint slot, flash_slot_units()):
 *
 *   units [0, n-2s)     program area for LOAD; two banks when it has 2 or more units,
 *                       so a failed upload never destroys the program in the other bank
 *   units [n-2s, n-s)   checkpoint slot A
 *   units [n-s, n)      checkpoint slot B
 *
 * A slot is the fewest whole erase units that hold APP_CHECKPOINT_SLOT_BYTES
 * (app_config.h), so the number of units per slot follows from the board:
 *   QEMU f405:   8 x 8 KB: program 2 units (banks of 8 KB), slots of 3 units (24 KB)
 *   DISCO-F746:  3 x 256 KB: program 1 unit (one bank), slots of 1 unit (256 KB)
 *   host build:  128 x 4 KB: program 116 units (banks of 232 KB), slots of 6 units (24 KB)
 * Whole erase units each, so erasing one part never touches another. */
#ifndef MCUTRAIN_FLASH_LAYOUT_H
#define MCUTRAIN_FLASH_LAYOUT_H

#include <stdint.h>

#include "app_config.h"
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

/* Erase units per checkpoint slot (at least 1). */
static inline uint32_t flash_slot_units(void)
{
    uint32_t e = board_info()->flash_erase_size;
    uint32_t s = e == 0u ? 0u : (APP_CHECKPOINT_SLOT_BYTES + e - 1u) / e;
    return s == 0u ? 1u : s;
}

/* 1 = the region is big enough for the layout above (two slots and a program unit). */
static inline int flash_layout_ok(void) { return flash_units() >= 2u * flash_slot_units() + 1u; }

/* Units of the program area (valid when flash_layout_ok()). */
static inline uint32_t flash_program_units(void) { return flash_units() - 2u * flash_slot_units(); }

static inline flash_span_t flash_program_area(void)
{
    flash_span_t s;
    s.off = 0u;
    s.size = flash_program_units() * board_info()->flash_erase_size;
    return s;
}

static inline uint32_t flash_program_banks(void) { return flash_program_units() >= 2u ? 2u : 1u; }

static inline flash_span_t flash_program_bank(uint32_t bank)
{
    uint32_t e = board_info()->flash_erase_size;
    uint32_t units = flash_program_units();
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
    s.off = (flash_program_units() + slot * flash_slot_units()) * e;
    s.size = flash_slot_units() * e;
    return s;
}

#endif /* MCUTRAIN_FLASH_LAYOUT_H */
