/* cycles_dwt.c - board_cycles() on silicon: DWT CYCCNT (32 bit, core cycles) extended to
 * 64 bits by a SysTick interrupt every 2^24 cycles, far more often than CYCCNT wraps
 * (every 2^32 cycles: 20 s at 216 MHz, 268 s at 16 MHz). */
#include "stm32_chip.h"

#include "board.h"
#include "startup/cortexm.h"

/* Touched only with interrupts masked or from SysTick_Handler. */
static uint32_t s_cyc_last;
static uint32_t s_cyc_high;

static uint64_t cyc_update(void)
{
    uint32_t now = DWT_CYCCNT;
    if (now < s_cyc_last) {
        s_cyc_high += 1u;
    }
    s_cyc_last = now;
    return ((uint64_t)s_cyc_high << 32) | now;
}

void SysTick_Handler(void) { (void)cyc_update(); }

void stm32_cycles_start(void)
{
    DEMCR |= DEMCR_TRCENA;
    DWT_CYCCNT = 0u;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    cm_systick_start();
}

uint64_t board_cycles(void)
{
    uint32_t primask = cm_irq_save();
    uint64_t now = cyc_update();
    cm_irq_restore(primask);
    return now;
}
