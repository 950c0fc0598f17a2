"""Operator reordering: apply each layer's update as soon as its gradient exists, then free the gradient.

The baseline schedule computes every gradient and then runs every update, so all weight gradients are alive at
the end of the backward pass. Here each UPDATE moves to the earliest position its dependencies allow:
after the steps that write what it reads (its gradients) and after the steps that read what it overwrites (the
forward and input-gradient ops that use the old weights). The update is in place, so the weight gradient dies
right after it and no two layers' weight gradients are alive at once.
"""

from __future__ import annotations

from .autodiff import Step, TrainGraph


def _conflicts(a: Step, b: Step) -> bool:
    """True when b cannot move before a (read-after-write, write-after-read, write-after-write)."""
    aw, ar, bw, br = set(a.writes), set(a.reads), set(b.writes), set(b.reads)
    return bool(aw & br or ar & bw or aw & bw)


def reorder(tg: TrainGraph) -> TrainGraph:
    steps: list[Step] = [s for s in tg.steps if s.kind != "UPDATE"]
    updates = [s for s in tg.steps if s.kind == "UPDATE"]
    order = {s.name: n for n, s in enumerate(tg.steps)}
    for u in updates:
        # Only steps that preceded the update in the original order can constrain it.
        earliest = 0
        for n, s in enumerate(steps):
            if order[s.name] < order[u.name] and _conflicts(s, u):
                earliest = n + 1
        steps.insert(earliest, u)
    return tg.replace_steps(steps)


def weight_grads_alive_together(tg: TrainGraph) -> int:
    """Most weight gradients alive at one step (1 after reordering, all of them without)."""
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for n, s in enumerate(tg.steps):
        for b in (*s.reads, *s.writes):
            if b.startswith("gw:"):
                first.setdefault(b, n)
                last[b] = n
    return max((sum(first[b] <= n <= last[b] for b in first) for n in range(len(tg.steps))), default=0)
