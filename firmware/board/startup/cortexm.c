/* cortexm.c - startup shared by the Cortex-M4F (qemu_f405) and Cortex-M7
 * (disco_f746) boards: vector table, reset handler, fault capture, stack
 * painting, system reset and semihosting exit. Board files provide the rest
 * of board.h and may override SysTick_Handler. */
#include "board.h"
#include "cortexm.h"

int main(void);

/* Entries 0..15 are the core's; then the chip's IRQs. 98 covers the F746
 * (the F405 has 82); entries past the chip's last IRQ are never fetched. */
#define CM_NUM_CORE_VECTORS 16u
#define CM_NUM_IRQS 98u

/* An entry is either the initial stack pointer or a handler; the union keeps
 * the table free of object-to-function pointer casts. */
typedef union {
    void (*handler)(void);
    uint32_t *stack_top;
} cm_vector_t;

void Reset_Handler(void);
void cm_fault_entry(void);
void NMI_Handler(void) __attribute__((weak, alias("cm_fault_entry")));
void HardFault_Handler(void) __attribute__((weak, alias("cm_fault_entry")));
void MemManage_Handler(void) __attribute__((weak, alias("cm_fault_entry")));
void BusFault_Handler(void) __attribute__((weak, alias("cm_fault_entry")));
void UsageFault_Handler(void) __attribute__((weak, alias("cm_fault_entry")));
void SVC_Handler(void) __attribute__((weak, alias("cm_fault_entry")));
void DebugMon_Handler(void) __attribute__((weak, alias("cm_fault_entry")));
void PendSV_Handler(void) __attribute__((weak, alias("cm_fault_entry")));
void SysTick_Handler(void) __attribute__((weak, alias("cm_fault_entry")));

__attribute__((section(".isr_vector"), used))
static const cm_vector_t s_vectors[CM_NUM_CORE_VECTORS + CM_NUM_IRQS] = {
    [0] = {.stack_top = _estack},
    [1] = {.handler = Reset_Handler},
    [2] = {.handler = NMI_Handler},
    [3] = {.handler = HardFault_Handler},
    [4] = {.handler = MemManage_Handler},
    [5] = {.handler = BusFault_Handler},
    [6] = {.handler = UsageFault_Handler},
    [11] = {.handler = SVC_Handler},
    [12] = {.handler = DebugMon_Handler},
    [14] = {.handler = PendSV_Handler},
    [15] = {.handler = SysTick_Handler},
    /* Every IRQ lands in the fault path: the firmware enables none, so one
     * firing is a bug worth a report, not a silent hang. Filled below. */
#define CM_IRQ8(n)                                                                  \
    [CM_NUM_CORE_VECTORS + (n) + 0] = {.handler = cm_fault_entry},                  \
    [CM_NUM_CORE_VECTORS + (n) + 1] = {.handler = cm_fault_entry},                  \
    [CM_NUM_CORE_VECTORS + (n) + 2] = {.handler = cm_fault_entry},                  \
    [CM_NUM_CORE_VECTORS + (n) + 3] = {.handler = cm_fault_entry},                  \
    [CM_NUM_CORE_VECTORS + (n) + 4] = {.handler = cm_fault_entry},                  \
    [CM_NUM_CORE_VECTORS + (n) + 5] = {.handler = cm_fault_entry},                  \
    [CM_NUM_CORE_VECTORS + (n) + 6] = {.handler = cm_fault_entry},                  \
    [CM_NUM_CORE_VECTORS + (n) + 7] = {.handler = cm_fault_entry}
    CM_IRQ8(0), CM_IRQ8(8), CM_IRQ8(16), CM_IRQ8(24), CM_IRQ8(32), CM_IRQ8(40),
    CM_IRQ8(48), CM_IRQ8(56), CM_IRQ8(64), CM_IRQ8(72), CM_IRQ8(80), CM_IRQ8(88),
    [CM_NUM_CORE_VECTORS + 96] = {.handler = cm_fault_entry},
    [CM_NUM_CORE_VECTORS + 97] = {.handler = cm_fault_entry},
#undef CM_IRQ8
};

void Reset_Handler(void)
{
    /* FPU first: the compiler may use s/d registers anywhere after this
     * (hard-float ABI), and touching them with CP10/CP11 off is a UsageFault. */
    SCB_CPACR |= SCB_CPACR_CP10_CP11_FULL;
    cm_dsb();
    cm_isb();

    /* The boot ROM alias at 0 is not guaranteed on the F7 (BOOT_ADD0);
     * point VTOR at our table explicitly. */
    SCB_VTOR = (uint32_t)(uintptr_t)s_vectors;

    {
        const uint32_t *src = _sidata;
        uint32_t *dst = _sdata;
        while (dst < _edata) {
            *dst++ = *src++;
        }
        for (dst = _sbss; dst < _ebss; ++dst) {
            *dst = 0u;
        }
    }

    /* Separate MemManage/BusFault/UsageFault vectors give a precise IPSR in
     * the fault report instead of everything escalating to HardFault. */
    SCB_SHCSR |= SCB_SHCSR_MEMFAULTENA | SCB_SHCSR_BUSFAULTENA | SCB_SHCSR_USGFAULTENA;

    board_exit((int32_t)main());
}

/* ---- reset reason carried across a reset ---- */

/* .noinit survives a system reset (SRAM keeps its contents and startup does
 * not touch this section), so the reason for a reset we asked for can be
 * told apart from power-on garbage by the magic in the upper half. */
#define CM_RESET_MAGIC 0x5E7A0000u
__attribute__((section(".noinit"))) static uint32_t s_reset_marker;

void cm_set_reset_marker(uint32_t reason)
{
    s_reset_marker = CM_RESET_MAGIC | (reason & 0xFFFFu);
}

uint32_t cm_take_reset_marker(void)
{
    uint32_t m = s_reset_marker;
    s_reset_marker = 0u;
    return ((m & 0xFFFF0000u) == CM_RESET_MAGIC) ? (m & 0xFFFFu) : BOARD_RESET_UNKNOWN;
}

/* ---- fault capture ---- */

/* Static, not on the stack: the stack may be what broke. */
static board_fault_t s_fault;
static volatile uint32_t s_in_fault;

__attribute__((noreturn, used)) void cm_fault_report(void);
__attribute__((used)) void cm_fault_capture(const uint32_t *frame, uint32_t exc_return);

/* Hand the C capture the stack the hardware pushed the frame on (EXC_RETURN
 * bit 2: 0 = MSP, 1 = PSP) and EXC_RETURN itself. */
__attribute__((naked)) void cm_fault_entry(void)
{
    __asm volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "mov r1, lr\n\t"
        "b cm_fault_capture\n\t");
}

void cm_fault_capture(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;
    uint32_t frame_words;

    if (s_in_fault != 0u) {
        /* Faulted while reporting a fault: report nothing more. */
        cm_set_reset_marker(BOARD_RESET_FAULT);
        board_exit(BOARD_EXIT_FAULT);
    }
    s_in_fault = 1u;

    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    s_fault.r0 = frame[0];
    s_fault.r1 = frame[1];
    s_fault.r2 = frame[2];
    s_fault.r3 = frame[3];
    s_fault.r12 = frame[4];
    s_fault.lr = frame[5];
    s_fault.pc = frame[6];
    s_fault.xpsr = frame[7];
    /* EXC_RETURN bit 4 clear = extended frame with s0-s15, FPSCR (+1 reserved);
     * xPSR bit 9 = the core added a word to 8-byte align the frame. */
    frame_words = ((exc_return & 0x10u) != 0u) ? 8u : 26u;
    frame_words += (s_fault.xpsr >> 9) & 1u;
    s_fault.sp = (uint32_t)(uintptr_t)(frame + frame_words);
    s_fault.exc_return = exc_return;
    s_fault.ipsr = ipsr & 0x1FFu;
    s_fault.cfsr = SCB_CFSR;
    s_fault.hfsr = SCB_HFSR;
    s_fault.mmfar = SCB_MMFAR;
    s_fault.bfar = SCB_BFAR;

    /* The interrupted program never resumes, so its stack can be reused:
     * restart MSP at the top of RAM. That keeps reporting working after a
     * stack overflow that ran into .bss. */
    __asm volatile(
        "msr msp, %0\n\t"
        "isb 0xF\n\t"
        "b cm_fault_report\n\t" ::"r"(_estack)
        : "memory");
    for (;;) {
    }
}

void cm_fault_report(void)
{
    app_on_fault(&s_fault);
    cm_set_reset_marker(BOARD_RESET_FAULT); /* for boards where exit means reset */
    board_exit(BOARD_EXIT_FAULT);
    for (;;) {
    }
}

/* ---- stack high-water mark ---- */

#define CM_STACK_PAINT 0x57ACC0DEu
/* Leave the words just under the caller's SP alone: they belong to whatever
 * this function itself may push. Main reuses them at once anyway. */
#define CM_STACK_PAINT_MARGIN_WORDS 64u

void board_stack_paint(void)
{
    uint32_t sp;
    volatile uint32_t *p = _stack_limit;
    volatile uint32_t *end;

    __asm volatile("mov %0, sp" : "=r"(sp));
    end = (volatile uint32_t *)(uintptr_t)(sp & ~3u) - CM_STACK_PAINT_MARGIN_WORDS;
    while (p < end) {
        *p++ = CM_STACK_PAINT;
    }
}

uint32_t board_stack_peak_bytes(void)
{
    const volatile uint32_t *p = _stack_limit;
    while (p < _estack && *p == CM_STACK_PAINT) {
        ++p;
    }
    return (uint32_t)((uintptr_t)_estack - (uintptr_t)p);
}

/* ---- reset and exit ---- */

void cm_system_reset(void)
{
    cm_dsb();
    SCB_AIRCR = SCB_AIRCR_VECTKEY | SCB_AIRCR_SYSRESETREQ;
    cm_dsb();
    for (;;) {
    }
}

#define SEMIHOST_SYS_EXIT 0x18u
#define SEMIHOST_SYS_EXIT_EXTENDED 0x20u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUNTIME_ERROR_UNKNOWN 0x20023u

uint32_t cm_semihost(uint32_t op, uint32_t arg)
{
    register uint32_t r0 __asm("r0") = op;
    register uint32_t r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void cm_semihost_call(uint32_t op, uint32_t arg)
{
    (void)cm_semihost(op, arg);
}

void cm_semihost_exit(int32_t code)
{
    if (code != 0) {
        /* SYS_EXIT_EXTENDED carries an exit status (QEMU makes it the
         * process exit code); plain SYS_EXIT only knows ok / not ok. */
        uint32_t block[2];
        block[0] = ADP_STOPPED_APPLICATION_EXIT;
        block[1] = (uint32_t)code;
        cm_semihost_call(SEMIHOST_SYS_EXIT_EXTENDED, (uint32_t)(uintptr_t)block);
        /* Still here: the host has no SYS_EXIT_EXTENDED. */
        cm_semihost_call(SEMIHOST_SYS_EXIT, ADP_STOPPED_RUNTIME_ERROR_UNKNOWN);
    } else {
        cm_semihost_call(SEMIHOST_SYS_EXIT, ADP_STOPPED_APPLICATION_EXIT);
    }
    for (;;) {
    }
}
