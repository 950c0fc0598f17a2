"""Prune the naive training graph down to what the scheme needs.

Dead-code elimination from the sinks (the updates and the loss) backwards: a step survives only if a later
surviving step reads something it writes. That removes
- input-gradient ops below the lowest updated layer (their gradients reach no update),
- weight/bias-gradient ops of frozen parameters,
- forward ops whose outputs nobody reads (the softmax head: the loss computes its own softmax),
- mask outputs nobody reads.
Then activation masks are replaced by the saved activation when that activation is kept anyway (a ReLU/ReLU6
mask is recoverable from the int8 output), so a layer stores either its output or a 1-bit mask, never both.
Activations no backward step reads are not stored: liveness frees them after their last forward reader, so
frozen layers keep nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .autodiff import Step, TrainGraph

SINK_KINDS = ("UPDATE", "LOSS")


@dataclass
class PruneStats:
    removed: dict[str, int]  # step kind -> how many were dropped
    masks_from_activations: int  # masks replaced by a saved activation


def dead_code(steps: list[Step]) -> tuple[list[Step], dict[str, int]]:
    needed: set[str] = set()
    kept: list[Step] = []
    removed: dict[str, int] = {}
    for s in reversed(steps):
        live_writes = [w for w in s.writes if w in needed]
        if s.kind not in SINK_KINDS and not live_writes:
            removed[s.kind] = removed.get(s.kind, 0) + 1
            continue
        # A kept step keeps its scratch; other outputs nobody reads (masks) are dropped.
        writes = s.writes if s.kind in SINK_KINDS else [w for w in s.writes if w in needed or w.startswith("scratch:")]
        if len(writes) != len(s.writes):
            s = replace(s, writes=writes)
        needed.difference_update(s.writes)
        needed.update(s.reads)
        kept.append(s)
    kept.reverse()
    return kept, removed


def masks_from_activations(steps: list[Step]) -> tuple[list[Step], int]:
    """ACT_GRAD reads the kept output activation x:T instead of mask:T when some backward step keeps x:T."""
    kept_by_backward = {r for s in steps if s.is_backward for r in s.reads if r.startswith("x:")}
    out: list[Step] = []
    n = 0
    for s in steps:
        if s.kind == "ACT_GRAD":
            m = next(r for r in s.reads if r.startswith("mask:"))
            x = "x:" + m.split(":", 1)[1]
            if x in kept_by_backward:
                s = replace(s, reads=[x if r == m else r for r in s.reads], attrs={**s.attrs, "mask_from": x})
                n += 1
        out.append(s)
    return out, n


def prune(tg: TrainGraph) -> tuple[TrainGraph, PruneStats]:
    steps, removed = dead_code(tg.steps)
    steps, n = masks_from_activations(steps)
    steps, removed2 = dead_code(steps)  # drops the mask writes nobody reads now
    for k, v in removed2.items():
        removed[k] = removed.get(k, 0) + v
    return tg.replace_steps(steps), PruneStats(removed, n)
