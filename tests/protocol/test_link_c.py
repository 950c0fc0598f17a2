"""The device link (C, built for the host) against the host framing (Python): both directions,
resync after garbage, NAKs, duplicate replay, oversize frames, events, the HELLO handshake."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from proto_clink import CLink

from mcutrain.device import cobs
from mcutrain.device import protocol as proto
from mcutrain.device.link import Frame, encode_frame

APP = Path(__file__).resolve().parents[2] / "firmware" / "app"


def req(cmd: int, seq: int, payload: bytes = b"") -> bytes:
    return encode_frame(Frame(cmd, seq, 0, payload))


def raw_frame(cmd: int, seq: int, declared_len: int, payload: bytes, *, arg: int = 0) -> bytes:
    """A frame whose header may lie about its length (encode_frame refuses to build those)."""
    body = struct.pack("<BBBH", cmd, seq, arg, declared_len) + payload
    body += struct.pack("<I", zlib.crc32(body))
    return cobs.encode(body) + b"\0"


@pytest.mark.parametrize("n", [0, 1, 2, 253, 254, 255, 508, 1000, 1024])
def test_python_request_decodes_in_c_and_reply_decodes_in_python(dev: CLink, n: int) -> None:
    payload = bytes((i * 7) & 0xFF for i in range(n))  # includes zeros every 256 bytes
    assert dev.feed(req(proto.Cmd.PING, 42, payload)) == 1
    assert dev.last() == Frame(proto.Cmd.PING, 42, 0, payload)
    (reply,) = dev.frames()
    assert reply == Frame(proto.Cmd.PING | 0x80, 42, proto.Status.OK, payload)


def test_payload_extremes(dev: CLink) -> None:
    for i, payload in enumerate([b"\0" * 1024, b"\xff" * 1024, b"\0\xff" * 512]):
        assert dev.feed(req(proto.Cmd.PING, i, payload)) == 1
        assert dev.frames() == [Frame(proto.Cmd.PING | 0x80, i, 0, payload)]


def test_byte_at_a_time_and_back_to_back(dev: CLink) -> None:
    stream = b"".join(req(proto.Cmd.PING, s, bytes([s]) * s) for s in range(1, 30))
    delivered = sum(dev.feed(bytes([b])) for b in stream)
    assert delivered == 29
    assert [f.seq for f in dev.frames()] == list(range(1, 30))


def test_resync_after_garbage(dev: CLink) -> None:
    rng = random.Random(7)
    for trial in range(200):
        garbage = rng.randbytes(rng.randrange(1, 300))
        dev.feed(garbage)
        # The host's leading 0x00 ends whatever partial frame the garbage left behind.
        assert dev.feed(b"\0" + req(proto.Cmd.PING, trial & 0xFF, b"probe%d" % trial)) == 1
        frames = dev.frames()
        assert frames[-1] == Frame(proto.Cmd.PING | 0x80, trial & 0xFF, 0, b"probe%d" % trial)
        assert all(f.cmd == proto.FRAME_NAK for f in frames[:-1])


def test_empty_frames_are_silent(dev: CLink) -> None:
    dev.feed(b"\0" * 10)
    assert dev.take() == b""


def test_bad_crc_is_naked_not_delivered(dev: CLink) -> None:
    good = bytearray(cobs.decode(req(proto.Cmd.TRAIN, 9, b"\x01\x00\x00\x00")[:-1]))
    good[6] ^= 0x10  # a payload bit
    assert dev.feed(cobs.encode(bytes(good)) + b"\0") == 0
    assert dev.frames() == [Frame(proto.FRAME_NAK, 9, proto.Status.BAD_CRC)]
    assert dev.counters()["rx_bad_crc"] == 1


def test_every_single_bit_flip_is_rejected(dev: CLink) -> None:
    wire = req(proto.Cmd.TRAIN, 3, b"\x05\x00\x00\x00")
    for bit in range((len(wire) - 1) * 8):
        bad = bytearray(wire)
        bad[bit // 8] ^= 1 << (bit % 8)
        assert dev.feed(b"\0" + bytes(bad) + b"\0") == 0, f"bit {bit} flip accepted"
        assert all(f.cmd == proto.FRAME_NAK for f in dev.frames())
    assert dev.feed(req(proto.Cmd.TRAIN, 3, b"\x05\x00\x00\x00")) == 1


def test_truncated_and_short_frames_are_naked(dev: CLink) -> None:
    wire = req(proto.Cmd.PING, 5, b"hello world")
    assert dev.feed(wire[:-4] + b"\0") == 0  # dropped bytes: COBS block or CRC incomplete
    assert dev.feed(b"\x03\x01\x02\0") == 0  # well-formed COBS, shorter than a header
    frames = dev.frames()
    assert [f.cmd for f in frames] == [proto.FRAME_NAK, proto.FRAME_NAK]
    assert frames[1].arg == proto.Status.BAD_FRAME


def test_length_field_must_match(dev: CLink) -> None:
    assert dev.feed(raw_frame(proto.Cmd.PING, 1, 3, b"abcd")) == 0  # more bytes than declared
    assert dev.feed(raw_frame(proto.Cmd.PING, 2, 5, b"abcd")) == 0  # fewer bytes than declared
    assert [(f.cmd, f.arg) for f in dev.frames()] == [(proto.FRAME_NAK, proto.Status.BAD_FRAME)] * 2


def test_oversize_frames_rejected(dev: CLink) -> None:
    assert dev.feed(raw_frame(proto.Cmd.PING, 1, 1025, b"x" * 1025)) == 0
    assert dev.frames() == [Frame(proto.FRAME_NAK, 1, proto.Status.TOO_LONG)]
    assert dev.feed(raw_frame(proto.Cmd.PING, 2, 0xFFFF, b"y" * 5000)) == 0
    assert dev.frames() == [Frame(proto.FRAME_NAK, 2, proto.Status.TOO_LONG)]
    dev.feed(b"\x55" * 100_000 + b"\0")  # endless garbage: one NAK, no overrun
    assert len(dev.frames()) == 1
    assert dev.feed(req(proto.Cmd.PING, 3, b"ok")) == 1


def test_duplicate_seq_replays_cached_reply_without_executing(clib) -> None:
    dev = CLink(clib, echo=False)
    dev.take()
    wire = req(proto.Cmd.TRAIN, 77, b"\x01\x00\x00\x00")
    assert dev.feed(wire) == 1
    dev.reply(proto.Status.OK, b"result-1")
    first = dev.take()
    # The reply was lost; the host retransmits the identical frame, twice.
    assert dev.feed(b"\0" + wire) == 0
    assert dev.take() == first
    assert dev.feed(wire) == 0
    assert dev.take() == first
    assert dev.counters()["rx_dups"] == 2
    # Same seq, different content (a new host session reusing the number): executed.
    assert dev.feed(req(proto.Cmd.TRAIN, 77, b"\x02\x00\x00\x00")) == 1
    dev.reply(proto.Status.OK, b"result-2")
    assert dev.frames() == [Frame(proto.Cmd.TRAIN | 0x80, 77, 0, b"result-2")]
    # The next seq is new: executed; the old frame is no longer the cached one: executed again.
    assert dev.feed(req(proto.Cmd.TRAIN, 78, b"\x01\x00\x00\x00")) == 1
    dev.reply(proto.Status.OK)
    assert dev.feed(wire) == 1


def test_reply_status_and_oversize_reply(clib) -> None:
    dev = CLink(clib, echo=False)
    dev.take()
    dev.feed(req(proto.Cmd.LOAD, 1, b"\x00"))
    dev.reply(proto.Status.NO_SPACE, b"\x10\x00\x00\x00")
    assert dev.frames() == [Frame(proto.Cmd.LOAD | 0x80, 1, proto.Status.NO_SPACE, b"\x10\x00\x00\x00")]
    dev.feed(req(proto.Cmd.PING, 2, b""))
    clib.shim_reply(dev.mem, 0, b"z" * 1100, 1025)  # handler bug: too long
    assert dev.frames() == [Frame(proto.Cmd.PING | 0x80, 2, proto.Status.INTERNAL)]


def test_non_requests_ignored_silently(dev: CLink) -> None:
    # A loopback echo of the device's own output (replies, NAKs, events) must not start a storm.
    for cmd in (proto.Cmd.PING | 0x80, proto.FRAME_NAK, proto.FRAME_EVENT, 0x00, 0x80):
        assert dev.feed(encode_frame(Frame(cmd, 1, 0, b"x"))) == 0
    assert dev.take() == b""
    assert dev.counters()["rx_ignored"] == 5


def test_events_and_logs(dev: CLink) -> None:
    dev.event(proto.Event.BOOT, proto.pack_boot(proto.Boot(proto.ResetReason.WATCHDOG, 1, (0, 1, 0))))
    dev.log(b"hello \x00ignored")
    dev.log(b"L" * 2000)  # cut to one frame
    dev.event(proto.Event.FAULT, b"")
    frames = dev.frames()
    assert [f.cmd for f in frames] == [proto.FRAME_EVENT] * 4
    assert [f.seq for f in frames] == [0, 1, 2, 3]
    assert [f.arg for f in frames] == [proto.Event.BOOT, proto.Event.LOG, proto.Event.LOG, proto.Event.FAULT]
    assert proto.unpack_boot(frames[0].payload).reason == proto.ResetReason.WATCHDOG
    assert frames[1].payload == b"hello "
    assert frames[2].payload == b"L" * 1024
    # Events do not disturb the reply cache.
    wire = req(proto.Cmd.PING, 9, b"abc")
    dev.feed(wire)
    reply = dev.take()
    dev.log(b"in between")
    dev.take()
    dev.feed(wire)
    assert dev.take() == reply


def test_hello_is_answered_by_the_link(clib) -> None:
    dev = CLink(clib, echo=False)
    dev.take()
    assert dev.feed(req(proto.Cmd.HELLO, 1, proto.pack_hello())) == 0  # never reaches the app
    (f,) = dev.frames()
    assert (f.cmd, f.seq, f.arg) == (proto.Cmd.HELLO | 0x80, 1, proto.Status.OK)
    h = proto.unpack_hello(f.payload)
    assert (h.version, h.max_payload) == (proto.PROTO_VERSION, 1024)
    assert dev.feed(req(proto.Cmd.HELLO, 2, proto.pack_hello(version=99))) == 0
    assert dev.frames()[0].arg == proto.Status.VERSION


def test_hello_starts_a_session_and_clears_the_cache(clib) -> None:
    dev = CLink(clib, echo=False)
    dev.take()
    wire = req(proto.Cmd.TRAIN, 5, b"\x01\x00\x00\x00")
    assert dev.feed(wire) == 1
    dev.reply(proto.Status.OK)
    dev.feed(req(proto.Cmd.HELLO, 200, proto.pack_hello()))
    assert dev.feed(wire) == 1  # new session: same bytes are a new command


def test_link_state_size(clib) -> None:
    # The link must stay small next to a 256 KB training budget: rx frame + reply cache + a little.
    assert clib.shim_link_size() <= 2 * 1024 + 128


@pytest.mark.parametrize(
    ("cc", "flags"),
    [
        ("gcc", ["-O2"]),
        ("arm-none-eabi-gcc", ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os"]),
    ],
)
def test_compiles_strict(cc: str, flags: list[str], tmp_path: Path) -> None:
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    for src in (APP / "link.c", APP / "cobs.c", APP.parent / "engine" / "crc32.c"):
        r = subprocess.run(
            [
                cc,
                "-std=c99",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-Wshadow",
                "-Wconversion",
                *flags,
                "-I",
                str(APP.parent / "engine"),
                "-c",
                str(src),
                "-o",
                str(tmp_path / (src.name + ".o")),
            ],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
