/* board.h - the only hardware interface the application sees.
 *
 * One implementation per target, chosen at build time:
 *   board/qemu_f405.c   STM32F405 as QEMU's netduinoplus2 maps it (the CI board)
 *   board/disco_f746.c  STM32F746G-DISCO (the paper's board)
 *   board/nucleo_f412zg.c  NUCLEO-F412ZG (STM32F412ZG: 256 KB SRAM, 1 MB flash)
 *   board/host.c        a POSIX process (stdin/stdout), for host builds and tests
 * The Cortex-M targets share board/startup/ (vector table, reset, fault capture)
 * and board/linker/.
 */
#ifndef BOARD_H
#define BOARD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Target identifiers, reported by INFO so the host knows what it talks to. */
#define BOARD_ID_HOST 0u
#define BOARD_ID_QEMU_F405 1u
#define BOARD_ID_DISCO_F746 2u
#define BOARD_ID_NUCLEO_F412ZG 3u

/* What one tick of board_cycles() is. The host converts; the firmware only
 * ever reports raw ticks plus this unit so nothing is rounded on the device. */
#define BOARD_UNIT_CPU_CYCLE 0u  /* real silicon: DWT CYCCNT, 1 tick = 1 core clock */
#define BOARD_UNIT_QEMU_TICK 1u  /* QEMU -icount shift=0: SysTick at 168 MHz of virtual
                                    time, 1 instruction = 1 ns, so instructions = ticks / 0.168 */
#define BOARD_UNIT_HOST_NS 2u    /* host build: CLOCK_MONOTONIC nanoseconds */

/* Exit codes passed to board_exit() by the board itself. */
#define BOARD_EXIT_OK 0
#define BOARD_EXIT_FAULT 3 /* a CPU fault was reported, then the board stopped */
#define BOARD_EXIT_POWER_CUT 4 /* board_flash_cut(): stopped dead in the middle of a flash write */

typedef struct {
    uint32_t board_id;    /* BOARD_ID_* */
    uint32_t unit;        /* BOARD_UNIT_* of board_cycles() */
    uint32_t tick_hz;     /* board_cycles() ticks per second (of virtual time under QEMU) */
    uint32_t core_hz;     /* core clock the firmware configured */
    uint32_t ram_base;    /* SRAM the firmware may use (as linked) */
    uint32_t ram_size;
    uint32_t flash_base;  /* checkpoint/program region, see board_flash_* */
    uint32_t flash_size;
    uint32_t flash_sectors;    /* erase sectors in the region, board_flash_sector_size() */
    uint32_t flash_is_ram;     /* 1 when the region is RAM standing in for flash (QEMU) */
    uint32_t flash_total;      /* the chip's whole flash, code included */
} board_info_t;

/* Why the board last started (board_reset_reason()). */
#define BOARD_RESET_UNKNOWN 0u
#define BOARD_RESET_POWER 1u
#define BOARD_RESET_PIN 2u
#define BOARD_RESET_SOFTWARE 3u /* board_reset() */
#define BOARD_RESET_WATCHDOG 4u
#define BOARD_RESET_FAULT 5u    /* the fault handler reset the board */
#define BOARD_RESET_BROWNOUT 6u

/* Registers captured by the fault handler. r0..xpsr come from the exception
 * stack frame, so they are the values at the faulting instruction. */
typedef struct {
    uint32_t r0, r1, r2, r3, r12, lr, pc, xpsr;
    uint32_t sp;          /* stack pointer before the exception pushed its frame */
    uint32_t exc_return;  /* LR on handler entry: which stack, FP frame or not */
    uint32_t ipsr;        /* exception number: 3 HardFault, 4 MemManage, 5 BusFault, 6 UsageFault,
                             anything else = an interrupt nobody expected */
    uint32_t cfsr, hfsr, mmfar, bfar;
} board_fault_t;

/* ---- provided by the board ---- */

/* Clocks, FPU, UART, cycle counter. Call first. */
void board_init(void);
const board_info_t *board_info(void);
/* BOARD_RESET_*, valid after board_init(). */
uint32_t board_reset_reason(void);

/* UART (115200 8N1 on real boards). put blocks until the byte is queued;
 * get never blocks: returns the byte (0..255) or -1 when nothing arrived. */
void board_uart_put(uint8_t byte);
void board_uart_write(const uint8_t *data, uint32_t len);
int32_t board_uart_get(void);

/* Free-running 64-bit tick counter, unit and rate in board_info(). */
uint64_t board_cycles(void);

/* Stack high-water mark: paint once at boot (from main, early), then ask for
 * the deepest stack use seen since, in bytes. */
void board_stack_paint(void);
uint32_t board_stack_peak_bytes(void);

/* Checkpoint/program region. Offsets are relative to the region start.
 * The region is flash_sectors erase sectors, in order from offset 0; they may
 * differ in size (STM32F7: 128 KB then 256 KB ones), board_flash_sector_size()
 * tells. Erase works on whole sectors (offset at the start of one, offset + len
 * at the end of one); write needs offset and len multiples of 4 and erased
 * (0xFF) destination on real flash. Both return 0 on success, <0 on error.
 * board_flash_ptr() gives a read pointer into the region (memory mapped). */
uint32_t board_flash_sector_size(uint32_t index); /* bytes; 0 past the last sector */
int32_t board_flash_erase(uint32_t offset, uint32_t len);
int32_t board_flash_write(uint32_t offset, const void *data, uint32_t len);
const uint8_t *board_flash_ptr(uint32_t offset);

/* Power-cut test hook. Counts the bytes board_flash_erase/write change in the region; once
 * `after` more bytes have changed (0: never) the board stops dead at that byte, in the middle
 * of the operation, as a power failure would leave it (QEMU: semihosting exit with
 * BOARD_EXIT_POWER_CUT; what reached the region is what the next boot finds). *counted gets
 * the bytes changed since the previous call. 0, or -1 where the board cannot do this. */
int32_t board_flash_cut(uint32_t after, uint32_t *counted);

/* Read-only program area: a compiled program placed in the chip's flash at a
 * fixed address by whoever flashed the board (under QEMU, which cannot write
 * flash from the guest: `-device loader`). Returns its start and sets *len to
 * the bytes reserved there; NULL and 0 when the board reserves none. The
 * contents may be anything (erased, garbage): the caller validates. */
const uint8_t *board_program_rom(uint32_t *len);

/* Watchdog: start (irreversible until reset; starting again changes the timeout) and kick.
 * When no kick came for timeout_ms the board resets and board_reset_reason() then says
 * BOARD_RESET_WATCHDOG. Real chips: the IWDG (LSI clock, +-50 %). QEMU, which does not emulate
 * the IWDG: a software watchdog in the SysTick interrupt (virtual time, 100 ms resolution),
 * which cannot catch a hang with interrupts masked. Host build: none. */
void board_watchdog_start(uint32_t timeout_ms);
void board_watchdog_kick(void);

/* System reset. Never returns. */
void board_reset(void);

/* Stop the program: semihosting exit under QEMU (the process exit status is
 * `code`), reset on real boards (nothing to exit to), exit() on the host. */
void board_exit(int32_t code);

/* ---- provided by the application ---- */

/* Called from the fault handler (handler mode, interrupts of lower priority
 * masked) with the captured state. Must only do polled I/O. When it returns
 * the board stops: board_exit(BOARD_EXIT_FAULT) under QEMU, reset on silicon. */
void app_on_fault(const board_fault_t *f);

#ifdef __cplusplus
}
#endif

#endif /* BOARD_H */
