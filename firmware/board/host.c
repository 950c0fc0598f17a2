/* host.c - the board as a POSIX process, for host builds of the firmware:
 * the UART is stdin/stdout (raw bytes, so a pipe or socket carries the link
 * protocol), the counter is CLOCK_MONOTONIC in ns, the checkpoint region is a
 * static array with NOR-flash semantics, and fatal signals are reported
 * through app_on_fault() like CPU faults on the boards.
 *
 * The region's sector map can be set to a real board's, so the app's flash layout
 * (program banks, checkpoint slots) runs here on that geometry:
 *   MCT_HOST_FLASH_SECTORS="128K,256K*3"     (DISCO-F746: chip sectors 4-7)
 * sizes in bytes or with a K suffix, "*n" repeats; default "4K*128" (512 KB). */
#define _POSIX_C_SOURCE 200809L

#include "board.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdio.h>

#include "flash_sectors.h"

#define HOST_FLASH_MAX (1024u * 1024u)
#define HOST_SECTORS_MAX 256u
#define HOST_SECTORS_DEFAULT "4K*128"

static uint8_t s_flash[HOST_FLASH_MAX];
static uint32_t s_sector[HOST_SECTORS_MAX];

static board_info_t s_info = {
    .board_id = BOARD_ID_HOST,
    .unit = BOARD_UNIT_HOST_NS,
    .tick_hz = 1000000000u,
    .core_hz = 0u,
    .ram_base = 0u,
    .ram_size = 0u,
    .flash_base = 0u,
    .flash_size = 0u,
    .flash_sectors = 0u,
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

/* Parses a MCT_HOST_FLASH_SECTORS spec into s_sector / s_info; 0 on success. */
static int sectors_parse(const char *spec)
{
    const char *p = spec;
    uint32_t n = 0u, total = 0u;
    while (*p != '\0') {
        char *end;
        unsigned long size = strtoul(p, &end, 10), times = 1u;
        if (end == p) {
            return -1;
        }
        if (size > HOST_FLASH_MAX) {
            return -1;
        }
        if (*end == 'K') {
            size *= 1024u;
            end += 1;
        }
        if (*end == '*') {
            p = end + 1;
            times = strtoul(p, &end, 10);
            if (end == p) {
                return -1;
            }
        }
        if (size == 0u || size % 4u != 0u || times == 0u || times > HOST_SECTORS_MAX - n ||
            size > HOST_FLASH_MAX || size * times > HOST_FLASH_MAX - total) {
            return -1;
        }
        while (times-- > 0u) {
            s_sector[n++] = (uint32_t)size;
            total += (uint32_t)size;
        }
        p = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0') {
            return -1;
        }
    }
    s_info.flash_sectors = n;
    s_info.flash_size = total;
    return n == 0u ? -1 : 0;
}

void board_init(void)
{
    const char *spec = getenv("MCT_HOST_FLASH_SECTORS");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = host_on_signal;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGSEGV, &sa, NULL);
    (void)sigaction(SIGBUS, &sa, NULL);
    (void)sigaction(SIGILL, &sa, NULL);
    (void)sigaction(SIGFPE, &sa, NULL);
    memset(s_flash, 0xFF, sizeof s_flash);
    if (sectors_parse(spec != NULL ? spec : HOST_SECTORS_DEFAULT) != 0) {
        fprintf(stderr, "MCT_HOST_FLASH_SECTORS=%s: expected sizes like 128K,256K*3 (at most %u sectors, "
                        "%u KB in all)\n", spec, HOST_SECTORS_MAX, HOST_FLASH_MAX / 1024u);
        exit(2);
    }
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

uint32_t board_flash_sector_size(uint32_t index)
{
    return index < s_info.flash_sectors ? s_sector[index] : 0u;
}

int32_t board_flash_erase(uint32_t offset, uint32_t len)
{
    uint32_t first, count;
    if (!board_sector_range(offset, len, &first, &count)) {
        return -1;
    }
    memset(s_flash + offset, 0xFF, len);
    return 0;
}

int32_t board_flash_write(uint32_t offset, const void *data, uint32_t len)
{
    const uint8_t *src = (const uint8_t *)data;
    uint32_t i;
    if ((offset & 3u) != 0u || (len & 3u) != 0u || offset > s_info.flash_size ||
        len > s_info.flash_size - offset) {
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
