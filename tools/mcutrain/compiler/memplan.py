"""Static arena planning: place buffers with known lifetimes in one arena.

`plan(buffers)` is a small pure function. Each buffer is alive over the op indices
[first_use, last_use] inclusive; two buffers may share bytes only if their lifetimes do not
overlap. Greedy: largest buffers first, each into the lowest-waste gap (best fit) among the
buffers already placed that overlap it in time, else on top of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Buffer:
    name: str
    size: int
    first_use: int
    last_use: int
    alignment: int = 4

    def overlaps(self, other: Buffer) -> bool:
        return self.first_use <= other.last_use and other.first_use <= self.last_use


@dataclass
class Plan:
    offsets: dict[str, int]
    peak_bytes: int  # arena size needed by this placement
    lower_bound_bytes: int  # max over time of the bytes alive; no placement can beat it

    @property
    def efficiency(self) -> float:
        return self.lower_bound_bytes / self.peak_bytes if self.peak_bytes else 1.0


def _align(x: int, a: int) -> int:
    return (x + a - 1) // a * a


def plan(buffers: Iterable[Buffer]) -> Plan:
    bufs = list(buffers)
    names = [b.name for b in bufs]
    if len(set(names)) != len(names):
        raise ValueError("buffer names must be unique")
    for b in bufs:
        if b.size < 0 or b.first_use > b.last_use or b.alignment < 1:
            raise ValueError(f"bad buffer {b}")

    order = sorted(bufs, key=lambda b: (-b.size, b.first_use, b.name))
    placed: list[tuple[Buffer, int]] = []
    offsets: dict[str, int] = {}
    for b in order:
        if b.size == 0:
            offsets[b.name] = 0
            continue
        busy = sorted((off, off + o.size) for o, off in placed if o.overlaps(b))
        best: tuple[int, int] | None = None  # (waste, offset)
        cursor = 0
        for start, end in busy:
            cand = _align(cursor, b.alignment)
            if cand + b.size <= start:
                waste = start - cand - b.size
                if best is None or waste < best[0]:
                    best = (waste, cand)
            cursor = max(cursor, end)
        off = best[1] if best is not None else _align(cursor, b.alignment)
        offsets[b.name] = off
        placed.append((b, off))

    peak = max((off + b.size for b, off in placed), default=0)
    events = sorted({b.first_use for b in bufs})
    lower = 0
    for t in events:
        lower = max(lower, sum(b.size for b in bufs if b.first_use <= t <= b.last_use))
    return Plan(offsets=offsets, peak_bytes=peak, lower_bound_bytes=lower)
