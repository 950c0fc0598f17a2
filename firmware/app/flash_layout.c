/* flash_layout.c - the program area, its banks and the checkpoint slots, in whole erase
 * sectors of the board's region (flash_layout.h). Recomputed on each call from
 * board_flash_sector_size(): a few dozen sectors at most, asked at boot, LOAD and SAVE. */
#include "flash_layout.h"

#include "app_config.h"
#include "board.h"

typedef struct {
    flash_span_t area, bank[2], slot[2];
    uint32_t banks;
    int ok;
} layout_t;

/* Span of sectors [first, end). */
static flash_span_t sectors_span(uint32_t first, uint32_t end)
{
    flash_span_t s = {0u, 0u};
    uint32_t i;
    for (i = 0u; i < end; ++i) {
        uint32_t size = board_flash_sector_size(i);
        if (i < first) {
            s.off += size;
        } else {
            s.size += size;
        }
    }
    return s;
}

/* First sector of the fewest sectors ending at sector `end` (exclusive) that hold
 * APP_CHECKPOINT_SLOT_BYTES; `end` itself when they do not fit. */
static uint32_t slot_first(uint32_t end)
{
    uint32_t first = end, bytes = 0u;
    while (first > 0u && bytes < APP_CHECKPOINT_SLOT_BYTES) {
        first -= 1u;
        bytes += board_flash_sector_size(first);
    }
    return bytes >= APP_CHECKPOINT_SLOT_BYTES ? first : end;
}

static layout_t layout(void)
{
    layout_t l;
    uint32_t n = board_info()->flash_sectors, b_first = slot_first(n), a_first = slot_first(b_first);
    uint32_t split = 1u, best = 0xFFFFFFFFu, end = 0u, m;
    l.ok = b_first < n && a_first < b_first && a_first >= 1u;
    l.slot[0] = sectors_span(a_first, b_first);
    l.slot[1] = sectors_span(b_first, n);
    l.area = sectors_span(0u, a_first);
    l.banks = a_first >= 2u ? 2u : 1u;
    /* Bank boundary: the sector boundary nearest the middle of the area (lower one on a tie). */
    for (m = 1u; m < a_first; ++m) {
        end += board_flash_sector_size(m - 1u); /* bytes of sectors [0, m) */
        uint32_t dist = 2u * end > l.area.size ? 2u * end - l.area.size : l.area.size - 2u * end;
        if (dist < best) {
            best = dist;
            split = m;
        }
    }
    l.bank[0] = l.banks == 2u ? sectors_span(0u, split) : l.area;
    l.bank[1] = l.banks == 2u ? sectors_span(split, a_first) : l.area;
    return l;
}

int flash_layout_ok(void) { return layout().ok; }
flash_span_t flash_program_area(void) { return layout().area; }
uint32_t flash_program_banks(void) { return layout().banks; }
flash_span_t flash_program_bank(uint32_t bank) { return layout().bank[bank == 0u ? 0u : 1u]; }
flash_span_t flash_checkpoint_slot(uint32_t slot) { return layout().slot[slot == 0u ? 0u : 1u]; }

flash_span_t flash_sector_at(uint32_t off)
{
    flash_span_t s = {0u, 0u};
    uint32_t i, n = board_info()->flash_sectors;
    for (i = 0u; i < n; ++i) {
        uint32_t size = board_flash_sector_size(i);
        if (off < s.off + size) {
            s.size = size;
            return s;
        }
        s.off += size;
    }
    s.size = 0u;
    return s;
}
