/* disco_f746.c - STM32F746NG on the STM32F746G-DISCO (the paper's board).
 *
 * Console: USART1 on PA9 (TX) / PB7 (RX), wired to the ST-LINK virtual COM
 * port, 115200 8N1.
 *
 * Clock: by default the core stays on the 16 MHz HSI it resets to. That needs
 * no flash wait states and cannot be misconfigured, and cycle counts (what we
 * measure) do not depend on the clock except through flash wait states.
 * Build with -DDISCO_F746_FAST=1 for the paper's setting: PLL from HSI to
 * 216 MHz (over-drive, 7 wait states, ART) with I- and D-cache on. That path
 * follows RM0385 sec. 3.3.2, 4.1.4 and 5.3 but has not been run on hardware
 * by this project yet.
 *
 * Counter: DWT CYCCNT (32 bit, core cycles), extended to 64 bits by a
 * SysTick interrupt that samples it more often than it wraps.
 */
#include "board.h"
#include "startup/cortexm.h"
#include "startup/stm32_common.h"
#include "stm32/stm32_chip.h"

/* F7 USART layout (RM0385 31.8), not the F4 one. */
#define USART1_BASE 0x40011000u
#define USART1_CR1 REG32(USART1_BASE + 0x00u)
#define USART1_BRR REG32(USART1_BASE + 0x0Cu)
#define USART1_ISR REG32(USART1_BASE + 0x1Cu)
#define USART1_ICR REG32(USART1_BASE + 0x20u)
#define USART1_RDR REG32(USART1_BASE + 0x24u)
#define USART1_TDR REG32(USART1_BASE + 0x28u)
#define USART_CR1_UE (1u << 0)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_ISR_ORE (1u << 3)
#define USART_ISR_RXNE (1u << 5)
#define USART_ISR_TC (1u << 6)
#define USART_ISR_TXE (1u << 7)
#define USART_ICR_ORECF (1u << 3)

#define PWR_CR1 REG32(0x40007000u)
#define PWR_CSR1 REG32(0x40007004u)
#define PWR_CR1_ODEN (1u << 16)
#define PWR_CR1_ODSWEN (1u << 17)
#define PWR_CSR1_ODRDY (1u << 16)
#define PWR_CSR1_ODSWRDY (1u << 17)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)

#define FLASH_REGION_BASE 0x08020000u /* chip sectors 4-7, see disco_f746.ld */
#define FLASH_REGION_SIZE (896u * 1024u)
#define FLASH_REGION_FIRST_SECTOR 4u
#define FLASH_REGION_SECTORS 4u
#define DCACHE_LINE 32u

#ifndef DISCO_F746_FAST
#define DISCO_F746_FAST 0
#endif

#if DISCO_F746_FAST
#define CORE_HZ 216000000u
#define PCLK2_HZ 108000000u
#else
#define CORE_HZ 16000000u
#define PCLK2_HZ 16000000u
#endif

static const board_info_t s_info = {
    .board_id = BOARD_ID_DISCO_F746,
    .unit = BOARD_UNIT_CPU_CYCLE,
    .tick_hz = CORE_HZ,
    .core_hz = CORE_HZ,
    .ram_base = 0x20000000u,
    .ram_size = 320u * 1024u,
    .flash_base = FLASH_REGION_BASE,
    .flash_size = FLASH_REGION_SIZE,
    .flash_sectors = FLASH_REGION_SECTORS,
    .flash_is_ram = 0u,
    .flash_total = 1024u * 1024u,
};

static uint32_t s_reset_reason;

#if DISCO_F746_FAST
static void clock_216mhz(void)
{
    RCC_APB1ENR |= RCC_APB1ENR_PWREN;
    (void)RCC_APB1ENR; /* read back: the enable takes effect after a bus cycle */
    /* PLL: HSI 16 MHz / M=8 = 2 MHz; * N=216 = 432 MHz VCO; / P=2 = 216 MHz;
     * / Q=9 = 48 MHz (USB, SDMMC). PLLSRC = HSI (bit 22 clear). */
    RCC_PLLCFGR = (8u << 0) | (216u << 6) | (0u << 16) | (9u << 24);
    RCC_CR |= RCC_CR_PLLON;
    while ((RCC_CR & RCC_CR_PLLRDY) == 0u) {
    }
    /* Above 180 MHz the regulator needs over-drive (VOS scale 1 is the reset value). */
    PWR_CR1 |= PWR_CR1_ODEN;
    while ((PWR_CSR1 & PWR_CSR1_ODRDY) == 0u) {
    }
    PWR_CR1 |= PWR_CR1_ODSWEN;
    while ((PWR_CSR1 & PWR_CSR1_ODSWRDY) == 0u) {
    }
    /* 7 wait states at 2.7-3.6 V, 216 MHz; prefetch + ART accelerator. */
    FLASH_ACR = 7u | (1u << 8) | (1u << 9);
    while ((FLASH_ACR & 0xFu) != 7u) {
    }
    /* AHB /1, APB1 /4 = 54 MHz (max 54), APB2 /2 = 108 MHz (max 108), then switch. */
    RCC_CFGR = (RCC_CFGR & ~0xFCF3u) | (5u << 10) | (4u << 13);
    RCC_CFGR = (RCC_CFGR & ~3u) | 2u;
    while (((RCC_CFGR >> 2) & 3u) != 2u) {
    }
}

static void caches_enable(void)
{
    uint32_t sets;
    uint32_t ways;
    uint32_t ccsidr;

    cm_dsb();
    cm_isb();
    SCB_ICIALLU = 0u;
    cm_dsb();
    cm_isb();
    SCB_CCR |= SCB_CCR_IC;

    SCB_CSSELR = 0u; /* level 1 data cache */
    cm_dsb();
    ccsidr = SCB_CCSIDR;
    sets = (ccsidr >> 13) & 0x7FFFu;
    do {
        ways = (ccsidr >> 3) & 0x3FFu;
        do {
            SCB_DCISW = ((sets & 0x1FFu) << 5) | ((ways & 3u) << 30);
        } while (ways-- != 0u);
    } while (sets-- != 0u);
    cm_dsb();
    SCB_CCR |= SCB_CCR_DC;
    cm_dsb();
    cm_isb();
}
#endif

void board_init(void)
{
    s_reset_reason = stm32_reset_reason();
#if DISCO_F746_FAST
    clock_216mhz();
    caches_enable();
#endif
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIOAEN | RCC_AHB1ENR_GPIOBEN;
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
    (void)RCC_APB2ENR;

    /* PA9 = USART1_TX, PB7 = USART1_RX, both alternate function 7. */
    GPIO_MODER(GPIOA_BASE) = (GPIO_MODER(GPIOA_BASE) & ~(3u << 18)) | (GPIO_MODE_AF << 18);
    GPIO_AFRH(GPIOA_BASE) = (GPIO_AFRH(GPIOA_BASE) & ~(0xFu << 4)) | (7u << 4);
    GPIO_OSPEEDR(GPIOA_BASE) |= 2u << 18;
    GPIO_MODER(GPIOB_BASE) = (GPIO_MODER(GPIOB_BASE) & ~(3u << 14)) | (GPIO_MODE_AF << 14);
    GPIO_AFRL(GPIOB_BASE) = (GPIO_AFRL(GPIOB_BASE) & ~(0xFu << 28)) | (7u << 28);
    GPIO_PUPDR(GPIOB_BASE) = (GPIO_PUPDR(GPIOB_BASE) & ~(3u << 14)) | (1u << 14); /* idle high */

    USART1_CR1 = 0u;
    USART1_BRR = (PCLK2_HZ + 115200u / 2u) / 115200u; /* oversampling by 16 */
    USART1_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;

    DWT_LAR = DWT_LAR_KEY; /* the M7 keeps the DWT locked until this key is written */
    stm32_cycles_start();
}

const board_info_t *board_info(void) { return &s_info; }
uint32_t board_reset_reason(void) { return s_reset_reason; }

void board_uart_put(uint8_t byte)
{
    while ((USART1_ISR & USART_ISR_TXE) == 0u) {
    }
    USART1_TDR = byte;
}

int32_t board_uart_get(void)
{
    uint32_t isr = USART1_ISR;
    if ((isr & USART_ISR_ORE) != 0u) {
        /* An overrun stops reception until cleared; the lost byte shows up
         * as a bad frame, which the link layer NAKs. */
        USART1_ICR = USART_ICR_ORECF;
    }
    if ((isr & USART_ISR_RXNE) == 0u) {
        return -1;
    }
    return (int32_t)(USART1_RDR & 0xFFu);
}

/* ---- checkpoint/program region: real flash, chip sectors 4-7 ---- */

static void dcache_invalidate(uint32_t addr, uint32_t len)
{
    /* Reads of the region may be cached (FAST build); drop stale lines
     * after the flash controller changed the array underneath. */
    uint32_t a = addr & ~(DCACHE_LINE - 1u);
    cm_dsb();
    for (; a < addr + len; a += DCACHE_LINE) {
        SCB_DCIMVAC = a;
    }
    cm_dsb();
    cm_isb();
}

/* RM0385 3.3.2: sector 4 is 128 KB, sectors 5-7 are 256 KB. */
uint32_t board_flash_sector_size(uint32_t index)
{
    if (index >= FLASH_REGION_SECTORS) {
        return 0u;
    }
    return index == 0u ? 128u * 1024u : 256u * 1024u;
}

const stm32_region_t *stm32_region(void)
{
    static const stm32_region_t region = {
        FLASH_REGION_BASE, FLASH_REGION_SIZE, FLASH_REGION_FIRST_SECTOR, dcache_invalidate,
    };
    return &region;
}

void stm32_uart_drain(void)
{
    while ((USART1_ISR & USART_ISR_TC) == 0u) {
    }
}
