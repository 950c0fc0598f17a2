/* watchdog_iwdg.c - board_watchdog_* on silicon: the independent watchdog (LSI clock). */
#include "board.h"
#include "startup/stm32_common.h"

void board_watchdog_start(uint32_t timeout_ms) { stm32_iwdg_start(timeout_ms); }

/* Harmless before the start: the IWDG ignores the reload key until started, or, when the
 * option bytes select the hardware watchdog, runs from reset and needs these kicks anyway. */
void board_watchdog_kick(void) { stm32_iwdg_kick(); }
