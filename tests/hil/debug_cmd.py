"""Host side of CMD_DEBUG (firmware/app/commands.h): test and bring-up helpers, not protocol
proper, so they live with the tests."""

from __future__ import annotations

import struct
from dataclasses import dataclass

DEBUG_OP_COUNTERS = 0x00
DEBUG_OP_FAULT = 0x01
DEBUG_OP_EXIT = 0x02
DEBUG_FAULT_UNDEF = 0x00
DEBUG_FAULT_READ = 0x01

BOARD_UNIT_CPU_CYCLE = 0
BOARD_UNIT_QEMU_TICK = 1
BOARD_UNIT_HOST_NS = 2
BOARD_EXIT_FAULT = 3

COUNTERS_REPLY = struct.Struct("<QQIIIIIIIII")


@dataclass(frozen=True)
class Counters:
    cycles: int
    boot_cycles: int
    unit: int
    tick_hz: int
    stack_peak: int
    reset_reason: int
    board_id: int
    flash_base: int
    flash_size: int
    flash_sectors: int
    flash_is_ram: int


def counters_request() -> bytes:
    return bytes([DEBUG_OP_COUNTERS])


def unpack_counters(p: bytes) -> Counters:
    return Counters(*COUNTERS_REPLY.unpack_from(p))


def fault_request(kind: int, address: int = 0) -> bytes:
    return struct.pack("<BB2xI", DEBUG_OP_FAULT, kind, address)


def exit_request(code: int) -> bytes:
    return struct.pack("<B3xi", DEBUG_OP_EXIT, code)


DEBUG_OP_HANG = 0x03
DEBUG_OP_FLASH_CUT = 0x04
BOARD_EXIT_POWER_CUT = 4


def hang_request(watchdog_ms: int = 0) -> bytes:
    """Spin without kicking the watchdog (restarted with `watchdog_ms` first unless 0): no reply,
    the watchdog resets the board."""
    return struct.pack("<B3xI", DEBUG_OP_HANG, watchdog_ms)


def flash_cut_request(after: int) -> bytes:
    """Arm a power cut after `after` more flash bytes erased or programmed (0 disarms)."""
    return struct.pack("<B3xI", DEBUG_OP_FLASH_CUT, after)


def unpack_flash_cut(p: bytes) -> int:
    """Bytes erased or programmed since the previous FLASH_CUT request."""
    return int(struct.unpack_from("<I", p)[0])
