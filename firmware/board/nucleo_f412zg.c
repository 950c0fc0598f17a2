/* nucleo_f412zg.c - STM32F412ZGT6 on the NUCLEO-F412ZG (Cortex-M4F, 256 KB SRAM, 1 MB flash).
 *
 * Written from RM0402 and the STM32F412Zx CMSIS header; not yet run on hardware by this project.
 *
 * Console: USART3 on PD8 (TX) / PD9 (RX), alternate function 7, wired to the ST-LINK/V2-1
 * virtual COM port, 115200 8N1. USART3 sits on APB1.
 *
 * Clock: by default the core stays on the 16 MHz HSI it resets to: no flash wait states, no
 * PLL, nothing to misconfigure, and cycle counts (what we measure) depend on the clock only
 * through flash wait states. Build with -DNUCLEO_F412ZG_FAST=1 for the chip's maximum: PLL from
 * HSI to 100 MHz, regulator scale 1, 3 wait states, prefetch and the ART I/D caches.
 *
 * Counter: DWT CYCCNT (32 bit, core cycles), extended to 64 bits by a SysTick interrupt that
 * samples it more often than it wraps.
 *
 * Flash (RM0402 sec. 3, single bank, 12 sectors: 4 x 16 KB, 64 KB, 7 x 128 KB): code in sectors
 * 0-4 (128 KB, linker/nucleo_f412zg.ld); the checkpoint/program region is sectors 5-11
 * (0x08020000, 7 x 128 KB), region sector i being chip sector 5 + i.
 */
#include "board.h"
#include "startup/cortexm.h"
#include "startup/stm32_common.h"
#include "stm32/stm32_chip.h"

/* F4 USART layout (RM0402 USART chapter; same as the F405's, not the F7's ISR/ICR/RDR/TDR). */
#define USART3_BASE 0x40004800u
#define USART3_SR REG32(USART3_BASE + 0x00u)
#define USART3_DR REG32(USART3_BASE + 0x04u)
#define USART3_BRR REG32(USART3_BASE + 0x08u)
#define USART3_CR1 REG32(USART3_BASE + 0x0Cu)
#define USART_SR_ORE (1u << 3)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TC (1u << 6)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_UE (1u << 13)

/* PWR_CR (RM0402 sec. 5, PWR registers): VOS[1:0] at bits 15:14, 01 = scale 3 (<= 64 MHz),
 * 10 = scale 2 (<= 84 MHz, the reset value), 11 = scale 1 (<= 100 MHz). */
#define PWR_CR REG32(0x40007000u)
#define PWR_CSR REG32(0x40007004u)
#define PWR_CR_VOS_MASK (3u << 14)
#define PWR_CR_VOS_SCALE1 (3u << 14)
#define PWR_CSR_VOSRDY (1u << 14)

/* RCC_CR, RCC_PLLCFGR, RCC_CFGR fields (RM0402 RCC chapter, register descriptions). */
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_PLLCFGR_M(m) ((uint32_t)(m) << 0)            /* PLLM[5:0], VCO input = HSI / M */
#define RCC_PLLCFGR_N(n) ((uint32_t)(n) << 6)            /* PLLN[8:0], VCO = input * N */
#define RCC_PLLCFGR_P(p) ((uint32_t)((p) / 2u - 1u) << 16) /* PLLP[1:0]: 0 = /2 ... 3 = /8 */
#define RCC_PLLCFGR_Q(q) ((uint32_t)(q) << 24)           /* PLLQ[3:0], 2..15 */
#define RCC_PLLCFGR_R(r) ((uint32_t)(r) << 28)           /* PLLR[2:0], 2..7 (F412 has it) */
#define RCC_CFGR_SW_MASK 3u
#define RCC_CFGR_SW_PLL 2u                               /* PLL_P output */
#define RCC_CFGR_SWS(cfgr) (((cfgr) >> 2) & 3u)
#define RCC_CFGR_BUS_MASK (0xFu << 4 | 7u << 10 | 7u << 13) /* HPRE, PPRE1, PPRE2 */
#define RCC_CFGR_PPRE1_DIV2 (4u << 10)

/* FLASH_ACR (RM0402 sec. 3, flash interface registers): LATENCY at bits 3:0 (the CMSIS
 * header masks only 2:0), then prefetch and the ART cache bits. */
#define FLASH_ACR_LATENCY_MASK 0xFu
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)
#define FLASH_ACR_ICRST (1u << 11)
#define FLASH_ACR_DCRST (1u << 12)

#define FLASH_REGION_BASE 0x08020000u /* chip sectors 5-11, see linker/nucleo_f412zg.ld */
#define FLASH_REGION_SECTORS 7u
#define FLASH_REGION_SECTOR_SIZE (128u * 1024u)
#define FLASH_REGION_SIZE (FLASH_REGION_SECTORS * FLASH_REGION_SECTOR_SIZE)
#define FLASH_REGION_FIRST_SECTOR 5u

#define UART_BAUD 115200u

#ifndef NUCLEO_F412ZG_FAST
#define NUCLEO_F412ZG_FAST 0
#endif

#if NUCLEO_F412ZG_FAST
#define CORE_HZ 100000000u
#define PCLK1_HZ 50000000u /* APB1 /2: its maximum is 50 MHz */
#else
#define CORE_HZ 16000000u
#define PCLK1_HZ 16000000u
#endif

static const board_info_t s_info = {
    .board_id = BOARD_ID_NUCLEO_F412ZG,
    .unit = BOARD_UNIT_CPU_CYCLE,
    .tick_hz = CORE_HZ,
    .core_hz = CORE_HZ,
    .ram_base = 0x20000000u,
    .ram_size = 256u * 1024u,
    .flash_base = FLASH_REGION_BASE,
    .flash_size = FLASH_REGION_SIZE,
    .flash_sectors = FLASH_REGION_SECTORS,
    .flash_is_ram = 0u,
    .flash_total = 1024u * 1024u,
};

static uint32_t s_reset_reason;

#if NUCLEO_F412ZG_FAST
static void clock_100mhz(void)
{
    RCC_APB1ENR |= RCC_APB1ENR_PWREN;
    (void)RCC_APB1ENR; /* read back: the enable takes effect after a bus cycle */
    /* Scale 1 for 100 MHz. VOS may only be changed while the PLL is off and takes effect
     * once it runs (RM0402 sec. 5, PWR_CR VOS), so set it first and check VOSRDY after PLLRDY. */
    PWR_CR = (PWR_CR & ~PWR_CR_VOS_MASK) | PWR_CR_VOS_SCALE1;
    /* HSI 16 MHz / M=8 = 2 MHz VCO input (the recommended value); * N=100 = 200 MHz VCO;
     * / P=2 = 100 MHz SYSCLK; Q=4 (50 MHz, USB/SDIO unused); R=2 (a valid PLLR, unused).
     * PLLSRC = HSI (bit 22 clear). */
    RCC_PLLCFGR = RCC_PLLCFGR_M(8u) | RCC_PLLCFGR_N(100u) | RCC_PLLCFGR_P(2u) |
                  RCC_PLLCFGR_Q(4u) | RCC_PLLCFGR_R(2u);
    RCC_CR |= RCC_CR_PLLON;
    while ((RCC_CR & RCC_CR_PLLRDY) == 0u) {
    }
    while ((PWR_CSR & PWR_CSR_VOSRDY) == 0u) {
    }
    /* RM0402 sec. 3, wait-state table: 3 wait states for 90 < HCLK <= 100 MHz at 2.7-3.6 V.
     * Wait states first, checked by reading back, then reset the ART caches (only allowed
     * while they are disabled, sec. 3, ART accelerator) and switch on prefetch and both. */
    FLASH_ACR = 3u;
    while ((FLASH_ACR & FLASH_ACR_LATENCY_MASK) != 3u) {
    }
    FLASH_ACR = 3u | FLASH_ACR_ICRST | FLASH_ACR_DCRST;
    FLASH_ACR = 3u;
    FLASH_ACR = 3u | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    /* AHB /1 = 100 MHz, APB1 /2 = 50 MHz (max 50), APB2 /1 = 100 MHz (max 100), then switch. */
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_BUS_MASK) | RCC_CFGR_PPRE1_DIV2;
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL;
    while (RCC_CFGR_SWS(RCC_CFGR) != RCC_CFGR_SW_PLL) {
    }
}
#endif

void board_init(void)
{
    s_reset_reason = stm32_reset_reason();
#if NUCLEO_F412ZG_FAST
    clock_100mhz();
#endif
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIODEN;
    RCC_APB1ENR |= RCC_APB1ENR_USART3EN;
    (void)RCC_APB1ENR;

    /* PD8 = USART3_TX, PD9 = USART3_RX, both AF7 (AFRH nibbles 0 and 1). */
    GPIO_MODER(GPIOD_BASE) = (GPIO_MODER(GPIOD_BASE) & ~(0xFu << 16)) |
                             (GPIO_MODE_AF << 16) | (GPIO_MODE_AF << 18);
    GPIO_AFRH(GPIOD_BASE) = (GPIO_AFRH(GPIOD_BASE) & ~0xFFu) | (7u << 0) | (7u << 4);
    GPIO_OSPEEDR(GPIOD_BASE) = (GPIO_OSPEEDR(GPIOD_BASE) & ~(3u << 16)) | (2u << 16);
    /* RX pulled up: the line idles high even with the ST-LINK side unpowered. */
    GPIO_PUPDR(GPIOD_BASE) = (GPIO_PUPDR(GPIOD_BASE) & ~(3u << 18)) | (1u << 18);

    /* Oversampling by 16: BRR = f_PCLK1 / baud, mantissa and 4-bit fraction in one value.
     * 16 MHz: 139 (-0.08 %); 50 MHz: 434 (+0.01 %). */
    USART3_CR1 = 0u;
    USART3_BRR = (PCLK1_HZ + UART_BAUD / 2u) / UART_BAUD;
    USART3_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;

    stm32_cycles_start(); /* the Cortex-M4 DWT has no lock register (the M7's LAR) */
}

const board_info_t *board_info(void) { return &s_info; }
uint32_t board_reset_reason(void) { return s_reset_reason; }

void board_uart_put(uint8_t byte)
{
    while ((USART3_SR & USART_SR_TXE) == 0u) {
    }
    USART3_DR = byte;
}

int32_t board_uart_get(void)
{
    uint32_t sr = USART3_SR;
    uint32_t dr;
    if ((sr & (USART_SR_RXNE | USART_SR_ORE)) == 0u) {
        return -1;
    }
    /* Reading DR after SR takes the byte and also clears ORE (F4 USART: no ICR). After an
     * overrun the lost byte shows up as a bad frame, which the link layer NAKs. */
    dr = USART3_DR;
    if ((sr & USART_SR_RXNE) == 0u) {
        return -1;
    }
    return (int32_t)(dr & 0xFFu);
}

/* ---- checkpoint/program region: real flash, chip sectors 5-11 ---- */

/* The ART data cache (FAST build) may hold region lines from before an erase or program; it
 * can only be reset while disabled (RM0402 sec. 3, ART accelerator), so: off, reset, on.
 * Code never runs from the region, so the instruction cache needs nothing. */
static void art_dcache_reset(uint32_t addr, uint32_t len)
{
    uint32_t acr = FLASH_ACR;
    (void)addr; /* the ART cache resets as a whole */
    (void)len;
    if ((acr & FLASH_ACR_DCEN) == 0u) {
        return;
    }
    FLASH_ACR = acr & ~FLASH_ACR_DCEN;
    FLASH_ACR = (acr & ~FLASH_ACR_DCEN) | FLASH_ACR_DCRST;
    FLASH_ACR = acr & ~FLASH_ACR_DCEN;
    FLASH_ACR = acr;
}

/* RM0402 sec. 3, flash module organization: sectors 5-11 are all 128 KB. */
uint32_t board_flash_sector_size(uint32_t index)
{
    return index < FLASH_REGION_SECTORS ? FLASH_REGION_SECTOR_SIZE : 0u;
}

const stm32_region_t *stm32_region(void)
{
    static const stm32_region_t region = {
        FLASH_REGION_BASE, FLASH_REGION_SIZE, FLASH_REGION_FIRST_SECTOR, art_dcache_reset,
    };
    return &region;
}

void stm32_uart_drain(void)
{
    while ((USART3_SR & USART_SR_TC) == 0u) {
    }
}
