"""The training compiler: graph + scheme -> pruned, reordered schedule with a static arena plan.

    result = compile_model(graph, "sparse", budget_bytes=128 * 1024, mode="int")

Raises `BudgetError` (one line, the result attached) when the arena does not fit the budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..ir import Graph
from .autodiff import TrainGraph, build_training_graph
from .liveness import Lifetime, Placement, bytes_alive, lifetimes, place
from .prune import PruneStats, prune
from .reorder import reorder as reorder_updates
from .scheme import Scheme, resolve_scheme


class BudgetError(ValueError):
    """The schedule needs more arena than the budget; the message is one line for the user."""

    def __init__(self, message: str, result: CompileResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class StepRow:
    index: int
    step: str  # step name, e.g. "gw:26"
    kind: str
    layer: str
    bytes_alive: int  # bytes of arena buffers alive during this step
    arena_peak: int  # highest arena byte used by any step so far


@dataclass
class CompileResult:
    model: str
    scheme: Scheme
    mode: str
    reorder: bool
    train: TrainGraph
    lives: list[Lifetime]
    placement: Placement
    rows: list[StepRow]
    prune_stats: PruneStats
    flash_bytes: int
    sram_param_bytes: int  # updated weights/biases/accumulators held in the arena
    budget_bytes: int | None
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def peak_bytes(self) -> int:
        return self.placement.peak_bytes

    @property
    def lower_bound_bytes(self) -> int:
        return self.placement.lower_bound_bytes

    @property
    def ratio(self) -> float:
        return self.peak_bytes / self.lower_bound_bytes if self.lower_bound_bytes else 1.0

    @property
    def fits(self) -> bool:
        return self.budget_bytes is None or self.peak_bytes <= self.budget_bytes

    def alive_curve(self) -> list[int]:
        return [r.bytes_alive for r in self.rows]


def flash_bytes(tg: TrainGraph) -> int:
    """Constants the training program reads from flash: every weight, bias and shape constant of a kept op.

    Updated parameters count too: their initial values sit in flash and are copied to the arena at start.
    """
    consts: set[int] = set()
    for s in tg.steps:
        if s.op >= 0:
            consts.update(t for t in tg.graph.ops[s.op].inputs if t >= 0 and tg.graph.tensors[t].is_const)
    return sum(tg.graph.tensors[t].nbytes for t in consts)


def _rows(tg: TrainGraph, lives: list[Lifetime], placement: Placement) -> list[StepRow]:
    alive = bytes_alive(lives, len(tg.steps))
    top = [0] * len(tg.steps)
    for b in lives:
        end = placement.offsets[b.name] + b.size
        for i in range(b.first_use, b.last_use + 1):
            top[i] = max(top[i], end)
    rows, peak = [], 0
    for i, s in enumerate(tg.steps):
        peak = max(peak, top[i])
        rows.append(StepRow(i, s.name, s.kind, s.label, alive[i], peak))
    return rows


def compile_model(
    graph: Graph,
    scheme: str | Path | Scheme,
    budget_bytes: int | None = None,
    mode: str = "fp32",
    reorder: bool = True,
    accumulator: bool = False,
    int_acc_scratch: bool = True,
) -> CompileResult:
    sch = resolve_scheme(graph, scheme)
    naive = build_training_graph(graph, sch, mode, accumulator, int_acc_scratch)
    tg, stats = prune(naive)
    if reorder:
        tg = reorder_updates(tg)
    lives = lifetimes(tg)
    placement = place(lives, len(tg.steps))
    sram_params = sum(b.size for b in lives if b.kind in ("param", "accum"))
    result = CompileResult(
        model=graph.name,
        scheme=sch,
        mode=mode,
        reorder=reorder,
        train=tg,
        lives=lives,
        placement=placement,
        rows=_rows(tg, lives, placement),
        prune_stats=stats,
        flash_bytes=flash_bytes(tg),
        sram_param_bytes=sram_params,
        budget_bytes=budget_bytes,
        extras={"naive_steps": len(naive.steps)},
    )
    if not result.fits:
        raise BudgetError(budget_message(result), result)
    return result


def budget_message(r: CompileResult) -> str:
    return (
        f"{r.scheme.name} scheme needs {r.peak_bytes:,} B of arena, budget is {r.budget_bytes:,} B: "
        "raise --budget or choose a smaller scheme (mcutrain search)"
    )
