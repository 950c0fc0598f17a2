/* commands.c - PING, INFO, RESET (system) and DEBUG for now; the training commands land
 * here as the engine grows. Payload layouts: docs/protocol.md. */
#include "commands.h"

#include <signal.h>
#include <string.h>

#include "protocol.h"

/* The board's reset codes are the protocol's, so BOOT can pass them on as they are. */
typedef char commands_reset_codes_match[(BOARD_RESET_POWER == RESET_REASON_POWER &&
                                          BOARD_RESET_PIN == RESET_REASON_PIN &&
                                          BOARD_RESET_SOFTWARE == RESET_REASON_SOFTWARE &&
                                          BOARD_RESET_WATCHDOG == RESET_REASON_WATCHDOG &&
                                          BOARD_RESET_FAULT == RESET_REASON_FAULT &&
                                          BOARD_RESET_BROWNOUT == RESET_REASON_BROWNOUT)
                                             ? 1
                                             : -1];

/* Counter value when BOOT went out: boot cost as seen by the host. */
static uint64_t s_boot_cycles;

static const char *board_name(uint32_t id)
{
    switch (id) {
    case BOARD_ID_QEMU_F405:
        return "qemu_f405";
    case BOARD_ID_DISCO_F746:
        return "disco_f746";
    default:
        return "host";
    }
}

void commands_boot(link_t *link)
{
    uint8_t p[BOOT_EVENT_SIZE];
    memset(p, 0, sizeof p);
    p[0] = (uint8_t)board_reset_reason();
    p[1] = (uint8_t)PROTO_VERSION;
    p[2] = (uint8_t)FW_VERSION_MAJOR;
    p[3] = (uint8_t)FW_VERSION_MINOR;
    p[4] = (uint8_t)FW_VERSION_PATCH;
    s_boot_cycles = board_cycles();
    link_event(link, EVENT_BOOT, p, (uint16_t)sizeof p);
}

static void cmd_info(link_t *link, const link_frame_t *req)
{
    const board_info_t *bi = board_info();
    uint8_t p[INFO_REPLY_SIZE];
    const char *name = board_name(bi->board_id);
    size_t n = strlen(name);

    memset(p, 0, sizeof p);
    p[0] = (uint8_t)PROTO_VERSION;
    p[1] = (uint8_t)FW_VERSION_MAJOR;
    p[2] = (uint8_t)FW_VERSION_MINOR;
    p[3] = (uint8_t)FW_VERSION_PATCH;
    proto_put_u16(&p[4], 0u);  /* schedule format version: no engine program support yet */
    proto_put_u16(&p[6], 0u);  /* reserved */
    proto_put_u32(&p[8], bi->core_hz);
    proto_put_u32(&p[12], bi->ram_size);
    proto_put_u32(&p[16], bi->flash_total);
    proto_put_u32(&p[20], 0u); /* arena bytes: no arena yet */
    proto_put_u32(&p[24], 0u); /* model id: none loaded */
    proto_put_u32(&p[28], bi->flash_size); /* program/checkpoint region */
    memcpy(&p[32], name, n < INFO_BOARD_LEN ? n : INFO_BOARD_LEN);
    link_reply(link, req, STATUS_OK, p, (uint16_t)sizeof p);
}

static void put_u64(uint8_t *p, uint64_t v)
{
    proto_put_u32(p, (uint32_t)v);
    proto_put_u32(p + 4, (uint32_t)(v >> 32));
}

static void debug_counters(link_t *link, const link_frame_t *req)
{
    const board_info_t *bi = board_info();
    uint8_t p[DEBUG_COUNTERS_REPLY_SIZE];
    put_u64(&p[0], board_cycles());
    put_u64(&p[8], s_boot_cycles);
    proto_put_u32(&p[16], bi->unit);
    proto_put_u32(&p[20], bi->tick_hz);
    proto_put_u32(&p[24], board_stack_peak_bytes());
    proto_put_u32(&p[28], board_reset_reason());
    proto_put_u32(&p[32], bi->board_id);
    proto_put_u32(&p[36], bi->flash_base);
    proto_put_u32(&p[40], bi->flash_size);
    proto_put_u32(&p[44], bi->flash_erase_size);
    proto_put_u32(&p[48], bi->flash_is_ram);
    link_reply(link, req, STATUS_OK, p, (uint16_t)sizeof p);
}

static void debug_fault(link_t *link, const link_frame_t *req)
{
    if (req->len < DEBUG_FAULT_REQ_SIZE) {
        link_reply(link, req, STATUS_BAD_ARG, NULL, 0u);
        return;
    }
    if (req->payload[1] == DEBUG_FAULT_UNDEF) {
#if defined(__arm__) || defined(__thumb__)
        __asm volatile("udf #0");
#else
        (void)raise(SIGILL);
#endif
    } else if (req->payload[1] == DEBUG_FAULT_READ) {
        volatile const uint32_t *addr =
            (volatile const uint32_t *)(uintptr_t)proto_get_u32(&req->payload[4]);
        (void)*addr;
    }
    /* Unknown kind, or the access did not fault (the address was mapped). */
    link_reply(link, req, STATUS_BAD_ARG, NULL, 0u);
}

static void cmd_debug(link_t *link, const link_frame_t *req)
{
    if (req->len < 1u) {
        link_reply(link, req, STATUS_BAD_ARG, NULL, 0u);
        return;
    }
    switch (req->payload[0]) {
    case DEBUG_OP_COUNTERS:
        debug_counters(link, req);
        break;
    case DEBUG_OP_FAULT:
        debug_fault(link, req);
        break;
    case DEBUG_OP_EXIT:
        if (req->len < DEBUG_EXIT_REQ_SIZE) {
            link_reply(link, req, STATUS_BAD_ARG, NULL, 0u);
            break;
        }
        link_reply(link, req, STATUS_OK, NULL, 0u);
        board_exit((int32_t)proto_get_u32(&req->payload[4]));
        break;
    default:
        link_reply(link, req, STATUS_BAD_ARG, NULL, 0u);
        break;
    }
}

static void cmd_reset(link_t *link, const link_frame_t *req)
{
    if (req->len < RESET_REQ_SIZE) {
        link_reply(link, req, STATUS_BAD_ARG, NULL, 0u);
        return;
    }
    if (req->payload[0] != RESET_MODE_SYSTEM) {
        /* RESET_MODE_TRAINING belongs to the training state, which does not exist yet. */
        link_reply(link, req, STATUS_NO_MODEL, NULL, 0u);
        return;
    }
    link_reply(link, req, STATUS_OK, NULL, 0u);
    board_reset(); /* the host then sees BOOT with reason SOFTWARE */
}

void commands_dispatch(link_t *link, const link_frame_t *req)
{
    switch (req->cmd) {
    case CMD_PING:
        link_reply(link, req, STATUS_OK, req->payload, req->len);
        break;
    case CMD_INFO:
        cmd_info(link, req);
        break;
    case CMD_RESET:
        cmd_reset(link, req);
        break;
    case CMD_DEBUG:
        cmd_debug(link, req);
        break;
    default:
        link_reply(link, req, STATUS_UNKNOWN_CMD, NULL, 0u);
        break;
    }
}

void commands_fault(link_t *link, const board_fault_t *f)
{
    uint8_t p[FAULT_EVENT_SIZE];
    /* A fault in the middle of sending a frame leaves it half-written; a
     * delimiter ends it so the host drops it and still parses this event. */
    board_uart_put(0u);
    proto_put_u32(&p[0], f->pc);
    proto_put_u32(&p[4], f->lr);
    proto_put_u32(&p[8], f->xpsr);
    proto_put_u32(&p[12], f->cfsr);
    proto_put_u32(&p[16], f->hfsr);
    proto_put_u32(&p[20], f->mmfar);
    proto_put_u32(&p[24], f->bfar);
    proto_put_u32(&p[28], f->sp);
    link_event(link, EVENT_FAULT, p, (uint16_t)sizeof p);
}
