/* flash_sectors.h - the check every board's board_flash_erase() makes: does [offset,
 * offset + len) start and end on sector boundaries of the region? Walks
 * board_flash_sector_size(), so it serves uniform and mixed sector sizes alike. */
#ifndef BOARD_FLASH_SECTORS_H
#define BOARD_FLASH_SECTORS_H

#include "board.h"

/* 1 with *first = index of the first sector and *count sectors when the range is whole
 * sectors (len 0: count 0); 0 otherwise. */
static inline int board_sector_range(uint32_t offset, uint32_t len, uint32_t *first, uint32_t *count)
{
    uint32_t i = 0u, at = 0u, size;
    while ((size = board_flash_sector_size(i)) != 0u && at < offset) {
        at += size;
        i += 1u;
    }
    if (at != offset) {
        return 0;
    }
    *first = i;
    while (at - offset < len && (size = board_flash_sector_size(i)) != 0u) {
        at += size;
        i += 1u;
    }
    *count = i - *first;
    return at - offset == len;
}

#endif /* BOARD_FLASH_SECTORS_H */
