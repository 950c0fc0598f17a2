/* reset.c - board_reset / board_exit on silicon: there is nothing to exit to without a debugger
 * (a semihosting bkpt would fault), so both reset, after the console UART has sent its last byte
 * (the reply announcing the reset). */
#include "stm32_chip.h"

#include "board.h"
#include "startup/cortexm.h"

void board_reset(void)
{
    stm32_uart_drain();
    cm_set_reset_marker(BOARD_RESET_SOFTWARE);
    cm_system_reset();
}

void board_exit(int32_t code)
{
    (void)code;
    stm32_uart_drain();
    cm_system_reset();
}
