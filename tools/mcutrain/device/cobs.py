"""COBS framing (Cheshire & Baker), byte-for-byte the same canonical form as firmware/app/cobs.c.

A full 254-byte block at the very end of the data gets no trailing 0x01 block; the decoder accepts
both forms. See docs/protocol.md.
"""

from __future__ import annotations


class CobsError(ValueError):
    """The input is not a valid COBS encoding (contains 0x00, or a block runs past the end)."""


def max_encoded(n: int) -> int:
    """Worst-case encoded length of n bytes, without the 0x00 delimiter."""
    return n + n // 254 + 1


def encode(data: bytes) -> bytes:
    """Encode so that the result contains no 0x00 (the delimiter is not appended)."""
    out = bytearray()
    i, n = 0, len(data)
    while True:
        zero = data.find(0, i, min(n, i + 254))
        j = zero if zero >= 0 else min(n, i + 254)
        out.append(j - i + 1)
        out += data[i:j]
        if j == n:
            return bytes(out)
        # A zero is absorbed by the block it ends; a full 0xFF block absorbs nothing.
        i = j + 1 if zero >= 0 else j


def decode(data: bytes) -> bytes:
    """Decode one frame (without its delimiter). Raises CobsError when malformed."""
    out = bytearray()
    i, n = 0, len(data)
    if n == 0:
        raise CobsError("empty COBS frame")
    if 0 in data:
        raise CobsError("0x00 inside a COBS frame")
    while i < n:
        code = data[i]
        end = i + code
        if end > n:
            raise CobsError(f"COBS block at offset {i} runs {end - n} byte(s) past the end")
        out += data[i + 1 : end]
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)
