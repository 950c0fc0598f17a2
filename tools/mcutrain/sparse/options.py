"""The search space: per candidate layer a bias bit and a weight-channel ratio; schemes and compiled peaks.

Every scheme the search builds updates the classifier in full (weights of all channels + bias): that is the
head-only baseline. A `Choice` adds one candidate layer's bias and/or its first k = ratio * C_out weight
channels on top. Peaks come from the real compiler (`compile_model`, reordered) and are cached per scheme.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..compiler.compile import compile_model
from ..compiler.scheme import LayerUpdate, Scheme, has_bias, out_channels, weighted_ops
from ..ir import Graph
from ..transfer import head_op

RATIOS = (0.0, 0.125, 0.25, 0.5, 1.0)  # weight-channel ratios; index 0 = weights frozen


@dataclass(frozen=True)
class Choice:
    """What one candidate layer updates on top of the head-only baseline."""

    bias: bool
    ratio_index: int  # into RATIOS

    @property
    def ratio(self) -> float:
        return RATIOS[self.ratio_index]

    @property
    def empty(self) -> bool:
        return not self.bias and self.ratio_index == 0


NONE = Choice(False, 0)


def layer_choices(graph: Graph, op_index: int) -> list[Choice]:
    """Every choice a layer allows, NONE first (no bias choice for a layer without bias)."""
    biases = (False, True) if has_bias(graph.ops[op_index]) else (False,)
    return [Choice(b, r) for b in biases for r in range(len(RATIOS))]


def channels_for(graph: Graph, op_index: int, ratio: float) -> int:
    """k for a ratio: ceil(ratio * C_out), at least 1 when ratio > 0."""
    if ratio <= 0:
        return 0
    return max(1, math.ceil(ratio * out_channels(graph, graph.ops[op_index])))


def candidate_layers(graph: Graph, last_n: int) -> list[int]:
    """The last `last_n` weighted ops before the classifier (op indices, ascending)."""
    head = head_op(graph)
    ops = [i for i in weighted_ops(graph) if i != head]
    return ops[-last_n:] if last_n > 0 else []


def build_scheme(graph: Graph, choices: dict[int, Choice], name: str = "search") -> Scheme:
    """Head in full + each layer's choice, as a compiler Scheme."""
    head = head_op(graph)
    hop = graph.ops[head]
    layers = {head: LayerUpdate(head, has_bias(hop), out_channels(graph, hop))}
    for i, c in choices.items():
        if not c.empty:
            layers[i] = LayerUpdate(i, c.bias, channels_for(graph, i, c.ratio))
    return Scheme(name, layers)


def golden_scheme(graph: Graph, choices: dict[int, Choice]) -> dict[int, dict[str, object]]:
    return build_scheme(graph, choices).to_golden()


def compile_modes(mode: str) -> tuple[str, ...]:
    """'int' | 'fp32' | 'both' (the larger of the two peaks: the scheme then fits whichever mode compiles it)."""
    if mode == "both":
        return ("int", "fp32")
    if mode in ("int", "fp32"):
        return (mode,)
    raise ValueError(f"mode must be int, fp32 or both (got {mode!r})")


class PeakOracle:
    """Compiled peak (bytes) of head + choices, memoized; `calls` counts real compilations."""

    def __init__(self, graph: Graph, mode: str = "both") -> None:
        self.graph, self.mode, self.modes = graph, mode, compile_modes(mode)
        self._memo: dict[tuple[tuple[int, bool, int], ...], int] = {}
        self.calls = 0

    def peak(self, choices: dict[int, Choice]) -> int:
        key = tuple(sorted((i, c.bias, c.ratio_index) for i, c in choices.items() if not c.empty))
        if key not in self._memo:
            self.calls += 1
            sch = build_scheme(self.graph, choices)
            self._memo[key] = max(compile_model(self.graph, sch, None, m, reorder=True).peak_bytes
                                  for m in self.modes)
        return self._memo[key]

    def head_peak(self) -> int:
        return self.peak({})
