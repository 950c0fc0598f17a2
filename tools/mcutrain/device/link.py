"""Host side of the serial link (docs/protocol.md): framing, retransmission, events.

The device is kept thin; the host does the waiting, retrying and explaining. ``Link`` works over
anything with pyserial's ``read``/``write`` and a settable ``timeout``: a real port,
``serial.serial_for_url("socket://host:port")`` for an emulator, or ``loop://``. Not thread-safe:
one thread talks to one board.
"""

from __future__ import annotations

import contextlib
import logging
import random
import select
import struct
import time
import zlib
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from . import cobs
from .protocol import (
    CMD_MAX,
    CRC_SIZE,
    FRAME_EVENT,
    FRAME_NAK,
    HEADER_SIZE,
    MAX_PAYLOAD,
    PROTO_VERSION,
    REPLY_BIT,
    Cmd,
    Event,
    Hello,
    ResetMode,
    Status,
    name_of,
    pack_hello,
    pack_reset,
    unpack_boot,
    unpack_fault,
    unpack_hello,
)

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<BBBH")
_POLL = 0.01  # seconds a read may block; bounds how late a deadline is noticed
MAX_WIRE = cobs.max_encoded(HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE) + 1


class SerialLike(Protocol):
    timeout: float | None

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...


class LinkError(RuntimeError):
    """The link failed: no answer, too much noise, a protocol mismatch or a device reset."""


class DeviceResetError(LinkError):
    """The board rebooted (BOOT event) while the host expected it to keep its state."""


class DeviceFaultError(LinkError):
    """The board reported a CPU fault while running a command."""


class CommandError(LinkError):
    """The device answered a request with a non-OK status."""

    def __init__(self, cmd: int, status: int, payload: bytes, port: str) -> None:
        self.cmd = cmd
        self.status = status
        self.payload = payload
        super().__init__(f"board on {port} answered {name_of(Cmd, cmd)} with {name_of(Status, status)}")


class FrameError(ValueError):
    """A received frame is damaged (COBS, length or CRC)."""


@dataclass(frozen=True)
class Frame:
    cmd: int
    seq: int
    arg: int  # status in replies, reason in NAKs, kind in events, 0 in requests
    payload: bytes = b""

    @property
    def is_request(self) -> bool:
        return 0 < self.cmd <= CMD_MAX

    @property
    def is_reply(self) -> bool:
        return REPLY_BIT < self.cmd <= (CMD_MAX | REPLY_BIT)


def frame_body(f: Frame) -> bytes:
    """Header + payload + CRC-32, before COBS."""
    if len(f.payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(f.payload)} bytes exceeds LINK_MAX_PAYLOAD={MAX_PAYLOAD}")
    body = _HEADER.pack(f.cmd, f.seq, f.arg, len(f.payload)) + f.payload
    return body + struct.pack("<I", zlib.crc32(body))


def encode_frame(f: Frame) -> bytes:
    """Wire bytes of one frame, ending with the 0x00 delimiter."""
    return cobs.encode(frame_body(f)) + b"\0"


def parse_body(body: bytes) -> Frame:
    """Check and split a COBS-decoded frame. Raises FrameError."""
    if len(body) < HEADER_SIZE + CRC_SIZE:
        raise FrameError(f"frame of {len(body)} bytes is shorter than header + CRC")
    cmd, seq, arg, n = _HEADER.unpack_from(body)
    if len(body) != HEADER_SIZE + n + CRC_SIZE:
        raise FrameError(f"frame length {len(body)} does not match its header (payload {n})")
    (crc,) = struct.unpack_from("<I", body, len(body) - CRC_SIZE)
    if zlib.crc32(body[: len(body) - CRC_SIZE]) != crc:
        raise FrameError("frame CRC mismatch")
    return Frame(cmd, seq, arg, bytes(body[HEADER_SIZE : HEADER_SIZE + n]))


def decode_frame(wire: bytes) -> Frame:
    """Inverse of encode_frame for one frame (delimiter optional). Raises FrameError."""
    if wire.endswith(b"\0"):
        wire = wire[:-1]
    try:
        body = cobs.decode(wire)
    except cobs.CobsError as e:
        raise FrameError(str(e)) from e
    return parse_body(body)


class Deframer:
    """Splits a byte stream at 0x00 delimiters; damaged frames are counted and skipped."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._overflow = False
        self.bad = 0

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        for chunk_end in _split_keep(data):
            part, ended = chunk_end
            if not self._overflow:
                self._buf += part
                if len(self._buf) > MAX_WIRE:
                    # Garbage without delimiters must not grow memory; skip to the next 0x00.
                    self._overflow = True
                    self._buf.clear()
            if not ended:
                continue
            if self._overflow:
                self.bad += 1
            elif self._buf:
                try:
                    frames.append(decode_frame(bytes(self._buf)))
                except FrameError as e:
                    self.bad += 1
                    log.debug("dropped damaged frame: %s", e)
            self._buf.clear()
            self._overflow = False
        return frames


def _split_keep(data: bytes) -> list[tuple[bytes, bool]]:
    """Pieces of data between delimiters, each with whether a delimiter ended it."""
    parts = data.split(b"\0")
    return [(p, i < len(parts) - 1) for i, p in enumerate(parts)]


# Stands in the frame stream for "a damaged frame went by here".
_DAMAGED = Frame(0, 0, 0)


class Link:
    """Request/reply over a serial port, with retransmission, NAK handling and device events."""

    def __init__(self, port: SerialLike | Any, *, timeout: float = 2.0, retries: int = 3) -> None:
        self.port = port
        self.timeout = timeout
        self.retries = max(1, retries)
        self.name = str(getattr(port, "port", None) or getattr(port, "name", None) or port)
        self.logs: list[str] = []
        self.events: deque[tuple[int, bytes]] = deque(maxlen=1024)
        self.resets = 0
        self.retransmits = 0
        self.naks = 0
        self.stale = 0
        self._deframer = Deframer()
        self._pending: deque[Frame] = deque()
        # A random first seq makes a leftover reply cache of a previous session unlikely to
        # match; the device also keys its cache on the frame CRC, and HELLO clears it.
        self._seq = random.randrange(256)
        self._established = False
        self._last_event_seq: int | None = None
        self.lost_events = 0
        with contextlib.suppress(AttributeError, ValueError):  # objects with a fixed timeout
            port.timeout = _POLL

    @property
    def bad_frames(self) -> int:
        """Damaged frames received from the device (noise, dropped bytes)."""
        return self._deframer.bad

    # --- requests ------------------------------------------------------------------------------

    def request(self, cmd: int, payload: bytes = b"", *, timeout: float | None = None) -> bytes:
        """Send a request and return the reply payload; raise CommandError unless status is OK."""
        status, reply = self.transact(cmd, payload, timeout=timeout)
        if status != Status.OK:
            raise CommandError(cmd, status, reply, self.name)
        return reply

    def transact(
        self, cmd: int, payload: bytes = b"", *, timeout: float | None = None, _boot_ok: bool = False
    ) -> tuple[int, bytes]:
        """Send a request and return (status, payload) of its reply, whatever the status."""
        if not 0 < cmd <= CMD_MAX:
            raise ValueError(f"command code 0x{cmd:02X} outside 0x01..0x{CMD_MAX:02X}")
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(f"payload of {len(payload)} bytes exceeds LINK_MAX_PAYLOAD={MAX_PAYLOAD}")
        self._seq = (self._seq + 1) & 0xFF
        # The leading 0x00 ends any partial garbage in the device's receiver, so our frame
        # starts clean even after noise or an aborted transfer.
        wire = b"\0" + encode_frame(Frame(cmd, self._seq, 0, bytes(payload)))
        want = cmd | REPLY_BIT
        per_try = self.timeout if timeout is None else timeout
        naked = 0
        # Retransmitting on a damaged frame saves a timeout when it was our reply, but it may have
        # been an event: so it ends at most one try per request early.
        damaged_ok = 1
        self._drain_idle()
        for attempt in range(self.retries):
            if attempt:
                self.retransmits += 1
            self.port.write(wire)
            deadline = time.monotonic() + per_try
            while True:
                f = self._next_frame(deadline)
                if f is None:
                    break  # timeout: retransmit
                if f is _DAMAGED:
                    if damaged_ok:
                        damaged_ok -= 1
                        break  # maybe our reply: ask again now rather than after the timeout
                    continue
                if f.cmd == FRAME_EVENT:
                    self._on_event(f, during=cmd, boot_expected=_boot_ok)
                    if _boot_ok and f.arg == Event.BOOT:
                        return Status.OK, b""  # RESET: the reply may be lost, the reboot is proof
                    if f.arg == Event.PROGRESS and len(f.payload) >= 1 and f.payload[0] == cmd:
                        deadline = time.monotonic() + per_try  # proof of life: keep waiting
                    continue
                if f.cmd == FRAME_NAK:
                    self.naks += 1
                    naked += 1
                    log.debug("NAK %s for seq %d", name_of(Status, f.arg), f.seq)
                    break  # the device lost a frame, maybe ours: retransmit now
                if f.cmd == want and f.seq == self._seq:
                    self._established = True
                    return f.arg, f.payload
                self.stale += 1  # a late duplicate of an earlier reply, or our own loopback echo
        if naked:
            raise LinkError(
                f"link to {self.name} failed after {self.retries} tries ({naked} NAKed by the board): "
                "check the baud rate and the cable"
            )
        raise LinkError(
            f"board not responding on {self.name} after {self.retries} tries: "
            "is it plugged in and running mcutrain firmware?"
        )

    def hello(self, *, version: int = PROTO_VERSION) -> Hello:
        """Version handshake; opens a session on the device. Raises LinkError on a mismatch."""
        status, reply = self.transact(Cmd.HELLO, pack_hello(version))
        h = unpack_hello(reply) if len(reply) >= 12 else None
        if status == Status.VERSION or (h is not None and h.version != version):
            theirs = h.version if h else "?"
            raise LinkError(
                f"board on {self.name} speaks protocol v{theirs}, this host v{version}: "
                "reflash the firmware or update mcutrain"
            )
        if status != Status.OK or h is None:
            raise CommandError(Cmd.HELLO, status, reply, self.name)
        return h

    def reset_device(self, *, timeout: float | None = None) -> bytes:
        """System reset: returns the BOOT event payload of the fresh boot."""
        self.poll()
        self._drop_events(Event.BOOT)  # only the boot that follows our RESET counts
        self.transact(Cmd.RESET, pack_reset(ResetMode.SYSTEM), timeout=timeout, _boot_ok=True)
        return self.wait_event(Event.BOOT, self.timeout if timeout is None else timeout)

    # --- events --------------------------------------------------------------------------------

    def wait_event(self, kind: int, timeout: float) -> bytes:
        """Return the payload of the next event of this kind (queued ones first).

        Waiting for BOOT is how a caller says a reset is expected; any other wait raises
        DeviceResetError when the board reboots."""
        for i, (k, p) in enumerate(self.events):
            if k == kind:
                del self.events[i]
                return p
        deadline = time.monotonic() + timeout
        while True:
            f = self._next_frame(deadline)
            if f is None:
                raise LinkError(f"no {name_of(Event, kind)} event from board on {self.name} within {timeout:g}s")
            if f.cmd != FRAME_EVENT:
                self.stale += f is not _DAMAGED
                continue
            self._on_event(f, during=None, boot_expected=kind == Event.BOOT)
            if f.arg == kind:
                self.events.pop()
                return f.payload

    def _drop_events(self, kind: int) -> None:
        kept = [(k, p) for k, p in self.events if k != kind]
        self.events.clear()
        self.events.extend(kept)

    def poll(self) -> None:
        """Read whatever the board sent while idle (logs, events) without sending anything."""
        self._drain_idle()

    def _drain_idle(self) -> None:
        while True:
            f = self._next_frame(time.monotonic())
            if f is None:
                return
            if f.cmd == FRAME_EVENT:
                self._on_event(f, during=None)
            else:
                self.stale += f is not _DAMAGED

    def _record(self, f: Frame) -> None:
        if self._last_event_seq is not None and f.arg != Event.BOOT:
            self.lost_events += (f.seq - self._last_event_seq - 1) & 0xFF
        self._last_event_seq = f.seq
        self.events.append((f.arg, f.payload))
        if f.arg == Event.LOG:
            text = f.payload.decode("utf-8", "replace")
            self.logs.append(text)
            log.info("[%s] %s", self.name, text)

    def _on_event(self, f: Frame, *, during: int | None, boot_expected: bool = False) -> None:
        self._record(f)
        if f.arg == Event.BOOT:
            self.resets += 1
            was, self._established = self._established, False
            if was and not boot_expected:
                boot = unpack_boot(f.payload)
                what = f"while waiting for {name_of(Cmd, during)}" if during is not None else "between requests"
                msg = (
                    f"board on {self.name} reset {what} (reset reason: {boot.reason_name}); "
                    "its state (model, sample, training) is gone"
                )
                log.warning(msg)
                raise DeviceResetError(msg)
        elif f.arg == Event.FAULT and during is not None:
            fault = unpack_fault(f.payload)
            self._established = False  # the reboot that usually follows is no news then
            raise DeviceFaultError(
                f"board on {self.name} faulted while running {name_of(Cmd, during)}: {fault or 'no details'}"
            )
        elif f.arg == Event.WATCHDOG:
            log.warning("board on %s reports a watchdog expiry", self.name)

    # --- bytes ---------------------------------------------------------------------------------

    def _next_frame(self, deadline: float) -> Frame | None:
        """Next good frame, _DAMAGED when a damaged one went by, or None once deadline has passed
        (one non-blocking look if it already has)."""
        while True:
            if self._pending:
                return self._pending.popleft()
            data = self._read_some(deadline)
            if data:
                bad = self._deframer.bad
                self._pending.extend(self._deframer.feed(data))
                if self._deframer.bad != bad:
                    self._pending.append(_DAMAGED)
            elif time.monotonic() >= deadline:
                return None

    def _read_some(self, deadline: float) -> bytes:
        """Whatever has arrived (up to 4 KB), waiting at most one poll interval."""
        sock = getattr(self.port, "_socket", None)
        if sock is not None:
            # pyserial's socket:// reports in_waiting as 0 or 1, which would cost a syscall per byte;
            # read the socket directly instead (QEMU's UART over TCP).
            ready, _, _ = select.select([sock], [], [], max(0.0, min(_POLL, deadline - time.monotonic())))
            return sock.recv(4096) if ready else b""
        waiting = getattr(self.port, "in_waiting", 0) or 0
        if waiting == 0 and time.monotonic() >= deadline:
            return b""
        return self.port.read(max(1, min(int(waiting), 4096)))

    def close(self) -> None:
        close = getattr(self.port, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_link(url: str, *, baudrate: int = 115200, timeout: float = 2.0, retries: int = 3) -> Link:
    """Open a port by pyserial URL or device path and do the version handshake."""
    import serial  # pyserial; imported here so the framing code works without it

    try:
        port = serial.serial_for_url(url, baudrate=baudrate, timeout=_POLL)
    except (serial.SerialException, ValueError) as e:
        raise LinkError(f"cannot open {url}: {e}; is the board plugged in, and is this its port?") from e
    link = Link(port, timeout=timeout, retries=retries)
    try:
        link.hello()
    except LinkError:
        link.close()
        raise
    return link
