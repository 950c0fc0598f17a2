/* board_common.c - the pieces of board.h and of board_init() that are the same on
 * every Cortex-M board; each board file keeps only what differs (USART layout,
 * clocks, flash). */
#include "board.h"
#include "cortexm.h"

void board_uart_write(const uint8_t *data, uint32_t len)
{
    uint32_t i;
    for (i = 0u; i < len; ++i) {
        board_uart_put(data[i]);
    }
}

void cm_systick_start(void)
{
    SYST_RVR = SYST_RELOAD_MAX;
    SYST_CVR = 0u;
    SYST_CSR = SYST_CSR_CLKSOURCE_CPU | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
}
