/* cortexm.h - the few ARMv7-M core registers the boards use, written out by
 * hand (addresses from the ARMv7-M Architecture Reference Manual, B3) so the
 * firmware needs no CMSIS. Private to firmware/board/. */
#ifndef CORTEXM_H
#define CORTEXM_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* System Control Block */
#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_AIRCR REG32(0xE000ED0Cu)
#define SCB_CCR REG32(0xE000ED14u)
#define SCB_SHCSR REG32(0xE000ED24u)
#define SCB_CFSR REG32(0xE000ED28u)
#define SCB_HFSR REG32(0xE000ED2Cu)
#define SCB_MMFAR REG32(0xE000ED34u)
#define SCB_BFAR REG32(0xE000ED38u)
#define SCB_CPACR REG32(0xE000ED88u)

#define SCB_ICSR_PENDSTSET (1u << 26)
#define SCB_AIRCR_VECTKEY (0x05FAu << 16)
#define SCB_AIRCR_SYSRESETREQ (1u << 2)
#define SCB_SHCSR_MEMFAULTENA (1u << 16)
#define SCB_SHCSR_BUSFAULTENA (1u << 17)
#define SCB_SHCSR_USGFAULTENA (1u << 18)
#define SCB_CPACR_CP10_CP11_FULL (0xFu << 20)

/* SysTick (24-bit down counter) */
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE_CPU (1u << 2)
#define SYST_RELOAD_MAX 0x00FFFFFFu

/* Debug: trace enable and the DWT cycle counter (not modelled by QEMU). */
#define DEMCR REG32(0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL REG32(0xE0001000u)
#define DWT_CYCCNT REG32(0xE0001004u)
#define DWT_LAR REG32(0xE0001FB0u) /* Cortex-M7 locks DWT until this key is written */
#define DWT_CTRL_CYCCNTENA (1u << 0)
#define DWT_LAR_KEY 0xC5ACCE55u

/* Cortex-M7 cache maintenance (SCB, ARMv7-M B3.2.2) */
#define SCB_ICIALLU REG32(0xE000EF50u)
#define SCB_DCIMVAC REG32(0xE000EF5Cu)
#define SCB_DCISW REG32(0xE000EF60u)
#define SCB_DCCIMVAC REG32(0xE000EF70u)
#define SCB_CCSIDR REG32(0xE000ED80u)
#define SCB_CSSELR REG32(0xE000ED84u)
#define SCB_CCR_DC (1u << 16)
#define SCB_CCR_IC (1u << 17)

static inline void cm_dsb(void) { __asm volatile("dsb 0xF" ::: "memory"); }
static inline void cm_isb(void) { __asm volatile("isb 0xF" ::: "memory"); }
static inline uint32_t cm_irq_save(void)
{
    uint32_t primask;
    __asm volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    return primask;
}
static inline void cm_irq_restore(uint32_t primask)
{
    __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
}

/* Shared by both Cortex-M boards, defined in startup/cortexm.c. */
void cm_semihost_exit(int32_t code);
/* One semihosting call (ARM semihosting v2, `bkpt 0xab`): op in r0, pointer to the argument
 * block in r1; returns r0. Only with a debugger or QEMU -semihosting attached: on a bare chip
 * the breakpoint faults. */
uint32_t cm_semihost(uint32_t op, uint32_t arg);
void cm_system_reset(void);
/* Remember why we are about to reset (BOARD_RESET_*) / read it back once after boot. */
void cm_set_reset_marker(uint32_t reason);
uint32_t cm_take_reset_marker(void);
/* SysTick free-running over its full 24 bits on the core clock, interrupt at every wrap
 * (startup/board_common.c). */
void cm_systick_start(void);

/* Linker-script symbols (board/linker/cortexm_common.ld). */
extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];
extern uint32_t _stack_limit[], _estack[];
extern uint32_t _ram_start[], _ram_end[];

#endif /* CORTEXM_H */
