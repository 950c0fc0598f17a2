"""Command, status and event codes and the payload layouts of docs/protocol.md, host side.

Every ``#define`` in firmware/app/protocol.h has a counterpart here (``c_defines()`` lists them by
their C name) and tests/protocol/test_codes.py checks that both agree. All multi-byte fields are
little-endian. Functions named ``pack_*`` build request payloads (and, for tests and simulators,
replies); ``unpack_*`` parse device replies and events into dataclasses.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

PROTO_VERSION = 1
HEADER_SIZE = 5
CRC_SIZE = 4
MAX_PAYLOAD = 1024
REPLY_BIT = 0x80
CMD_MAX = 0x7D
FRAME_NAK = 0xFE
FRAME_EVENT = 0xFF


class Cmd(IntEnum):
    HELLO = 0x01
    PING = 0x02
    INFO = 0x03
    STATS = 0x04
    LOAD = 0x10
    SAMPLE = 0x11
    TRAIN = 0x12
    INFER = 0x13
    CHECKPOINT_SAVE = 0x14
    CHECKPOINT_RESTORE = 0x15
    RESET = 0x16
    DEBUG = 0x70


class Status(IntEnum):
    OK = 0x00
    BAD_CRC = 0x01
    BAD_FRAME = 0x02
    TOO_LONG = 0x03
    UNKNOWN_CMD = 0x04
    BAD_ARG = 0x05
    BUSY = 0x06
    NO_MODEL = 0x07
    BAD_STATE = 0x08
    NO_SPACE = 0x09
    FLASH_ERROR = 0x0A
    NO_CHECKPOINT = 0x0B
    NO_SAMPLE = 0x0C
    VERSION = 0x0D
    INTERNAL = 0x0E
    NUMERIC = 0x0F


class Event(IntEnum):
    BOOT = 0x01
    LOG = 0x02
    FAULT = 0x03
    WATCHDOG = 0x04
    PROGRESS = 0x05


class ResetReason(IntEnum):
    UNKNOWN = 0x00
    POWER = 0x01
    PIN = 0x02
    SOFTWARE = 0x03
    WATCHDOG = 0x04
    FAULT = 0x05
    BROWNOUT = 0x06


class XferOp(IntEnum):
    BEGIN = 0x00
    CHUNK = 0x01
    COMMIT = 0x02
    ABORT = 0x03


class SampleDtype(IntEnum):
    INT8 = 0x00
    UINT8 = 0x01


class ProgramSource(IntEnum):
    NONE = 0x00
    UPLOADED = 0x01
    ROM = 0x02


class CheckpointSlot(IntEnum):
    AUTO = 0x00  # in requests; in INFO and BOOT the same value means "none"
    A = 0x01
    B = 0x02


class ResetMode(IntEnum):
    TRAINING = 0x00
    SYSTEM = 0x01


LOAD_KIND_PROGRAM = 0x00
SAMPLE_NO_LABEL = 0xFFFF
INFO_BOARD_LEN = 16
XFER_CHUNK_MAX_DATA = MAX_PAYLOAD - 8

# struct formats of the fixed-size payloads; their sizes are the *_SIZE defines of protocol.h.
HELLO_REQ = struct.Struct("<BBH")
HELLO_REPLY = struct.Struct("<BBHII")
INFO_REPLY = struct.Struct(f"<BBBBHBBIIIIII{INFO_BOARD_LEN}s")
STATS_REPLY = struct.Struct("<IIfffIIIII")
XFER_CHUNK_HEADER = struct.Struct("<B3xI")
LOAD_BEGIN = struct.Struct("<BBHII")
LOAD_BEGIN_REPLY = struct.Struct("<IHH")
LOAD_COMMIT_REPLY = struct.Struct("<III")
SAMPLE_BEGIN = struct.Struct("<BBHHHHHII")
SAMPLE_BEGIN_REPLY = struct.Struct("<I")
SAMPLE_COMMIT_REPLY = struct.Struct("<II")
XFER_CHUNK_REPLY = struct.Struct("<I")
XFER_SIMPLE = struct.Struct("<B3x")  # COMMIT and ABORT requests
TRAIN_REQ = struct.Struct("<I")
TRAIN_REPLY = struct.Struct("<fHBxII")
INFER_REPLY_HEADER = struct.Struct("<HHI")
CHECKPOINT_REQ = struct.Struct("<B3x")
CHECKPOINT_REPLY = struct.Struct("<III")
RESET_REQ = struct.Struct("<B3x")
BOOT_EVENT = struct.Struct("<BBBBBBBx")
FAULT_EVENT = struct.Struct("<8I")
WATCHDOG_EVENT = struct.Struct("<B3xI")
PROGRESS_EVENT = struct.Struct("<B3xII")

_SIZES = {
    "HELLO_REQ_SIZE": HELLO_REQ,
    "HELLO_REPLY_SIZE": HELLO_REPLY,
    "INFO_REPLY_SIZE": INFO_REPLY,
    "STATS_REPLY_SIZE": STATS_REPLY,
    "XFER_CHUNK_HEADER_SIZE": XFER_CHUNK_HEADER,
    "LOAD_BEGIN_SIZE": LOAD_BEGIN,
    "LOAD_BEGIN_REPLY_SIZE": LOAD_BEGIN_REPLY,
    "LOAD_COMMIT_REPLY_SIZE": LOAD_COMMIT_REPLY,
    "SAMPLE_BEGIN_SIZE": SAMPLE_BEGIN,
    "SAMPLE_BEGIN_REPLY_SIZE": SAMPLE_BEGIN_REPLY,
    "SAMPLE_COMMIT_REPLY_SIZE": SAMPLE_COMMIT_REPLY,
    "XFER_CHUNK_REPLY_SIZE": XFER_CHUNK_REPLY,
    "TRAIN_REQ_SIZE": TRAIN_REQ,
    "TRAIN_REPLY_SIZE": TRAIN_REPLY,
    "INFER_REPLY_HEADER_SIZE": INFER_REPLY_HEADER,
    "CHECKPOINT_REQ_SIZE": CHECKPOINT_REQ,
    "CHECKPOINT_REPLY_SIZE": CHECKPOINT_REPLY,
    "RESET_REQ_SIZE": RESET_REQ,
    "BOOT_EVENT_SIZE": BOOT_EVENT,
    "FAULT_EVENT_SIZE": FAULT_EVENT,
    "WATCHDOG_EVENT_SIZE": WATCHDOG_EVENT,
    "PROGRESS_EVENT_SIZE": PROGRESS_EVENT,
}


def c_defines() -> dict[str, int]:
    """Every #define of firmware/app/protocol.h, by its C name, as this module defines it."""
    d: dict[str, int] = {
        "PROTO_VERSION": PROTO_VERSION,
        "PROTO_HEADER_SIZE": HEADER_SIZE,
        "PROTO_CRC_SIZE": CRC_SIZE,
        "PROTO_REPLY_BIT": REPLY_BIT,
        "PROTO_CMD_MAX": CMD_MAX,
        "FRAME_NAK": FRAME_NAK,
        "FRAME_EVENT": FRAME_EVENT,
        "LOAD_KIND_PROGRAM": LOAD_KIND_PROGRAM,
        "SAMPLE_NO_LABEL": SAMPLE_NO_LABEL,
        "INFO_BOARD_LEN": INFO_BOARD_LEN,
        "XFER_CHUNK_MAX_DATA": XFER_CHUNK_MAX_DATA,
    }
    for prefix, enum in (
        ("CMD", Cmd),
        ("STATUS", Status),
        ("EVENT", Event),
        ("RESET_REASON", ResetReason),
        ("XFER_OP", XferOp),
        ("SAMPLE_DTYPE", SampleDtype),
        ("RESET_MODE", ResetMode),
        ("PROGRAM_SOURCE", ProgramSource),
        ("CHECKPOINT_SLOT", CheckpointSlot),
    ):
        for member in enum:
            d[f"{prefix}_{member.name}"] = int(member)
    for name, st in _SIZES.items():
        d[name] = st.size
    return d


def name_of(enum: type[IntEnum], value: int) -> str:
    """Symbolic name of a code, or its hex value when unknown (a newer firmware, a damaged frame)."""
    try:
        return enum(value).name
    except ValueError:
        return f"0x{value:02X}"


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


# --- HELLO -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    version: int
    max_payload: int
    rx_frames: int
    rx_errors: int


def pack_hello(version: int = PROTO_VERSION, max_payload: int = MAX_PAYLOAD) -> bytes:
    return HELLO_REQ.pack(version, 0, max_payload)


def unpack_hello(p: bytes) -> Hello:
    version, _, max_payload, frames, errors = HELLO_REPLY.unpack_from(p)
    return Hello(version, max_payload, frames, errors)


# --- INFO / STATS ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Info:
    proto_version: int
    fw_version: tuple[int, int, int]
    schedule_version: int
    cpu_hz: int
    sram_bytes: int
    flash_bytes: int
    arena_bytes: int
    model_id: int
    program_capacity: int
    board: str
    program_source: int = ProgramSource.NONE  # where the bound program came from
    checkpoint_slot: int = 0  # slot the current weights came from / went to (CheckpointSlot), 0 = none


def pack_info(i: Info) -> bytes:
    return INFO_REPLY.pack(
        i.proto_version,
        *i.fw_version,
        i.schedule_version,
        i.program_source,
        i.checkpoint_slot,
        i.cpu_hz,
        i.sram_bytes,
        i.flash_bytes,
        i.arena_bytes,
        i.model_id,
        i.program_capacity,
        i.board.encode()[:INFO_BOARD_LEN],
    )


def unpack_info(p: bytes) -> Info:
    v = INFO_REPLY.unpack_from(p)
    return Info(v[0], (v[1], v[2], v[3]), v[4], v[7], v[8], v[9], v[10], v[11], v[12], _cstr(v[13]), v[5], v[6])


@dataclass(frozen=True)
class Stats:
    steps: int
    correct: int
    last_loss: float
    loss_ema: float
    acc_ema: float
    cycles_last_step: int
    cycles_mean_step: int
    peak_arena_bytes: int
    arena_bytes: int
    peak_stack_bytes: int


def pack_stats_request(reset: bool = False) -> bytes:
    return bytes([1 if reset else 0])


def pack_stats(s: Stats) -> bytes:
    return STATS_REPLY.pack(
        s.steps,
        s.correct,
        s.last_loss,
        s.loss_ema,
        s.acc_ema,
        s.cycles_last_step,
        s.cycles_mean_step,
        s.peak_arena_bytes,
        s.arena_bytes,
        s.peak_stack_bytes,
    )


def unpack_stats(p: bytes) -> Stats:
    return Stats(*STATS_REPLY.unpack_from(p))


# --- LOAD / SAMPLE (chunked transfers) -------------------------------------------------------


def pack_load_begin(total_size: int, crc32: int, kind: int = LOAD_KIND_PROGRAM) -> bytes:
    return LOAD_BEGIN.pack(XferOp.BEGIN, kind, 0, total_size, crc32)


@dataclass(frozen=True)
class LoadBegun:
    capacity: int
    chunk_max: int


def unpack_load_begin_reply(p: bytes) -> LoadBegun:
    capacity, chunk_max, _ = LOAD_BEGIN_REPLY.unpack_from(p)
    return LoadBegun(capacity, chunk_max)


@dataclass(frozen=True)
class Committed:
    size: int
    crc32: int
    model_id: int = 0


def unpack_load_commit_reply(p: bytes) -> Committed:
    return Committed(*LOAD_COMMIT_REPLY.unpack_from(p))


def pack_sample_begin(
    total_size: int,
    crc32: int,
    *,
    height: int,
    width: int,
    channels: int,
    label: int = SAMPLE_NO_LABEL,
    dtype: int = SampleDtype.INT8,
) -> bytes:
    if height * width * channels != total_size:
        raise ValueError(f"sample of {total_size} bytes is not {height}x{width}x{channels}")
    return SAMPLE_BEGIN.pack(XferOp.BEGIN, dtype, label, height, width, channels, 0, total_size, crc32)


def unpack_sample_begin_reply(p: bytes) -> int:
    """The device's sample capacity in bytes."""
    return SAMPLE_BEGIN_REPLY.unpack_from(p)[0]


def unpack_sample_commit_reply(p: bytes) -> Committed:
    size, crc = SAMPLE_COMMIT_REPLY.unpack_from(p)
    return Committed(size, crc)


def pack_chunk(offset: int, data: bytes) -> bytes:
    if not 0 < len(data) <= XFER_CHUNK_MAX_DATA:
        raise ValueError(f"chunk of {len(data)} bytes (1..{XFER_CHUNK_MAX_DATA} allowed)")
    return XFER_CHUNK_HEADER.pack(XferOp.CHUNK, offset) + data


def unpack_chunk_reply(p: bytes) -> int:
    """Bytes the device has received so far."""
    return XFER_CHUNK_REPLY.unpack_from(p)[0]


def pack_commit() -> bytes:
    return XFER_SIMPLE.pack(XferOp.COMMIT)


def pack_abort() -> bytes:
    return XFER_SIMPLE.pack(XferOp.ABORT)


def chunks(blob: bytes, chunk_max: int = XFER_CHUNK_MAX_DATA) -> Iterator[bytes]:
    """CHUNK payloads covering blob, in order (the device requires sequential offsets)."""
    size = min(chunk_max, XFER_CHUNK_MAX_DATA)
    for off in range(0, len(blob), size):
        yield pack_chunk(off, blob[off : off + size])


def load_payloads(blob: bytes, kind: int = LOAD_KIND_PROGRAM) -> Iterator[bytes]:
    """All LOAD payloads for blob: BEGIN, CHUNKs, COMMIT."""
    yield pack_load_begin(len(blob), zlib.crc32(blob), kind)
    yield from chunks(blob)
    yield pack_commit()


def sample_payloads(
    image: bytes,
    *,
    height: int,
    width: int,
    channels: int,
    label: int = SAMPLE_NO_LABEL,
    dtype: int = SampleDtype.INT8,
) -> Iterator[bytes]:
    """All SAMPLE payloads for one image: BEGIN, CHUNKs, COMMIT."""
    yield pack_sample_begin(
        len(image), zlib.crc32(image), height=height, width=width, channels=channels, label=label, dtype=dtype
    )
    yield from chunks(image)
    yield pack_commit()


# --- TRAIN / INFER ---------------------------------------------------------------------------


def pack_train(steps: int = 1) -> bytes:
    if steps < 1:
        raise ValueError("TRAIN needs at least one step")
    return TRAIN_REQ.pack(steps)


@dataclass(frozen=True)
class TrainResult:
    loss: float
    predicted: int
    correct: bool
    cycles: int
    steps_total: int


def pack_train_reply(r: TrainResult) -> bytes:
    return TRAIN_REPLY.pack(r.loss, r.predicted, int(r.correct), r.cycles, r.steps_total)


def unpack_train_reply(p: bytes) -> TrainResult:
    loss, predicted, correct, cycles, steps_total = TRAIN_REPLY.unpack_from(p)
    return TrainResult(loss, predicted, bool(correct), cycles, steps_total)


@dataclass(frozen=True)
class InferResult:
    predicted: int
    cycles: int
    logits: tuple[int, ...]  # int8, quantized output of the model


def pack_infer_reply(r: InferResult) -> bytes:
    logits = struct.pack(f"<{len(r.logits)}b", *r.logits)
    return INFER_REPLY_HEADER.pack(r.predicted, len(r.logits), r.cycles) + logits


def unpack_infer_reply(p: bytes) -> InferResult:
    predicted, n, cycles = INFER_REPLY_HEADER.unpack_from(p)
    logits = struct.unpack_from(f"<{n}b", p, INFER_REPLY_HEADER.size)
    return InferResult(predicted, cycles, tuple(logits))


# --- CHECKPOINT / RESET ----------------------------------------------------------------------


def pack_checkpoint(slot: int = 0) -> bytes:
    return CHECKPOINT_REQ.pack(slot)


@dataclass(frozen=True)
class Checkpoint:
    size: int
    crc32: int
    steps: int


def unpack_checkpoint_reply(p: bytes) -> Checkpoint:
    return Checkpoint(*CHECKPOINT_REPLY.unpack_from(p))


def pack_reset(mode: int = ResetMode.TRAINING) -> bytes:
    return RESET_REQ.pack(mode)


# --- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Boot:
    reason: int
    proto_version: int
    fw_version: tuple[int, int, int]
    program_source: int = ProgramSource.NONE
    checkpoint_slot: int = 0  # restored at boot (CheckpointSlot), 0 = none

    @property
    def reason_name(self) -> str:
        return name_of(ResetReason, self.reason).lower()


def pack_boot(b: Boot) -> bytes:
    return BOOT_EVENT.pack(b.reason, b.proto_version, *b.fw_version, b.program_source, b.checkpoint_slot)


def unpack_boot(p: bytes) -> Boot:
    if len(p) < BOOT_EVENT.size:
        return Boot(ResetReason.UNKNOWN, 0, (0, 0, 0))
    reason, proto, major, minor, patch, source, slot = BOOT_EVENT.unpack_from(p)
    return Boot(reason, proto, (major, minor, patch), source, slot)


@dataclass(frozen=True)
class Fault:
    pc: int
    lr: int
    psr: int
    cfsr: int
    hfsr: int
    mmfar: int
    bfar: int
    sp: int

    def __str__(self) -> str:
        return (
            f"pc=0x{self.pc:08x} lr=0x{self.lr:08x} sp=0x{self.sp:08x} cfsr=0x{self.cfsr:08x} "
            f"hfsr=0x{self.hfsr:08x} mmfar=0x{self.mmfar:08x} bfar=0x{self.bfar:08x}"
        )


def unpack_fault(p: bytes) -> Fault | None:
    return Fault(*FAULT_EVENT.unpack_from(p)) if len(p) >= FAULT_EVENT.size else None


@dataclass(frozen=True)
class Watchdog:
    last_cmd: int
    step: int


def unpack_watchdog(p: bytes) -> Watchdog:
    return Watchdog(*WATCHDOG_EVENT.unpack_from(p))


@dataclass(frozen=True)
class Progress:
    cmd: int
    done: int
    total: int


def pack_progress(p: Progress) -> bytes:
    return PROGRESS_EVENT.pack(p.cmd, p.done, p.total)


def unpack_progress(p: bytes) -> Progress:
    return Progress(*PROGRESS_EVENT.unpack_from(p))
