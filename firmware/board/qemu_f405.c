/* qemu_f405.c - STM32F405 as QEMU 7.2's netduinoplus2 emulates it.
 *
 * What QEMU models and what it does not (checked against QEMU 7.2):
 * - USART1 at 0x40011000 with the F4 register layout (SR/DR/CR1). It
 *   holds one received byte and back-pressures the host socket while RXNE is
 *   set, so polling loses nothing. Transmit is immediate (TXE always set).
 * - No RCC/clock tree, no DWT: the counter is SysTick on the CPU clock,
 *   which QEMU runs at 168 MHz of virtual time. Under -icount shift=0 one
 *   instruction is 1 ns of virtual time, so instructions = ticks / 0.168.
 * - Flash is mapped as ROM with no flash controller, so writes cannot
 *   persist, and there is no CCM. The checkpoint region is the top 64 KB of
 *   SRAM instead (see linker/qemu_f405.ld), with NOR-flash semantics
 *   emulated: erase -> 0xFF, write can only clear bits. A program larger than
 *   that can still be put into the (ROM) flash from outside with QEMU's
 *   `-device loader,file=...,addr=...` (tools/mcutrain/device/qemu.py).
 * - SRAM dies with the emulator process, flash does not: so the region is
 *   also kept in a host file. The host names it on the semihosting command
 *   line (`-semihosting-config arg=flash=PATH`); at power-on the board reads
 *   the region from it, and every erase/write goes to the file (SYS_SEEK +
 *   SYS_WRITE, a host write(2), done before the call returns). Killing QEMU
 *   at any point thus leaves in the file exactly the bytes written before.
 *   (Not `-device loader`: QEMU copies loader blobs in again at every system
 *   reset, which would put back stale contents after board_reset().)
 * - No IWDG/WWDG (`info qtree`: both are unimplemented-device, writes
 *   ignored) and no RCC_CSR (reads 0). The watchdog is a software one in the
 *   SysTick interrupt instead (board_watchdog_*).
 * - Semihosting (-semihosting) ends the emulator with an exit status.
 */
#include "board.h"
#include "startup/cortexm.h"
#include "flash_sectors.h"
#include "startup/stm32_common.h"

#include <string.h>

#define USART1_BASE 0x40011000u
#define USART1_SR REG32(USART1_BASE + 0x00u)
#define USART1_DR REG32(USART1_BASE + 0x04u)
#define USART1_BRR REG32(USART1_BASE + 0x08u)
#define USART1_CR1 REG32(USART1_BASE + 0x0Cu)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_UE (1u << 13)

#define QEMU_F405_CORE_HZ 168000000u
/* Erase sector of the stand-in region. The F405's smallest sectors are 16 KB, but 64 KB of those
 * cannot hold two program banks and two checkpoint slots of 24 KB (flash_layout.h): 8 x 8 KB
 * can (banks 8 + 8 KB, slots 3 sectors each). */
#define FAKE_FLASH_SECTOR_SIZE (8u * 1024u)

/* From linker/qemu_f405.ld. */
extern uint32_t _fake_flash_start[], _fake_flash_end[];
extern uint32_t _program_rom_start[], _program_rom_end[];
#define FAKE_FLASH_BASE ((uint32_t)(uintptr_t)_fake_flash_start)
#define FAKE_FLASH_SIZE ((uint32_t)((uintptr_t)_fake_flash_end - (uintptr_t)_fake_flash_start))

/* SysTick wraps every 2^24 ticks: 99.9 ms of virtual time at 168 MHz. */
#define SYSTICK_WRAP_TICKS (SYST_RELOAD_MAX + 1u)

static volatile uint32_t s_systick_wraps; /* written by SysTick_Handler only */
static uint32_t s_reset_reason;

/* Filled in board_init(): the addresses are link-time values. */
static board_info_t s_info;

/* Software watchdog: wraps allowed between kicks (0 = not started), wrap count at the last kick. */
static volatile uint32_t s_wd_limit;
static volatile uint32_t s_wd_kicked;

static void flash_backing_init(int power_on);

void SysTick_Handler(void)
{
    uint32_t wraps = s_systick_wraps + 1u;
    s_systick_wraps = wraps;
    /* SysTick has the highest configurable priority and nothing else runs in handler mode
     * for long, so a main loop that stopped kicking is seen within one wrap of the timeout. */
    if (s_wd_limit != 0u && wraps - s_wd_kicked > s_wd_limit) {
        cm_set_reset_marker(BOARD_RESET_WATCHDOG);
        cm_system_reset();
    }
}

void board_init(void)
{
    /* QEMU models no RCC_CSR (reads 0); a fresh emulator process is a power-on. */
    s_reset_reason = stm32_reset_reason();
    if (s_reset_reason == BOARD_RESET_UNKNOWN) {
        s_reset_reason = BOARD_RESET_POWER;
    }
    s_info.board_id = BOARD_ID_QEMU_F405;
    s_info.unit = BOARD_UNIT_QEMU_TICK;
    s_info.tick_hz = QEMU_F405_CORE_HZ;
    s_info.core_hz = QEMU_F405_CORE_HZ;
    s_info.ram_base = (uint32_t)(uintptr_t)_ram_start;
    s_info.ram_size = (uint32_t)((uintptr_t)_ram_end - (uintptr_t)_ram_start);
    s_info.flash_base = FAKE_FLASH_BASE;
    s_info.flash_size = FAKE_FLASH_SIZE;
    s_info.flash_sectors = FAKE_FLASH_SIZE / FAKE_FLASH_SECTOR_SIZE;
    s_info.flash_is_ram = 1u;
    s_info.flash_total = 1024u * 1024u;
    /* A new emulator process starts with zeroed RAM: the region comes from the host file, or
     * is an erased chip without one. After board_reset() it keeps its contents, like flash. */
    flash_backing_init(s_reset_reason == BOARD_RESET_POWER);
    /* Clock gate and 115200 baud at the 16 MHz HSI reset clock, as on the real
     * part; QEMU ignores both but they cost nothing. */
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
    USART1_BRR = 0x8Bu; /* 16 MHz / (16 * 115200) = 8.68 -> 8 + 11/16 */
    USART1_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;

    cm_systick_start();
}

const board_info_t *board_info(void) { return &s_info; }
uint32_t board_reset_reason(void) { return s_reset_reason; }

void board_uart_put(uint8_t byte)
{
    while ((USART1_SR & USART_SR_TXE) == 0u) {
    }
    USART1_DR = byte;
}

int32_t board_uart_get(void)
{
    if ((USART1_SR & USART_SR_RXNE) == 0u) {
        return -1;
    }
    return (int32_t)(USART1_DR & 0xFFu);
}

uint64_t board_cycles(void)
{
    /* 24-bit down counter + wrap count. A wrap that happened but whose
     * interrupt has not run yet (interrupts masked, or we are in a
     * handler) shows as PENDSTSET: count it and re-read the value so both
     * halves are from after the wrap. */
    uint32_t primask = cm_irq_save();
    uint32_t wraps = s_systick_wraps;
    uint32_t val = SYST_CVR;
    if ((SCB_ICSR & SCB_ICSR_PENDSTSET) != 0u) {
        val = SYST_CVR;
        wraps += 1u;
    }
    cm_irq_restore(primask);
    return ((uint64_t)wraps << 24) + (uint64_t)(SYST_RELOAD_MAX - val);
}

/* ---- checkpoint region: SRAM standing in for flash, kept in a host file ---- */

#define SH_SYS_OPEN 0x01u
#define SH_SYS_WRITE 0x05u
#define SH_SYS_READ 0x06u
#define SH_SYS_SEEK 0x0Au
#define SH_SYS_FLEN 0x0Cu
#define SH_SYS_GET_CMDLINE 0x15u
#define SH_MODE_RB_PLUS 3u /* "r+b": the file must exist; read and written in place */
#define FLASH_ARG "flash="

/* The flash stand-in's own state, the emulated part of the "hardware": which host file backs
 * it, and the power-cut hook. In .bss; `backing` is set by flash_backing_init() at every boot,
 * before any erase or write. */
static struct {
    int32_t backing;   /* semihosting handle of the host file; -1: none (RAM only) */
    uint32_t counted;  /* bytes changed since the last board_flash_cut() */
    uint32_t cut_at;   /* `counted` value at which the power is cut; 0: never */
    char cmdline[256]; /* SYS_GET_CMDLINE buffer: "flash=PATH" */
} s_flash;

static uint32_t sh(uint32_t op, const uint32_t *block)
{
    return cm_semihost(op, (uint32_t)(uintptr_t)block);
}

/* The file named by `flash=PATH` on the semihosting command line, opened read/write. */
static int32_t backing_open(void)
{
    uint32_t blk[3];
    uint32_t n = (uint32_t)sizeof FLASH_ARG - 1u, len;
    blk[0] = (uint32_t)(uintptr_t)s_flash.cmdline;
    blk[1] = (uint32_t)sizeof s_flash.cmdline;
    if (sh(SH_SYS_GET_CMDLINE, blk) != 0u || blk[1] <= n || blk[1] >= sizeof s_flash.cmdline ||
        memcmp(s_flash.cmdline, FLASH_ARG, n) != 0) {
        return -1;
    }
    len = blk[1] - n;
    s_flash.cmdline[blk[1]] = '\0';
    blk[0] = (uint32_t)(uintptr_t)&s_flash.cmdline[n];
    blk[1] = SH_MODE_RB_PLUS;
    blk[2] = len;
    return (int32_t)sh(SH_SYS_OPEN, blk);
}

/* Writes region bytes [off, off + len) through to the file. */
static int32_t persist(uint32_t off, uint32_t len)
{
    uint32_t blk[3];
    if (s_flash.backing < 0 || len == 0u) {
        return 0;
    }
    blk[0] = (uint32_t)s_flash.backing;
    blk[1] = off;
    if (sh(SH_SYS_SEEK, blk) != 0u) {
        return -1;
    }
    blk[1] = FAKE_FLASH_BASE + off;
    blk[2] = len;
    return sh(SH_SYS_WRITE, blk) == 0u ? 0 : -1; /* returns the bytes NOT written */
}

static void flash_backing_init(int power_on)
{
    uint32_t blk[3];
    /* Opened again at every boot: the handle lived in .bss, and QEMU keeps the old one open
     * across a system reset (one spare host fd per reset, for the emulator's lifetime). */
    s_flash.backing = backing_open();
    if (!power_on) {
        return; /* the region kept its contents, which the file already holds */
    }
    if (s_flash.backing >= 0) {
        blk[0] = (uint32_t)s_flash.backing;
        if (sh(SH_SYS_FLEN, blk) == FAKE_FLASH_SIZE) {
            blk[1] = 0u;
            if (sh(SH_SYS_SEEK, blk) == 0u) {
                blk[1] = FAKE_FLASH_BASE;
                blk[2] = FAKE_FLASH_SIZE;
                if (sh(SH_SYS_READ, blk) == 0u) {
                    return;
                }
            }
        }
        /* A file of the wrong size or unreadable: treated as an erased chip, rewritten whole. */
    }
    (void)board_flash_erase(0u, s_info.flash_sectors * FAKE_FLASH_SECTOR_SIZE);
}

/* How many of the next `len` changed bytes happen before the armed cut; *cut = 1 when the
 * power goes right after them. */
static uint32_t cut_budget(uint32_t len, int *cut)
{
    uint32_t n = len;
    *cut = 0;
    if (s_flash.cut_at != 0u && s_flash.cut_at - s_flash.counted <= len) {
        n = s_flash.cut_at - s_flash.counted;
        *cut = 1;
    }
    s_flash.counted += n;
    return n;
}

static void power_cut(void)
{
    /* Dead at once: no reply, no flush, the operation is not finished. */
    board_exit(BOARD_EXIT_POWER_CUT);
}

int32_t board_flash_erase(uint32_t offset, uint32_t len)
{
    uint32_t n, first, count;
    int cut;
    if (!board_sector_range(offset, len, &first, &count)) {
        return -1;
    }
    /* Back to front, so that an erase cut short leaves the start of the unit (where the app's
     * headers are) intact over a half-erased rest: the harder case for whoever validates it. */
    n = cut_budget(len, &cut);
    memset((void *)(uintptr_t)(FAKE_FLASH_BASE + offset + len - n), 0xFF, n);
    if (persist(offset + len - n, n) != 0) {
        return -1;
    }
    if (cut) {
        power_cut();
    }
    return 0;
}

int32_t board_flash_write(uint32_t offset, const void *data, uint32_t len)
{
    uint8_t *dst = (uint8_t *)(uintptr_t)(FAKE_FLASH_BASE + offset);
    const uint8_t *src = (const uint8_t *)data;
    uint32_t i, n;
    int cut;
    if ((offset & 3u) != 0u || (len & 3u) != 0u || offset > FAKE_FLASH_SIZE || len > FAKE_FLASH_SIZE - offset) {
        return -1;
    }
    /* Byte by byte so a cut can fall inside a word (real flash may tear a word too). */
    n = cut_budget(len, &cut);
    for (i = 0u; i < n; ++i) {
        dst[i] &= src[i]; /* NOR flash: programming only clears bits */
    }
    if (persist(offset, n) != 0) {
        return -1;
    }
    if (cut) {
        power_cut();
    }
    return 0;
}

const uint8_t *board_flash_ptr(uint32_t offset)
{
    return (const uint8_t *)(uintptr_t)(FAKE_FLASH_BASE + offset);
}

uint32_t board_flash_sector_size(uint32_t index)
{
    return index < s_info.flash_sectors ? FAKE_FLASH_SECTOR_SIZE : 0u;
}

int32_t board_flash_cut(uint32_t after, uint32_t *counted)
{
    *counted = s_flash.counted;
    s_flash.counted = 0u;
    s_flash.cut_at = after;
    return 0;
}

/* ---- watchdog: software, in SysTick (QEMU has no IWDG) ---- */

void board_watchdog_start(uint32_t timeout_ms)
{
    /* Whole wraps, rounded up; the check in SysTick_Handler adds up to one more. */
    uint64_t ticks = (uint64_t)timeout_ms * (QEMU_F405_CORE_HZ / 1000u);
    uint32_t limit = (uint32_t)((ticks + SYSTICK_WRAP_TICKS - 1u) / SYSTICK_WRAP_TICKS);
    s_wd_kicked = s_systick_wraps;
    s_wd_limit = limit == 0u ? 1u : limit;
}

/* A plain store: the main loop kicks on every turn, and an MMIO access would be a QEMU exit. */
void board_watchdog_kick(void)
{
    s_wd_kicked = s_systick_wraps;
}

void board_reset(void)
{
    cm_set_reset_marker(BOARD_RESET_SOFTWARE);
    cm_system_reset();
}

void board_exit(int32_t code)
{
    cm_semihost_exit(code);
}

/* The upper half of the (ROM) flash holds a program that QEMU's loader put
 * there (tools/mcutrain/device/qemu.py preload=); the firmware cannot write it. */
const uint8_t *board_program_rom(uint32_t *len)
{
    *len = (uint32_t)((uintptr_t)_program_rom_end - (uintptr_t)_program_rom_start);
    return (const uint8_t *)_program_rom_start;
}
