"""No silent hang: a main loop that stops making progress is reset by the watchdog, and the host
says so (docs/reliability.md, "Watchdog").

On a real board that is the IWDG; QEMU 7.2's netduinoplus2 does not emulate it (`info qtree`: IWDG
and WWDG are unimplemented-device), so the QEMU board runs a software watchdog in its SysTick
interrupt (firmware/board/qemu_f405.c). DEBUG HANG restarts the watchdog with a short timeout and
spins without kicking it."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import debug_cmd as dbg  # noqa: E402

from mcutrain.device.link import DeviceResetError, Link  # noqa: E402
from mcutrain.device.protocol import Cmd, Event, ResetReason, unpack_boot, unpack_watchdog  # noqa: E402

hil = pytest.mark.hil
HANG_WATCHDOG_MS = 300


@hil
def test_hang_resets_through_the_watchdog(board: Link, emulator: object | None) -> None:
    assert board.request(Cmd.PING, b"up") == b"up"  # an established session: a reboot is news now
    t0 = time.monotonic()
    with pytest.raises(DeviceResetError) as e:
        board.request(Cmd.DEBUG, dbg.hang_request(HANG_WATCHDOG_MS), timeout=10.0)
    took = time.monotonic() - t0
    msg = str(e.value)
    print(f"\n{msg} ({took:.1f} s wall)")
    assert "\n" not in msg and "reset reason: watchdog" in msg and "DEBUG" in msg

    boot = unpack_boot(next(p for k, p in reversed(board.events) if k == Event.BOOT))
    assert boot.reason == ResetReason.WATCHDOG, boot.reason_name
    # The record the app kept in no-init RAM: what was running when the watchdog fired.
    wd = unpack_watchdog(board.wait_event(Event.WATCHDOG, 5.0))
    assert wd.last_cmd == Cmd.DEBUG

    # The board is back and serves requests; its own (long) timeout does not fire while idle.
    time.sleep(0.5)
    assert board.request(Cmd.PING, b"again") == b"again"
    counters = dbg.unpack_counters(board.request(Cmd.DEBUG, dbg.counters_request()))
    assert counters.reset_reason == ResetReason.WATCHDOG


@hil
def test_host_build_refuses_hang(tmp_path: Path) -> None:
    """The host build has no watchdog: HANG is refused instead of hanging the process forever."""
    from mcutrain.build import build_host
    from mcutrain.device.client import DeviceTarget
    from mcutrain.device.link import CommandError
    from mcutrain.device.protocol import Status

    with DeviceTarget.host_build(build_host(tmp_path / "fw")) as dev:
        with pytest.raises(CommandError) as e:
            dev.link.request(Cmd.DEBUG, dbg.hang_request(100))
        assert e.value.status == Status.UNKNOWN_CMD
