"""End to end: the Python Link against the simulated device (real C link + test handlers) over a
TCP socket, with frames dropped and corrupted in both directions."""

from __future__ import annotations

import struct
import time

import pytest
import serial
from proto_lossy import LossyPort

from mcutrain.device import protocol as proto
from mcutrain.device.link import (
    CommandError,
    DeviceFaultError,
    DeviceResetError,
    Frame,
    Link,
    LinkError,
    encode_frame,
    open_link,
)

SIM_REBOOT_SILENT, SIM_SLEEP, SIM_LOG, SIM_FAULT, SIM_STEP_MS = 1, 2, 3, 4, 5


def debug(op: int, arg: int = 0) -> bytes:
    return struct.pack("<BI", op, arg)


def connect(url: str, **lossy: object) -> tuple[Link, LossyPort]:
    port = LossyPort(serial.serial_for_url(url, timeout=0.01), **lossy)  # type: ignore[arg-type]
    link = Link(port, timeout=0.15, retries=4)
    time.sleep(0.05)
    link.poll()  # the power-on BOOT
    return link, port


def executions(link: Link) -> int:
    return proto.unpack_stats(link.request(proto.Cmd.STATS)).steps


def test_handshake_ping_info(sim: str) -> None:
    with open_link(sim, timeout=0.5) as link:
        assert link.request(proto.Cmd.PING, b"abc") == b"abc"
        assert link.request(proto.Cmd.PING, bytes(range(256)) * 4) == bytes(range(256)) * 4
        info = proto.unpack_info(link.request(proto.Cmd.INFO))
        assert info.board == "host-sim" and info.proto_version == proto.PROTO_VERSION
        with pytest.raises(CommandError, match="UNKNOWN_CMD") as e:
            link.request(0x33)
        assert e.value.status == proto.Status.UNKNOWN_CMD


def test_dropped_request_is_retransmitted(sim: str) -> None:
    link, port = connect(sim, drop_tx={0, 2})
    assert link.request(proto.Cmd.PING, b"one") == b"one"  # first copy dropped
    assert proto.unpack_train_reply(link.request(proto.Cmd.TRAIN, proto.pack_train(1))).steps_total == 1
    assert proto.unpack_train_reply(link.request(proto.Cmd.TRAIN, proto.pack_train(1))).steps_total == 2
    assert link.retransmits == 2
    assert executions(link) == 2


def test_lost_reply_does_not_re_execute(sim: str) -> None:
    link, port = connect(sim)
    port.drop_replies = 1  # the reply to the TRAIN below
    r = proto.unpack_train_reply(link.request(proto.Cmd.TRAIN, proto.pack_train(1)))
    assert link.retransmits == 1
    assert r.steps_total == 1  # the retransmission was answered from the cache
    assert executions(link) == 1


def test_corrupted_reply_and_request(sim: str) -> None:
    link, port = connect(sim)
    port.flip_rx = {port.rx_count + 2}  # two PROGRESS events, then the reply
    link.timeout = 2.0
    t = time.monotonic()
    assert proto.unpack_train_reply(link.request(proto.Cmd.TRAIN, proto.pack_train(2))).steps_total == 2
    assert time.monotonic() - t < 1.0  # retransmitted on the damage, not after a timeout
    assert link.retransmits == 1
    assert executions(link) == 2
    port.p = (0.0, 1.0, 0.0, 0.0)  # every request corrupted: the board NAKs, we give up
    with pytest.raises(LinkError, match="NAKed"):
        link.request(proto.Cmd.PING)
    assert link.naks >= 1


def test_soak_random_loss_both_directions(sim: str) -> None:
    link, port = connect(sim, seed=2024, p_drop_tx=0.08, p_flip_tx=0.08, p_drop_rx=0.08, p_flip_rx=0.08)
    link.retries = 12
    link.timeout = 0.06
    expected = 0
    for i in range(150):
        if i % 3 == 0:
            expected += 1
            r = proto.unpack_train_reply(link.request(proto.Cmd.TRAIN, proto.pack_train(1)))
            assert r.steps_total == expected, "a retransmitted TRAIN ran twice"
        else:
            payload = bytes([i]) * (i * 7 % 1024)
            assert link.request(proto.Cmd.PING, payload) == payload
    assert port.damaged > 20
    assert link.retransmits > 10


def test_not_responding_message() -> None:
    port = serial.serial_for_url("loop://", timeout=0.01)  # hears only its own echo
    link = Link(port, timeout=0.05, retries=3)
    with pytest.raises(LinkError) as e:
        link.request(proto.Cmd.PING)
    msg = str(e.value)
    assert msg == ("board not responding on loop:// after 3 tries: is it plugged in and running mcutrain firmware?")
    assert "\n" not in msg
    assert link.stale == 3  # its own echoed requests, ignored


def test_unexpected_reboot_is_reported(sim: str) -> None:
    link, _ = connect(sim)
    link.request(proto.Cmd.PING)
    resets = link.resets
    with pytest.raises(DeviceResetError, match=r"reset while waiting for DEBUG \(reset reason: watchdog\)"):
        link.request(proto.Cmd.DEBUG, debug(SIM_REBOOT_SILENT))
    assert link.resets == resets + 1
    assert link.request(proto.Cmd.PING, b"again") == b"again"


def test_reboot_between_requests_is_reported(sim: str) -> None:
    link, port = connect(sim)
    link.request(proto.Cmd.PING)
    # The board resets on its own (e.g. the watchdog) while the host is idle: a frame sent behind
    # the Link's back makes the simulator do that.
    port.write(b"\0" + encode_frame(Frame(proto.Cmd.DEBUG, 250, 0, debug(SIM_REBOOT_SILENT))))
    time.sleep(0.1)
    with pytest.raises(DeviceResetError, match="between requests"):
        link.request(proto.Cmd.PING)


def test_expected_reset(sim: str) -> None:
    link, _ = connect(sim)
    link.request(proto.Cmd.TRAIN, proto.pack_train(3))
    boot = proto.unpack_boot(link.reset_device())
    assert boot.reason == proto.ResetReason.SOFTWARE
    assert executions(link) == 0


def test_fault_is_reported(sim: str) -> None:
    link, _ = connect(sim)
    with pytest.raises(DeviceFaultError, match="faulted while running DEBUG: pc=0x08001234"):
        link.request(proto.Cmd.DEBUG, debug(SIM_FAULT))
    time.sleep(0.05)
    assert link.request(proto.Cmd.PING, b"x") == b"x"  # the reboot after the fault is not news


def test_logs_collected(sim: str) -> None:
    link, _ = connect(sim)
    link.request(proto.Cmd.DEBUG, debug(SIM_LOG, 5))
    assert link.logs == [f"log line {i}" for i in range(5)]
    assert link.lost_events == 0


def test_slow_command_needs_longer_timeout(sim: str) -> None:
    link, _ = connect(sim)
    link.request(proto.Cmd.DEBUG, debug(SIM_SLEEP, 300), timeout=1.0)
    assert link.retransmits == 0
    # With the default 0.15 s per try the host retransmits; the late replies are discarded.
    link.request(proto.Cmd.DEBUG, debug(SIM_SLEEP, 200))
    assert link.retransmits >= 1
    assert link.request(proto.Cmd.PING, b"after") == b"after"


def test_progress_events_keep_a_long_command_alive(sim: str) -> None:
    link, _ = connect(sim)
    link.timeout = 0.4
    link.request(proto.Cmd.DEBUG, debug(SIM_STEP_MS, 100))
    r = proto.unpack_train_reply(link.request(proto.Cmd.TRAIN, proto.pack_train(8)))  # 0.8 s > 0.4 s per try
    assert r.steps_total == 8
    assert link.retransmits == 0


def test_version_mismatch_message(sim: str) -> None:
    link, _ = connect(sim)
    assert link.hello().version == proto.PROTO_VERSION
    with pytest.raises(LinkError, match=r"speaks protocol v1, this host v2: reflash the firmware or update"):
        link.hello(version=2)


def test_reset_whose_reply_is_lost(sim: str) -> None:
    link, port = connect(sim)
    link.request(proto.Cmd.PING)
    port.drop_replies = 1
    assert proto.unpack_boot(link.reset_device()).reason == proto.ResetReason.SOFTWARE
    assert link.retransmits == 0  # the BOOT itself proved the RESET arrived
    assert link.request(proto.Cmd.PING, b"fresh") == b"fresh"
