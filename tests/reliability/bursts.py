"""Garbage for the serial link (docs/protocol.md): seeded bursts of random bytes, truncated frames,
bit-flipped frames, oversized frames and well-formed frames with a bad CRC."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from mcutrain.device import cobs
from mcutrain.device.link import Frame, encode_frame
from mcutrain.device.protocol import MAX_PAYLOAD, Cmd

KINDS = ("random", "truncated", "bitflip", "oversized", "bad_crc", "mixed")
_HARMLESS = (Cmd.PING, Cmd.INFO, Cmd.STATS, Cmd.HELLO)  # what a damaged frame could be mistaken for


def _frame(rng: np.random.Generator) -> bytes:
    """A valid request frame (wire bytes, delimiter included) of a harmless command."""
    cmd = int(rng.choice(_HARMLESS))
    n = int(rng.choice([0, 1, 7, 100, 600, MAX_PAYLOAD])) if cmd == Cmd.PING else 0
    return encode_frame(Frame(cmd, int(rng.integers(0, 256)), 0, rng.integers(0, 256, n, np.uint8).tobytes()))


def _body(cmd: int, seq: int, declared: int, payload: bytes, crc_ok: bool = True) -> bytes:
    body = struct.pack("<BBBH", cmd, seq, 0, declared & 0xFFFF) + payload
    crc = zlib.crc32(body) ^ (0 if crc_ok else 1 << 7)
    return body + struct.pack("<I", crc)


def burst(rng: np.random.Generator, kind: str) -> bytes:
    """One burst of the given kind; ends with or without a frame delimiter, as chance has it."""
    if kind == "random":
        n = int(rng.choice([1, 5, 64, 1000, 1100, 3000]))
        data = rng.integers(0, 256, n, np.uint8)
        if rng.random() < 0.5:  # no zero bytes at all: one endless "frame"
            data[data == 0] = 0x55
        return data.tobytes()
    if kind == "truncated":
        f = _frame(rng)
        return f[: int(rng.integers(1, len(f) - 1))]
    if kind == "bitflip":
        f = bytearray(_frame(rng))
        for _ in range(int(rng.integers(1, 5))):
            pos = int(rng.integers(0, len(f) - 1))  # never the delimiter itself
            f[pos] ^= 1 << int(rng.integers(0, 8))
        return bytes(f)
    if kind == "oversized":
        n = int(rng.choice([MAX_PAYLOAD + 1, MAX_PAYLOAD + 100, 4000, 20000]))
        payload = rng.integers(1, 256, n, np.uint8).tobytes()
        declared = int(rng.choice([n, MAX_PAYLOAD, 0xFFFF, 5]))  # lying or honest header
        return cobs.encode(_body(Cmd.PING, int(rng.integers(0, 256)), declared, payload)) + b"\0"
    if kind == "bad_crc":
        n = int(rng.integers(0, 200))
        payload = rng.integers(0, 256, n, np.uint8).tobytes()
        return cobs.encode(_body(int(rng.choice(_HARMLESS)), int(rng.integers(0, 256)), n, payload, False)) + b"\0"
    parts = [burst(rng, str(rng.choice(KINDS[:-1]))) for _ in range(int(rng.integers(2, 6)))]
    return b"".join(parts)


def bursts(seed: int, count: int) -> list[tuple[str, bytes]]:
    """`count` bursts, kinds in turn, contents from the seed."""
    rng = np.random.default_rng(seed)
    return [(KINDS[i % len(KINDS)], burst(rng, KINDS[i % len(KINDS)])) for i in range(count)]
