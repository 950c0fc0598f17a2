/* commands.h - request handlers behind the link (docs/protocol.md). main.c
 * feeds each complete request to commands_dispatch(), which answers it with
 * exactly one link_reply(). */
#ifndef MCUTRAIN_COMMANDS_H
#define MCUTRAIN_COMMANDS_H

#include "board.h"
#include "link.h"

/* Firmware version reported by BOOT and INFO (keep in step with the Python package). */
#define FW_VERSION_MAJOR 0u
#define FW_VERSION_MINOR 1u
#define FW_VERSION_PATCH 0u

/* CMD_DEBUG sub-operations, first payload byte. For tests and bring-up only.
 *   COUNTERS  -> reply DEBUG_COUNTERS_REPLY_SIZE bytes, little-endian:
 *                u64 cycles now, u64 cycles when BOOT was sent, u32 unit (BOARD_UNIT_*),
 *                u32 tick_hz, u32 stack peak bytes, u32 reset reason, u32 board id,
 *                u32 flash region base, u32 flash region size, u32 erase size, u32 flash_is_ram
 *   FAULT     -> u8 kind (DEBUG_FAULT_*), u8 pad[2], u32 address (for READ): faults on
 *                purpose, so there is no reply; a FAULT event comes instead.
 *   EXIT      -> u8 pad[3], i32 code: replies OK, then board_exit(code).
 *   HANG      -> u8 pad[3], u32 watchdog_ms: restarts the watchdog with that timeout (0: keeps
 *                the running one), then spins without kicking it, so no reply: the watchdog
 *                resets the board, BOOT (reason WATCHDOG) then EVENT_WATCHDOG (last_cmd DEBUG)
 *                follow. STATUS_UNKNOWN_CMD on the host build, which has no watchdog.
 *   FLASH_CUT -> u8 pad[3], u32 after: arms a power cut after `after` more bytes erased or
 *                programmed in the flash region (0 disarms; board_flash_cut()). Reply u32: the
 *                bytes erased or programmed since the previous FLASH_CUT. STATUS_UNKNOWN_CMD
 *                where the board cannot stage cuts (only QEMU can). */
#define DEBUG_OP_COUNTERS 0x00u
#define DEBUG_OP_FAULT 0x01u
#define DEBUG_OP_EXIT 0x02u
#define DEBUG_OP_HANG 0x03u
#define DEBUG_OP_FLASH_CUT 0x04u
#define DEBUG_COUNTERS_REPLY_SIZE 52u
#define DEBUG_FAULT_REQ_SIZE 8u
#define DEBUG_EXIT_REQ_SIZE 8u
#define DEBUG_HANG_REQ_SIZE 8u
#define DEBUG_FLASH_CUT_REQ_SIZE 8u
#define DEBUG_FLASH_CUT_REPLY_SIZE 4u
#define DEBUG_FAULT_UNDEF 0x00u /* undefined instruction: UsageFault (SIGILL on the host) */
#define DEBUG_FAULT_READ 0x01u  /* 32-bit load from `address`: BusFault when unmapped */

/* Sends the BOOT event; call once after link_init(). */
void commands_boot(link_t *link);

void commands_dispatch(link_t *link, const link_frame_t *req);

/* From app_on_fault(): reports the fault as a FAULT event. */
void commands_fault(link_t *link, const board_fault_t *f);

#endif /* MCUTRAIN_COMMANDS_H */
