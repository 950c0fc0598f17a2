"""Run by test_program_loader.py in a subprocess with the ASan/UBSan engine preloaded: feeds
corrupted programs to the loader (and runs whatever it accepts). Any sanitizer report aborts."""

from __future__ import annotations

import contextlib
import struct
import sys
import zlib

import numpy as np

from mcutrain import hostlib


def reseal(b: bytearray) -> bytes:
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


def main(path: str, n: int, seed: int) -> None:
    with open(path, "rb") as f:
        blob = f.read()
    rng = np.random.default_rng(seed)
    accepted = rejected = 0
    for i in range(n):
        b = bytearray(blob)
        mode = i % 3
        if mode == 0:  # random bit flips, CRC resealed so the structural checks are exercised
            for _ in range(rng.integers(1, 4)):
                pos = int(rng.integers(16, min(len(b), 56 + 64 * 32)))
                b[pos] ^= 1 << int(rng.integers(0, 8))
        elif mode == 1:  # hostile 32-bit values written over header/table fields
            pos = int(rng.integers(16, min(len(b) - 4, 56 + 64 * 32))) & ~3
            struct.pack_into("<I", b, pos, int(rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, len(b), 1 << 20,
                                                           int(rng.integers(0, 1 << 32))])))
        else:  # truncation, declared size kept
            b = b[: int(rng.integers(0, len(b)))]
        data = reseal(b) if len(b) >= 16 and mode != 2 else bytes(b)
        try:
            eng = hostlib.Engine(data, sanitize=True)
        except hostlib.EngineError:
            rejected += 1
            continue
        accepted += 1
        for pid in eng.input_ids():
            dt, shape = eng.tensor_info(pid)
            eng.write(pid, rng.integers(-128, 128, shape).astype(dt))
        with contextlib.suppress(hostlib.EngineError):  # a clean runtime error is fine too
            eng.run()
    print(f"accepted={accepted} rejected={rejected}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1234)
