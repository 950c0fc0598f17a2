/* Simulated device for end-to-end link tests: the real C link plus trivial command handlers,
 * serving one TCP connection on 127.0.0.1 (port printed on stdout) so the host can use
 * serial.serial_for_url("socket://..."). Handlers are test doubles, not the firmware's. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "link.h"

/* DEBUG sub-operations understood by this simulator. */
#define SIM_REBOOT_SILENT 1u /* reboot without replying (as a watchdog would) */
#define SIM_SLEEP 2u         /* u32 ms: sleep, then reply */
#define SIM_LOG 3u           /* u32 n: send n log lines, then reply */
#define SIM_FAULT 4u         /* FAULT event, then reboot without replying */
#define SIM_STEP_MS 5u       /* u32 ms: make each TRAIN step take this long */

typedef struct {
    int fd;
    link_t link;
    uint32_t executions; /* commands that really ran: the duplicate-replay tests count these */
    uint32_t step_ms;
} sim_t;

static void sim_write(void *ctx, const uint8_t *data, uint32_t len)
{
    sim_t *s = (sim_t *)ctx;
    while (len > 0u) {
        ssize_t n = send(s->fd, data, len, MSG_NOSIGNAL);
        if (n <= 0) {
            return;
        }
        data += n;
        len -= (uint32_t)n;
    }
}

static void sleep_ms(uint32_t ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    nanosleep(&ts, NULL);
}

static void sim_boot(sim_t *s, uint8_t reason)
{
    uint8_t p[BOOT_EVENT_SIZE] = {0};
    link_init(&s->link, sim_write, s);
    s->executions = 0u;
    s->step_ms = 0u;
    p[0] = reason;
    p[1] = PROTO_VERSION;
    p[2] = 0u;
    p[3] = 1u;
    p[4] = 0u;
    link_event(&s->link, EVENT_BOOT, p, BOOT_EVENT_SIZE);
}

static void sim_handle(sim_t *s, const link_frame_t *req)
{
    uint8_t out[64];
    uint32_t arg = (req->len >= 5u) ? proto_get_u32(&req->payload[1]) : 0u;
    memset(out, 0, sizeof out);
    switch (req->cmd) {
    case CMD_PING:
        link_reply(&s->link, req, STATUS_OK, req->payload, req->len);
        return;
    case CMD_INFO:
        out[0] = PROTO_VERSION;
        out[3] = 1u;
        proto_put_u32(&out[8], 168000000u);
        proto_put_u32(&out[12], 256u * 1024u);
        proto_put_u32(&out[16], 1024u * 1024u);
        proto_put_u32(&out[20], 200u * 1024u);
        memcpy(&out[32], "host-sim", 8);
        link_reply(&s->link, req, STATUS_OK, out, INFO_REPLY_SIZE);
        return;
    case CMD_TRAIN: {
        uint32_t steps, i;
        if (req->len != TRAIN_REQ_SIZE || proto_get_u32(req->payload) == 0u) {
            link_reply(&s->link, req, STATUS_BAD_ARG, NULL, 0u);
            return;
        }
        steps = proto_get_u32(req->payload);
        for (i = 0; i < steps; i++) {
            uint8_t pr[PROGRESS_EVENT_SIZE] = {0};
            sleep_ms(s->step_ms);
            s->executions++;
            pr[0] = CMD_TRAIN;
            proto_put_u32(&pr[4], i + 1u);
            proto_put_u32(&pr[8], steps);
            link_event(&s->link, EVENT_PROGRESS, pr, PROGRESS_EVENT_SIZE);
        }
        proto_put_f32(&out[0], 1.5f);
        proto_put_u32(&out[12], s->executions);
        link_reply(&s->link, req, STATUS_OK, out, TRAIN_REPLY_SIZE);
        return;
    }
    case CMD_STATS:
        proto_put_u32(&out[0], s->executions);
        link_reply(&s->link, req, STATUS_OK, out, STATS_REPLY_SIZE);
        return;
    case CMD_RESET:
        if (req->len >= 1u && req->payload[0] == RESET_MODE_SYSTEM) {
            link_reply(&s->link, req, STATUS_OK, NULL, 0u);
            sim_boot(s, RESET_REASON_SOFTWARE);
        } else {
            s->executions = 0u;
            link_reply(&s->link, req, STATUS_OK, NULL, 0u);
        }
        return;
    case CMD_DEBUG:
        if (req->len < 1u) {
            break;
        }
        switch (req->payload[0]) {
        case SIM_REBOOT_SILENT: {
            uint8_t wd[WATCHDOG_EVENT_SIZE] = {0};
            sim_boot(s, RESET_REASON_WATCHDOG);
            wd[0] = CMD_DEBUG;
            link_event(&s->link, EVENT_WATCHDOG, wd, WATCHDOG_EVENT_SIZE);
            return;
        }
        case SIM_SLEEP:
            sleep_ms(arg);
            link_reply(&s->link, req, STATUS_OK, NULL, 0u);
            return;
        case SIM_LOG: {
            uint32_t i;
            for (i = 0; i < arg; i++) {
                char line[32];
                snprintf(line, sizeof line, "log line %u", (unsigned)i);
                link_log(&s->link, line);
            }
            link_reply(&s->link, req, STATUS_OK, NULL, 0u);
            return;
        }
        case SIM_FAULT: {
            uint8_t f[FAULT_EVENT_SIZE] = {0};
            proto_put_u32(&f[0], 0x08001234u);
            proto_put_u32(&f[12], 0x00008200u);
            link_event(&s->link, EVENT_FAULT, f, FAULT_EVENT_SIZE);
            sim_boot(s, RESET_REASON_FAULT);
            return;
        }
        case SIM_STEP_MS:
            s->step_ms = arg;
            link_reply(&s->link, req, STATUS_OK, NULL, 0u);
            return;
        default:
            break;
        }
        link_reply(&s->link, req, STATUS_BAD_ARG, NULL, 0u);
        return;
    default:
        break;
    }
    link_reply(&s->link, req, STATUS_UNKNOWN_CMD, NULL, 0u);
}

int main(void)
{
    static sim_t sim; /* test program: the device firmware itself would allocate it statically too */
    struct sockaddr_in addr;
    socklen_t alen = sizeof addr;
    int one = 1;
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    uint8_t buf[4096];

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (srv < 0 || bind(srv, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(srv, 1) != 0 ||
        getsockname(srv, (struct sockaddr *)&addr, &alen) != 0) {
        perror("sim_device");
        return 1;
    }
    printf("%u\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);
    sim.fd = accept(srv, NULL, NULL);
    if (sim.fd < 0) {
        perror("sim_device: accept");
        return 1;
    }
    setsockopt(sim.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sim_boot(&sim, RESET_REASON_POWER);
    for (;;) {
        ssize_t n = recv(sim.fd, buf, sizeof buf, 0);
        ssize_t i;
        if (n <= 0) {
            break;
        }
        for (i = 0; i < n; i++) {
            const link_frame_t *req = NULL;
            if (link_rx_byte(&sim.link, buf[i], &req)) {
                sim_handle(&sim, req);
            }
        }
    }
    close(sim.fd);
    close(srv);
    return 0;
}
