/* main.c - the command loop and nothing else: bytes from the UART go into
 * the link, complete requests go to commands.c, replies go back out through
 * the board's UART. */
#include "app_config.h"
#include "board.h"
#include "commands.h"
#include "link.h"

/* The link's state (buffers included) is static so its size shows up in
 * .bss at link time instead of on the stack. */
static link_t s_link;

static void uart_write(void *ctx, const uint8_t *data, uint32_t len)
{
    (void)ctx;
    board_uart_write(data, len);
}

int main(void)
{
    board_init();
    board_stack_paint();
    link_init(&s_link, uart_write, NULL);
    commands_boot(&s_link);
    /* After boot, which may restore a checkpoint: from here on the loop below kicks it, and a
     * hang anywhere in a request resets the board (BOOT with reason WATCHDOG). */
    board_watchdog_start(APP_WATCHDOG_MS);

    for (;;) {
        const link_frame_t *req;
        int32_t c = board_uart_get();
        if (c >= 0 && link_rx_byte(&s_link, (uint8_t)c, &req)) {
            commands_dispatch(&s_link, req);
        }
        board_watchdog_kick();
    }
}

void app_on_fault(const board_fault_t *f)
{
    commands_fault(&s_link, f);
}
