"""Buffer lifetimes over a training schedule, and their placement in one arena.

A buffer is alive from the first step that touches it to the last. Parameters the scheme updates (RAM copies of
the updated weight channels, biases, accumulators) live for the whole program; the image and label are written
by the host before step 0; the loss is read by the host after the last step. Frozen parameters stay in flash and
take no arena bytes. Placement is delegated to `memplan.plan` (shared with the forward compiler).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import memplan
from .autodiff import TrainGraph


@dataclass
class Lifetime:
    """One arena buffer as the memory planner sees it."""

    name: str
    size: int
    first_use: int
    last_use: int
    alignment: int
    kind: str


@dataclass
class Placement:
    offsets: dict[str, int]
    peak_bytes: int  # arena size: highest offset + size
    lower_bound_bytes: int  # most bytes alive at any one step (sizes rounded up to their alignment)
    planner: str  # which planner placed them


def lifetimes(tg: TrainGraph) -> list[Lifetime]:
    n = len(tg.steps)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for i, s in enumerate(tg.steps):
        for b in (*s.reads, *s.writes):
            first.setdefault(b, i)
            last[b] = i
    out = []
    for name, buf in tg.buffers.items():
        if buf.in_flash or name not in first:
            continue
        lo, hi = first[name], last[name]
        if buf.persistent or buf.external:
            lo = 0
        if buf.persistent or buf.kind == "loss":
            hi = n - 1
        out.append(Lifetime(name, buf.nbytes, lo, hi, buf.alignment, buf.kind))
    return out


def _align(x: int, a: int) -> int:
    return (x + a - 1) // a * a


def bytes_alive(lives: list[Lifetime], n_steps: int) -> list[int]:
    alive = [0] * n_steps
    for b in lives:
        for i in range(b.first_use, b.last_use + 1):
            alive[i] += _align(b.size, b.alignment)
    return alive


def place(lives: list[Lifetime], n_steps: int) -> Placement:
    """Offsets from memplan.plan (the planner shared with the forward compiler)."""
    plan = memplan.plan(memplan.Buffer(b.name, b.size, b.first_use, b.last_use, b.alignment) for b in lives)
    lower = max(bytes_alive(lives, n_steps), default=0)
    # memplan's bound sums raw sizes; ours rounds each buffer up to its alignment (odd-sized int8 logits,
    # int16 gradients), which is what a placement can actually reach.
    assert plan.lower_bound_bytes <= lower or not lives, (lower, plan.lower_bound_bytes)
    return Placement(dict(plan.offsets), plan.peak_bytes, lower, "memplan")


def check_placement(lives: list[Lifetime], offsets: dict[str, int]) -> None:
    """Assert no two buffers alive at the same step overlap in the arena."""
    for i, a in enumerate(lives):
        for b in lives[i + 1 :]:
            if a.first_use <= b.last_use and b.first_use <= a.last_use:
                oa, ob = offsets[a.name], offsets[b.name]
                assert oa + a.size <= ob or ob + b.size <= oa, f"{a.name} and {b.name} overlap"
