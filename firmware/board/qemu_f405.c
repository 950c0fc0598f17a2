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
 * - No IWDG (writes are ignored), no RCC_CSR (reads 0).
 * - Semihosting (-semihosting) ends the emulator with an exit status.
 */
#include "board.h"
#include "startup/cortexm.h"
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
#define FAKE_FLASH_ERASE_SIZE (16u * 1024u) /* like the F405's small sectors */

/* From linker/qemu_f405.ld. */
extern uint32_t _fake_flash_start[], _fake_flash_end[];
extern uint32_t _program_rom_start[], _program_rom_end[];
#define FAKE_FLASH_BASE ((uint32_t)(uintptr_t)_fake_flash_start)
#define FAKE_FLASH_SIZE ((uint32_t)((uintptr_t)_fake_flash_end - (uintptr_t)_fake_flash_start))

static volatile uint32_t s_systick_wraps; /* written by SysTick_Handler only */
static uint32_t s_reset_reason;

/* Filled in board_init(): the addresses are link-time values. */
static board_info_t s_info;
static uint32_t s_watchdog_on;

void SysTick_Handler(void)
{
    s_systick_wraps = s_systick_wraps + 1u;
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
    s_info.flash_erase_size = FAKE_FLASH_ERASE_SIZE;
    s_info.flash_is_ram = 1u;
    s_info.flash_total = 1024u * 1024u;
    /* A new emulator process starts with zeroed RAM; make that an erased
     * chip. After board_reset() the region keeps its contents, like flash. */
    if (s_reset_reason == BOARD_RESET_POWER) {
        (void)board_flash_erase(0u, FAKE_FLASH_SIZE - FAKE_FLASH_SIZE % FAKE_FLASH_ERASE_SIZE);
    }
    /* Clock gate and 115200 baud at the 16 MHz HSI reset clock, as on the real
     * part; QEMU ignores both but they cost nothing. */
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
    USART1_BRR = 0x8Bu; /* 16 MHz / (16 * 115200) = 8.68 -> 8 + 11/16 */
    USART1_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;

    SYST_RVR = SYST_RELOAD_MAX;
    SYST_CVR = 0u;
    SYST_CSR = SYST_CSR_CLKSOURCE_CPU | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
}

const board_info_t *board_info(void) { return &s_info; }
uint32_t board_reset_reason(void) { return s_reset_reason; }

void board_uart_put(uint8_t byte)
{
    while ((USART1_SR & USART_SR_TXE) == 0u) {
    }
    USART1_DR = byte;
}

void board_uart_write(const uint8_t *data, uint32_t len)
{
    uint32_t i;
    for (i = 0u; i < len; ++i) {
        board_uart_put(data[i]);
    }
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

/* ---- checkpoint region: SRAM standing in for flash ---- */

int32_t board_flash_erase(uint32_t offset, uint32_t len)
{
    if (offset % FAKE_FLASH_ERASE_SIZE != 0u || len % FAKE_FLASH_ERASE_SIZE != 0u ||
        offset > FAKE_FLASH_SIZE || len > FAKE_FLASH_SIZE - offset) {
        return -1;
    }
    memset((void *)(uintptr_t)(FAKE_FLASH_BASE + offset), 0xFF, len);
    return 0;
}

int32_t board_flash_write(uint32_t offset, const void *data, uint32_t len)
{
    volatile uint32_t *dst = (volatile uint32_t *)(uintptr_t)(FAKE_FLASH_BASE + offset);
    const uint8_t *src = (const uint8_t *)data;
    uint32_t i;
    if ((offset & 3u) != 0u || (len & 3u) != 0u || offset > FAKE_FLASH_SIZE || len > FAKE_FLASH_SIZE - offset) {
        return -1;
    }
    for (i = 0u; i < len / 4u; ++i) {
        uint32_t word;
        memcpy(&word, src + 4u * i, 4u);
        dst[i] &= word; /* NOR flash: programming only clears bits */
    }
    return 0;
}

const uint8_t *board_flash_ptr(uint32_t offset)
{
    return (const uint8_t *)(uintptr_t)(FAKE_FLASH_BASE + offset);
}

void board_watchdog_start(uint32_t timeout_ms)
{
    stm32_iwdg_start(timeout_ms);
    s_watchdog_on = 1u;
}

/* Only once started: every register access is an MMIO exit in QEMU, and the
 * main loop kicks on every turn. */
void board_watchdog_kick(void)
{
    if (s_watchdog_on != 0u) {
        stm32_iwdg_kick();
    }
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
