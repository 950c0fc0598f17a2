/* commands.c - one handler per request (docs/protocol.md has the payload layouts). The
 * handlers only check the request's shape and compose the reply; the work is done by
 * program_store.c (LOAD), session.c (SAMPLE, INFER, TRAIN, STATS) and checkpoint.c. */
#include "commands.h"

#include <signal.h>
#include <string.h>

#include "checkpoint.h"
#include "engine.h"
#include "program_store.h"
#include "protocol.h"
#include "session.h"

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

/* What was running, kept across a reset so the boot after a watchdog reset can say what hung
 * (EVENT_WATCHDOG). On the Cortex-M boards it sits in .noinit, which startup does not clear;
 * power-on garbage there fails the check word. The host build has no reset to survive. */
typedef struct {
    uint32_t magic, cmd, step, check;
} running_t;
#define RUNNING_MAGIC 0x52554E47u /* "RUNG" */
#if defined(__arm__) || defined(__thumb__)
__attribute__((section(".noinit")))
#endif
static running_t s_running;

static void commands_run(link_t *link, const link_frame_t *req);

static void running_set(uint32_t cmd, uint32_t step)
{
    s_running.magic = RUNNING_MAGIC;
    s_running.cmd = cmd;
    s_running.step = step;
    s_running.check = RUNNING_MAGIC ^ cmd ^ step;
}

/* Reply payloads are composed here (the link copies them into its reply cache), so no
 * handler needs a kilobyte of stack. */
static uint8_t s_reply[LINK_MAX_PAYLOAD];

/* Binds the best program the store has (newest upload, else ROM) and its newest checkpoint. */
static void bind_stored_program(void)
{
    program_ref_t ref;
    session_unbind();
    checkpoint_forget();
    if (program_store_find(&ref) && session_bind(&ref) == STATUS_OK) {
        (void)checkpoint_boot();
    }
}

static const char *board_name(uint32_t id)
{
    switch (id) {
    case BOARD_ID_QEMU_F405:
        return "qemu_f405";
    case BOARD_ID_DISCO_F746:
        return "disco_f746";
    case BOARD_ID_NUCLEO_F412ZG:
        return "nucleo_f412zg";
    default:
        return "host";
    }
}

void commands_boot(link_t *link)
{
    uint8_t p[BOOT_EVENT_SIZE];
    const program_ref_t *ref;
    bind_stored_program();
    ref = session_program();
    memset(p, 0, sizeof p);
    p[0] = (uint8_t)board_reset_reason();
    p[1] = (uint8_t)PROTO_VERSION;
    p[2] = (uint8_t)FW_VERSION_MAJOR;
    p[3] = (uint8_t)FW_VERSION_MINOR;
    p[4] = (uint8_t)FW_VERSION_PATCH;
    p[5] = ref != NULL ? ref->source : (uint8_t)PROGRAM_SOURCE_NONE;
    p[6] = checkpoint_current();
    s_boot_cycles = board_cycles();
    link_event(link, EVENT_BOOT, p, (uint16_t)sizeof p);
    if (board_reset_reason() == BOARD_RESET_WATCHDOG) {
        uint8_t w[WATCHDOG_EVENT_SIZE];
        int ok = s_running.magic == RUNNING_MAGIC &&
                 s_running.check == (RUNNING_MAGIC ^ s_running.cmd ^ s_running.step);
        memset(w, 0, sizeof w);
        w[0] = ok ? (uint8_t)s_running.cmd : 0u;
        proto_put_u32(&w[4], ok ? s_running.step : 0u);
        link_event(link, EVENT_WATCHDOG, w, (uint16_t)sizeof w);
    }
    running_set(0u, 0u);
}

static void cmd_info(link_t *link, const link_frame_t *req)
{
    const board_info_t *bi = board_info();
    uint8_t p[INFO_REPLY_SIZE];
    const char *name = board_name(bi->board_id);
    size_t n = strlen(name);
    const program_ref_t *ref = session_program();

    memset(p, 0, sizeof p);
    p[0] = (uint8_t)PROTO_VERSION;
    p[1] = (uint8_t)FW_VERSION_MAJOR;
    p[2] = (uint8_t)FW_VERSION_MINOR;
    p[3] = (uint8_t)FW_VERSION_PATCH;
    if (req->len != 0u) {
        link_reply(link, req, STATUS_BAD_ARG, NULL, 0u);
        return;
    }
    proto_put_u16(&p[4], (uint16_t)MCT_FORMAT_VERSION);
    p[6] = ref != NULL ? ref->source : (uint8_t)PROGRAM_SOURCE_NONE;
    p[7] = checkpoint_current();
    proto_put_u32(&p[8], bi->core_hz);
    proto_put_u32(&p[12], bi->ram_size);
    proto_put_u32(&p[16], bi->flash_total);
    proto_put_u32(&p[20], session_arena_capacity());
    proto_put_u32(&p[24], ref != NULL ? ref->model_id : 0u);
    proto_put_u32(&p[28], program_store_capacity());
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
    proto_put_u32(&p[44], bi->flash_sectors);
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

static void debug_hang(link_t *link, const link_frame_t *req)
{
    uint32_t ms;
    if (req->len < DEBUG_HANG_REQ_SIZE) {
        link_reply(link, req, STATUS_BAD_ARG, NULL, 0u);
        return;
    }
    if (board_info()->board_id == BOARD_ID_HOST) {
        link_reply(link, req, STATUS_UNKNOWN_CMD, NULL, 0u); /* nothing would ever reset it */
        return;
    }
    ms = proto_get_u32(&req->payload[4]);
    if (ms != 0u) {
        board_watchdog_start(ms);
    }
    for (;;) {
        /* A main loop that stopped making progress: only the watchdog gets out of here. */
    }
}

static void debug_flash_cut(link_t *link, const link_frame_t *req)
{
    uint32_t counted;
    uint8_t p[DEBUG_FLASH_CUT_REPLY_SIZE];
    if (req->len < DEBUG_FLASH_CUT_REQ_SIZE) {
        link_reply(link, req, STATUS_BAD_ARG, NULL, 0u);
        return;
    }
    if (board_flash_cut(proto_get_u32(&req->payload[4]), &counted) != 0) {
        link_reply(link, req, STATUS_UNKNOWN_CMD, NULL, 0u);
        return;
    }
    proto_put_u32(&p[0], counted);
    link_reply(link, req, STATUS_OK, p, (uint16_t)sizeof p);
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
    case DEBUG_OP_HANG:
        debug_hang(link, req);
        break;
    case DEBUG_OP_FLASH_CUT:
        debug_flash_cut(link, req);
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
    if (req->payload[0] == RESET_MODE_TRAINING) {
        uint8_t st = session_reset_training();
        if (st == STATUS_OK) {
            checkpoint_forget(); /* the weights are the initial ones now, not a slot's */
        }
        link_reply(link, req, st, NULL, 0u);
        return;
    }
    if (req->payload[0] != RESET_MODE_SYSTEM) {
        link_reply(link, req, STATUS_BAD_ARG, NULL, 0u);
        return;
    }
    link_reply(link, req, STATUS_OK, NULL, 0u);
    board_reset(); /* the host then sees BOOT with reason SOFTWARE */
}

static void cmd_stats(link_t *link, const link_frame_t *req)
{
    if (req->len > 1u || (req->len == 1u && (req->payload[0] & ~1u) != 0u)) {
        link_reply(link, req, STATUS_BAD_ARG, NULL, 0u);
        return;
    }
    session_stats(s_reply, req->len == 1u && (req->payload[0] & 1u) != 0u);
    link_reply(link, req, STATUS_OK, s_reply, (uint16_t)STATS_REPLY_SIZE);
}

static uint8_t load_begin(const link_frame_t *req, uint16_t *n)
{
    const program_ref_t *ref = session_program();
    int clobbered = 0;
    uint8_t st = program_store_begin(req->payload, req->len, ref != NULL ? ref->blob : NULL, s_reply, n,
                                     &clobbered);
    if (clobbered) {
        /* The running program's bytes were erased: fall back to what is left (ROM). */
        bind_stored_program();
    }
    return st;
}

static uint8_t load_commit(uint16_t *n)
{
    program_ref_t ref;
    uint8_t st = program_store_verify(&ref);
    if (st != STATUS_OK) {
        return st;
    }
    st = session_bind(&ref);
    if (st != STATUS_OK) {
        /* Refused before anything was touched (arena too small) or, rarely, after: either
         * way the new program is dropped and the stored one is running. */
        program_store_abort();
        if (session_program() == NULL) {
            bind_stored_program();
        }
        return st;
    }
    /* A new program starts from its initial weights; checkpoints of it are restored at
     * the next boot or by CHECKPOINT_RESTORE. */
    checkpoint_forget();
    return program_store_seal(s_reply, n);
}

static void cmd_load(link_t *link, const link_frame_t *req)
{
    uint16_t n = 0u;
    uint8_t st;
    if (req->len < 1u) {
        link_reply(link, req, STATUS_BAD_ARG, NULL, 0u);
        return;
    }
    switch (req->payload[0]) {
    case XFER_OP_BEGIN:
        st = load_begin(req, &n);
        break;
    case XFER_OP_CHUNK:
        st = program_store_chunk(req->payload, req->len, s_reply, &n);
        break;
    case XFER_OP_COMMIT:
        st = req->len == 4u ? load_commit(&n) : STATUS_BAD_ARG;
        break;
    case XFER_OP_ABORT:
        st = req->len == 4u ? STATUS_OK : STATUS_BAD_ARG;
        if (st == STATUS_OK) {
            program_store_abort();
        }
        break;
    default:
        st = STATUS_BAD_ARG;
        break;
    }
    link_reply(link, req, st, st == STATUS_OK ? s_reply : NULL, st == STATUS_OK ? n : 0u);
}

static void cmd_sample(link_t *link, const link_frame_t *req)
{
    uint16_t n = 0u;
    uint8_t st = session_sample(req->payload, req->len, s_reply, &n);
    link_reply(link, req, st, st == STATUS_OK ? s_reply : NULL, st == STATUS_OK ? n : 0u);
}

static void cmd_infer(link_t *link, const link_frame_t *req)
{
    uint16_t n = 0u;
    uint8_t st = req->len == 0u ? session_infer(s_reply, &n, (uint16_t)sizeof s_reply) : STATUS_BAD_ARG;
    link_reply(link, req, st, st == STATUS_OK ? s_reply : NULL, st == STATUS_OK ? n : 0u);
}

static void cmd_train(link_t *link, const link_frame_t *req)
{
    session_step_t r;
    uint32_t steps, i;
    uint64_t cycles = 0u;
    uint8_t st = STATUS_OK;
    if (req->len != TRAIN_REQ_SIZE || proto_get_u32(req->payload) == 0u) {
        link_reply(link, req, STATUS_BAD_ARG, NULL, 0u);
        return;
    }
    steps = proto_get_u32(req->payload);
    memset(&r, 0, sizeof r);
    for (i = 0u; i < steps && st == STATUS_OK; ++i) {
        st = session_train_step(&r);
        cycles += r.cycles;
        /* The watchdog bounds one step, not the whole request (n steps may take long). */
        board_watchdog_kick();
        running_set(CMD_TRAIN, session_steps());
        if (st == STATUS_OK && steps > 1u) {
            /* Lets the host restart its timeout instead of guessing how long n steps take. */
            uint8_t ev[PROGRESS_EVENT_SIZE];
            memset(ev, 0, sizeof ev);
            ev[0] = (uint8_t)CMD_TRAIN;
            proto_put_u32(&ev[4], i + 1u);
            proto_put_u32(&ev[8], steps);
            link_event(link, EVENT_PROGRESS, ev, (uint16_t)sizeof ev);
        }
    }
    if (st != STATUS_OK) {
        link_reply(link, req, st, NULL, 0u);
        return;
    }
    proto_put_f32(&s_reply[0], r.loss);
    proto_put_u16(&s_reply[4], r.predicted);
    s_reply[6] = r.correct;
    s_reply[7] = 0u;
    proto_put_u32(&s_reply[8], cycles > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)cycles);
    proto_put_u32(&s_reply[12], session_steps());
    link_reply(link, req, STATUS_OK, s_reply, (uint16_t)TRAIN_REPLY_SIZE);
}

static void cmd_checkpoint(link_t *link, const link_frame_t *req)
{
    uint16_t n = 0u;
    uint8_t st = req->cmd == CMD_CHECKPOINT_SAVE ? checkpoint_save(req->payload, req->len, s_reply, &n)
                                                 : checkpoint_restore(req->payload, req->len, s_reply, &n);
    link_reply(link, req, st, st == STATUS_OK ? s_reply : NULL, st == STATUS_OK ? n : 0u);
}

void commands_dispatch(link_t *link, const link_frame_t *req)
{
    running_set(req->cmd, session_steps());
    commands_run(link, req);
    running_set(0u, session_steps());
}

static void commands_run(link_t *link, const link_frame_t *req)
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
    case CMD_STATS:
        cmd_stats(link, req);
        break;
    case CMD_LOAD:
        cmd_load(link, req);
        break;
    case CMD_SAMPLE:
        cmd_sample(link, req);
        break;
    case CMD_INFER:
        cmd_infer(link, req);
        break;
    case CMD_TRAIN:
        cmd_train(link, req);
        break;
    case CMD_CHECKPOINT_SAVE:
    case CMD_CHECKPOINT_RESTORE:
        cmd_checkpoint(link, req);
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
