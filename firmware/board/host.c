/* host.c - the board as a POSIX process, for host builds of the firmware:
 * the UART is stdin/stdout (raw bytes, so a pipe or socket carries the link
 * protocol), the counter is CLOCK_MONOTONIC in ns, the checkpoint region is a
 * static array with NOR-flash semantics, and fatal signals are reported
 * through app_on_fault() like CPU faults on the boards. */
#define _POSIX_C_SOURCE 200809L

#include "board.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HOST_FLASH_SIZE (512u * 1024u)
#define HOST_FLASH_ERASE_SIZE (4u * 1024u)

static uint8_t s_flash[HOST_FLASH_SIZE];

static const board_info_t s_info = {
    .board_id = BOARD_ID_HOST,
    .unit = BOARD_UNIT_HOST_NS,
    .tick_hz = 1000000000u,
    .core_hz = 0u,
    .ram_base = 0u,
    .ram_size = 0u,
    .flash_base = 0u,
    .flash_size = HOST_FLASH_SIZE,
    .flash_erase_size = HOST_FLASH_ERASE_SIZE,
    .flash_is_ram = 1u,
    .flash_total = 0u,
};

static void host_on_signal(int sig)
{
    /* Signal number in ipsr, everything else unknown: the process has no
     * portable view of the faulting registers. */
    board_fault_t f;
    memset(&f, 0, sizeof f);
    f.ipsr = (uint32_t)sig;
    app_on_fault(&f);
    _exit(BOARD_EXIT_FAULT);
}

void board_init(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = host_on_signal;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGSEGV, &sa, NULL);
    (void)sigaction(SIGBUS, &sa, NULL);
    (void)sigaction(SIGILL, &sa, NULL);
    (void)sigaction(SIGFPE, &sa, NULL);
    memset(s_flash, 0xFF, sizeof s_flash);
}

const board_info_t *board_info(void) { return &s_info; }
uint32_t board_reset_reason(void) { return BOARD_RESET_POWER; }

void board_uart_write(const uint8_t *data, uint32_t len)
{
    while (len > 0u) {
        ssize_t n = write(STDOUT_FILENO, data, len);
        if (n <= 0) {
            _exit(1); /* host side went away */
        }
        data += n;
        len -= (uint32_t)n;
    }
}

void board_uart_put(uint8_t byte) { board_uart_write(&byte, 1u); }

int32_t board_uart_get(void)
{
    struct pollfd p;
    uint8_t byte;
    p.fd = STDIN_FILENO;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, 0) <= 0) {
        return -1;
    }
    if (read(STDIN_FILENO, &byte, 1u) != 1) {
        exit(0); /* EOF: the host closed the link, like unplugging the board */
    }
    return (int32_t)byte;
}

uint64_t board_cycles(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A process stack is not ours to paint (guard pages, its size set by the
 * OS); stack use is measured on the boards. */
void board_stack_paint(void) {}
uint32_t board_stack_peak_bytes(void) { return 0u; }

int32_t board_flash_erase(uint32_t offset, uint32_t len)
{
    if (offset % HOST_FLASH_ERASE_SIZE != 0u || len % HOST_FLASH_ERASE_SIZE != 0u ||
        offset > HOST_FLASH_SIZE || len > HOST_FLASH_SIZE - offset) {
        return -1;
    }
    memset(s_flash + offset, 0xFF, len);
    return 0;
}

int32_t board_flash_write(uint32_t offset, const void *data, uint32_t len)
{
    const uint8_t *src = (const uint8_t *)data;
    uint32_t i;
    if ((offset & 3u) != 0u || (len & 3u) != 0u || offset > HOST_FLASH_SIZE ||
        len > HOST_FLASH_SIZE - offset) {
        return -1;
    }
    for (i = 0u; i < len; ++i) {
        s_flash[offset + i] &= src[i];
    }
    return 0;
}

const uint8_t *board_flash_ptr(uint32_t offset) { return s_flash + offset; }

/* Power cuts are staged on QEMU, whose flash stand-in survives the emulator (qemu_f405.c). */
int32_t board_flash_cut(uint32_t after, uint32_t *counted)
{
    (void)after;
    *counted = 0u;
    return -1;
}

void board_watchdog_start(uint32_t timeout_ms) { (void)timeout_ms; }
void board_watchdog_kick(void) {}

void board_reset(void) { exit(0); }

void board_exit(int32_t code) { exit((int)code); }

/* The host build has no read-only program area (programs come over the link). */
const uint8_t *board_program_rom(uint32_t *len)
{
    *len = 0u;
    return NULL;
}
