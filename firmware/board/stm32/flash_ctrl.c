/* flash_ctrl.c - sector erase and word programming through the STM32 F4/F7 flash controller
 * (FLASH_KEYR/SR/CR: RM0090, RM0402 and RM0385, sec. 3). PSIZE x32 needs VDD 2.7-3.6 V; the
 * boards run at 3.3 V. */
#include "stm32_chip.h"

#include "board.h"
#include "flash_sectors.h"
#include "startup/stm32_common.h"

static int32_t flash_wait(void)
{
    uint32_t sr;
    while ((FLASH_SR & FLASH_SR_BSY) != 0u) {
    }
    sr = FLASH_SR;
    FLASH_SR = sr & FLASH_SR_ERRORS; /* write 1 to clear */
    return (sr & FLASH_SR_ERRORS) != 0u ? -2 : 0;
}

/* The key sequence unlocks FLASH_CR until LOCK is set again. */
static void flash_unlock(void)
{
    if ((FLASH_CR & FLASH_CR_LOCK) != 0u) {
        FLASH_KEYR = FLASH_KEY1;
        FLASH_KEYR = FLASH_KEY2;
    }
    FLASH_SR = FLASH_SR_ERRORS;
}

/* Ends an erase or program sequence: lock the controller again, drop stale cached reads. */
static int32_t flash_done(const stm32_region_t *r, uint32_t offset, uint32_t len, int32_t rc)
{
    FLASH_CR = 0u;
    FLASH_CR |= FLASH_CR_LOCK;
    r->cache_sync(r->base + offset, len);
    return rc;
}

int32_t board_flash_erase(uint32_t offset, uint32_t len)
{
    const stm32_region_t *r = stm32_region();
    uint32_t sector, first, count;
    int32_t rc = 0;
    if (!board_sector_range(offset, len, &first, &count)) {
        return -1;
    }
    first += r->first_sector;
    flash_unlock();
    for (sector = first; sector < first + count; ++sector) {
        (void)flash_wait();
        board_watchdog_kick();
        FLASH_CR = FLASH_CR_PSIZE_X32 | FLASH_CR_SER | (sector << FLASH_CR_SNB_SHIFT);
        FLASH_CR |= FLASH_CR_STRT;
        cm_dsb();
        rc = flash_wait();
        board_watchdog_kick();
        if (rc != 0) {
            break;
        }
    }
    return flash_done(r, offset, len, rc);
}

int32_t board_flash_write(uint32_t offset, const void *data, uint32_t len)
{
    const stm32_region_t *r = stm32_region();
    const uint8_t *src = (const uint8_t *)data;
    volatile uint32_t *dst = (volatile uint32_t *)(uintptr_t)(r->base + offset);
    uint32_t i;
    int32_t rc = 0;
    if ((offset & 3u) != 0u || (len & 3u) != 0u || offset > r->size || len > r->size - offset) {
        return -1;
    }
    flash_unlock();
    (void)flash_wait();
    FLASH_CR = FLASH_CR_PSIZE_X32 | FLASH_CR_PG;
    for (i = 0u; i < len / 4u; ++i) {
        uint32_t word = (uint32_t)src[4u * i] | ((uint32_t)src[4u * i + 1u] << 8) |
                        ((uint32_t)src[4u * i + 2u] << 16) | ((uint32_t)src[4u * i + 3u] << 24);
        dst[i] = word;
        cm_dsb(); /* the write must leave the core's write buffer before BSY is polled */
        rc = flash_wait();
        if (rc != 0) {
            break;
        }
    }
    return flash_done(r, offset, len, rc);
}

const uint8_t *board_flash_ptr(uint32_t offset)
{
    return (const uint8_t *)(uintptr_t)(stm32_region()->base + offset);
}

/* On silicon the region is real flash: power cuts need a bench supply, not a hook
 * (they are staged on QEMU, qemu_f405.c). */
int32_t board_flash_cut(uint32_t after, uint32_t *counted)
{
    (void)after;
    *counted = 0u;
    return -1;
}

/* No separate read-only program area on silicon: a program flashed from outside goes to the
 * region's start as an upload record (tools/mcutrain/device/flash.py), where the app finds it
 * like an uploaded one. */
const uint8_t *board_program_rom(uint32_t *len)
{
    *len = 0u;
    return (const uint8_t *)0;
}
