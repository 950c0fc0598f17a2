"""One SGD step over a Graph under a sparse-update scheme, and a fresh classifier head.

scheme: {layer name or op index: {"bias": bool, "weight_channels": k}} — k = 0 freezes the weights,
k <= C_out updates the first k output channels (the memory planner / compiler decides which layers).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..ir import PARAM_OPS, Graph, logits_tensor
from .backward import backward
from .forward import forward
from .loss import loss_and_grad
from .update import SGDConfig, UpdateState, update_op


@dataclass
class StepResult:
    loss: float
    logits: np.ndarray  # int8 logits of the forward pass before the update
    constants: dict[int, np.ndarray]  # tensor id -> updated weight / bias
    graph: Graph  # the graph carrying the updated constants


def resolve_scheme(graph: Graph, scheme: dict[Any, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Layer names -> op indices; checks that each entry is a weight op and k fits."""
    names = {op.name: i for i, op in enumerate(graph.ops)}
    out: dict[int, dict[str, Any]] = {}
    for key, s in scheme.items():
        i = key if isinstance(key, int) else names.get(key)
        if i is None or not 0 <= i < len(graph.ops):
            raise KeyError(f"scheme names layer {key!r}, which the graph does not have")
        op = graph.ops[i]
        if op.kind not in PARAM_OPS:
            raise ValueError(f"scheme entry {key!r} is a {op.kind}, which has no parameters")
        w = graph.tensors[op.inputs[1]]
        cout = w.shape[3] if op.kind == "DEPTHWISE_CONV_2D" else w.shape[0]
        k = int(s.get("weight_channels", 0))
        if not 0 <= k <= cout:
            raise ValueError(f"scheme entry {key!r}: weight_channels {k} outside 0..{cout}")
        out[i] = {"bias": bool(s.get("bias", False)), "weight_channels": k}
    return out


def with_constants(graph: Graph, constants: dict[int, np.ndarray]) -> Graph:
    tensors = list(graph.tensors)
    for tid, data in constants.items():
        tensors[tid] = replace(tensors[tid], data=data)
    return replace(graph, tensors=tensors)


def train_step(
    graph: Graph,
    x: np.ndarray | dict[int, np.ndarray],
    label: int,
    scheme: dict[Any, dict[str, Any]],
    cfg: SGDConfig,
    mode: str = "fp32",
    state: UpdateState | None = None,
    start_op: int = 0,
) -> StepResult:
    """Forward, softmax cross-entropy, backward to the lowest updated layer, SGD update.

    `x` is the input array, or {tensor id: value} with `start_op` > 0 to resume the forward from
    cached activations of a frozen prefix. `state` carries PRNG / accumulators / momentum across steps.
    """
    sch = resolve_scheme(graph, scheme)
    state = state if state is not None else UpdateState.new(cfg)
    acts = forward(graph, x, start_op=start_op)
    lt = logits_tensor(graph)
    loss, gl = loss_and_grad(graph, acts[lt], label, mode)
    res = backward(graph, acts, gl, sch, mode)
    constants: dict[int, np.ndarray] = {}
    for i in sorted(sch):
        constants.update(update_op(graph, i, res.weight.get(i), res.bias.get(i), cfg, state))
    return StepResult(loss, acts[lt].copy(), constants, with_constants(graph, constants))


def predict(graph: Graph, x: np.ndarray | dict[int, np.ndarray], start_op: int = 0) -> int:
    acts = forward(graph, x, start_op=start_op)
    return int(np.argmax(acts[logits_tensor(graph)].reshape(-1)))
