/* stm32_chip.h - what the real STM32 boards (disco_f746.c, nucleo_f412zg.c) share and QEMU's
 * netduinoplus2 cannot have: the DWT cycle counter, the IWDG watchdog and the flash
 * controller. Compiled only into the real boards' builds (platformio.ini: +<board/stm32/>).
 * The flash controller registers are the same on the F4 and F7 (RM0090/RM0402 sec. 3, RM0385
 * sec. 3); each board keeps its sector map and its cache maintenance. */
#ifndef STM32_CHIP_H
#define STM32_CHIP_H

#include <stdint.h>

/* Starts CYCCNT (unlock DWT first on a Cortex-M7) and the SysTick interrupt that extends it
 * to 64 bits for board_cycles(). */
void stm32_cycles_start(void);

/* A board's checkpoint/program region (board_flash_*) in the chip's flash. */
typedef struct {
    uint32_t base;         /* address of region offset 0 */
    uint32_t size;         /* bytes */
    uint32_t first_sector; /* chip sector number at region offset 0 */
    /* Makes reads of [addr, addr + len) see what the controller just changed (F7: invalidate
     * D-cache lines; F4: reset the ART data cache). */
    void (*cache_sync)(uint32_t addr, uint32_t len);
} stm32_region_t;

/* Provided by the board file: its region (flash_ctrl.c implements board_flash_erase, _write and
 * _ptr over it; erase kicks the watchdog per sector, one takes 1-2 s) and a wait until the last
 * byte written to the console UART has left it (reset.c: before a reset cuts it off). */
const stm32_region_t *stm32_region(void);
void stm32_uart_drain(void);

#endif /* STM32_CHIP_H */
