/* stm32_common.h - peripherals that sit at the same address with the same
 * layout on the STM32F4 and STM32F7 (RM0090, RM0385). Private to the board. */
#ifndef STM32_COMMON_H
#define STM32_COMMON_H

#include "board.h"
#include "cortexm.h"

/* RCC */
#define RCC_BASE 0x40023800u
#define RCC_CR REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x04u)
#define RCC_CFGR REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR REG32(RCC_BASE + 0x40u)
#define RCC_APB2ENR REG32(RCC_BASE + 0x44u)
#define RCC_CSR REG32(RCC_BASE + 0x74u)
#define RCC_CSR_RMVF (1u << 24)
#define RCC_CSR_BORRSTF (1u << 25)
#define RCC_CSR_PINRSTF (1u << 26)
#define RCC_CSR_PORRSTF (1u << 27)
#define RCC_CSR_SFTRSTF (1u << 28)
#define RCC_CSR_IWDGRSTF (1u << 29)
#define RCC_CSR_WWDGRSTF (1u << 30)
#define RCC_AHB1ENR_GPIOAEN (1u << 0)
#define RCC_AHB1ENR_GPIOBEN (1u << 1)
#define RCC_AHB1ENR_GPIODEN (1u << 3)
#define RCC_APB1ENR_USART3EN (1u << 18)
#define RCC_APB1ENR_PWREN (1u << 28)
#define RCC_APB2ENR_USART1EN (1u << 4)

/* GPIO port registers (port base + offset) */
#define GPIOA_BASE 0x40020000u
#define GPIOB_BASE 0x40020400u
#define GPIOD_BASE 0x40020C00u
#define GPIO_MODER(port) REG32((port) + 0x00u)
#define GPIO_OSPEEDR(port) REG32((port) + 0x08u)
#define GPIO_PUPDR(port) REG32((port) + 0x0Cu)
#define GPIO_AFRL(port) REG32((port) + 0x20u)
#define GPIO_AFRH(port) REG32((port) + 0x24u)
#define GPIO_MODE_AF 2u

/* Flash interface */
#define FLASH_IF_BASE 0x40023C00u
#define FLASH_ACR REG32(FLASH_IF_BASE + 0x00u)
#define FLASH_KEYR REG32(FLASH_IF_BASE + 0x04u)
#define FLASH_SR REG32(FLASH_IF_BASE + 0x0Cu)
#define FLASH_CR REG32(FLASH_IF_BASE + 0x10u)
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu
#define FLASH_SR_BSY (1u << 16)
#define FLASH_SR_ERRORS 0x000001F2u /* OPERR WRPERR PGAERR PGPERR PGSERR/ERSERR RDERR */
#define FLASH_CR_PG (1u << 0)
#define FLASH_CR_SER (1u << 1)
#define FLASH_CR_SNB_SHIFT 3u
#define FLASH_CR_PSIZE_X32 (2u << 8)
#define FLASH_CR_STRT (1u << 16)
#define FLASH_CR_LOCK (1u << 31)

/* Independent watchdog, clocked by the ~32 kHz LSI. */
#define IWDG_KR REG32(0x40003000u)
#define IWDG_PR REG32(0x40003004u)
#define IWDG_RLR REG32(0x40003008u)
#define IWDG_SR REG32(0x4000300Cu)
#define IWDG_KEY_START 0xCCCCu
#define IWDG_KEY_RELOAD 0xAAAAu
#define IWDG_KEY_UNLOCK 0x5555u

static inline void stm32_iwdg_start(uint32_t timeout_ms)
{
    /* Prescaler /256 gives 125 Hz (8 ms per count) from a 32 kHz LSI;
     * the 12-bit reload then reaches ~32 s. The LSI is +-50 %, so this is
     * a hang detector, not a timer. */
    uint32_t reload = timeout_ms / 8u;
    if (reload < 1u) {
        reload = 1u;
    }
    if (reload > 0xFFFu) {
        reload = 0xFFFu;
    }
    IWDG_KR = IWDG_KEY_START;
    IWDG_KR = IWDG_KEY_UNLOCK;
    IWDG_PR = 6u; /* /256 */
    IWDG_RLR = reload;
    IWDG_KR = IWDG_KEY_RELOAD;
}

static inline void stm32_iwdg_kick(void) { IWDG_KR = IWDG_KEY_RELOAD; }

/* Reset cause: our own marker (software reset, fault) first, then the RCC
 * flags, which are then cleared so the next boot reads fresh ones. A power-on
 * also sets PIN and BOR, a software reset also sets PIN, so order matters. */
static inline uint32_t stm32_reset_reason(void)
{
    uint32_t marker = cm_take_reset_marker();
    uint32_t csr = RCC_CSR;
    RCC_CSR |= RCC_CSR_RMVF;
    if (marker != 0u) {
        return marker;
    }
    if ((csr & (RCC_CSR_IWDGRSTF | RCC_CSR_WWDGRSTF)) != 0u) {
        return BOARD_RESET_WATCHDOG;
    }
    if ((csr & RCC_CSR_SFTRSTF) != 0u) {
        return BOARD_RESET_SOFTWARE;
    }
    if ((csr & RCC_CSR_PORRSTF) != 0u) {
        return BOARD_RESET_POWER;
    }
    if ((csr & RCC_CSR_BORRSTF) != 0u) {
        return BOARD_RESET_BROWNOUT;
    }
    if ((csr & RCC_CSR_PINRSTF) != 0u) {
        return BOARD_RESET_PIN;
    }
    return 0u;
}

#endif /* STM32_COMMON_H */
