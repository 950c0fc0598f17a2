"""One SGD step over a Graph under a sparse-update scheme, and a fresh classifier head.

scheme: {layer name or op index: {"bias": bool, "weight_channels": k}} — k = 0 freezes the weights,
k <= C_out updates the first k output channels (the memory planner / compiler decides which layers).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..ir import Graph, Quant, Tensor
from .backward import PARAM_OPS, backward
from .forward import forward
from .loss import logits_tensor, loss_and_grad
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


def head_op(graph: Graph) -> int:
    """The weight op producing the logits (through RESHAPE / QUANTIZE only)."""
    tid = logits_tensor(graph)
    while True:
        i = graph.producer(tid)
        if i is None:
            raise ValueError("no weight op produces the logits")
        if graph.ops[i].kind in PARAM_OPS:
            return i
        tid = graph.ops[i].inputs[0]


def replace_head(graph: Graph, n_classes: int, seed: int = 0, logit_range: float = 8.0) -> Graph:
    """A copy of `graph` whose classifier (the weight op producing the logits) has `n_classes` outputs.

    Init: weights uniform in +-a, a = sqrt(6 / (fan_in + n)) (Glorot), per-channel symmetric int8 with
    scale 4a/127 (room to grow 4x); bias 0 (int32, scale s_x*s_w); logits int8 with scale
    logit_range/128 and zero point 0 (so they span [-logit_range, logit_range)). Downstream RESHAPE /
    SOFTMAX shapes follow; a SOFTMAX output keeps TFLite's (1/256, -128).
    """
    g = copy.deepcopy(graph)
    hi = head_op(g)
    op = g.ops[hi]
    wt, xt = g.tensors[op.inputs[1]], g.tensors[op.inputs[0]]
    fan_in = int(np.prod(wt.shape[1:])) if op.kind != "DEPTHWISE_CONV_2D" else None
    if fan_in is None:
        raise ValueError("the classifier is a depthwise conv; cannot replace it")
    rng = np.random.default_rng(seed)
    a = float(np.sqrt(6.0 / (fan_in + n_classes)))
    w = rng.uniform(-a, a, size=(n_classes, *wt.shape[1:]))
    sw = np.full(n_classes, 4 * a / 127, np.float32)
    wq = np.clip(np.round(w / sw.reshape((-1,) + (1,) * (w.ndim - 1))), -127, 127).astype(np.int8)
    g.tensors[op.inputs[1]] = Tensor(
        wt.name, wq.shape, "int8", Quant(sw, np.zeros(n_classes, np.int64), 0), wq
    )
    sb = (np.float32(xt.scale) * sw).astype(np.float32)
    bias = Tensor(f"{op.name}/bias_new", (n_classes,), "int32", Quant(sb, np.zeros(n_classes, np.int64), 0),
                  np.zeros(n_classes, np.int32))
    if op.input(2) >= 0:
        g.tensors[op.inputs[2]] = bias
    else:
        g.tensors.append(bias)
        op.inputs = [op.inputs[0], op.inputs[1], len(g.tensors) - 1]
    op.options = dict(op.options, activation="NONE")
    # Outputs downstream: the head output and everything up to the graph output change their last dim.
    tid = op.outputs[0]
    logits_q = Quant(np.array([logit_range / 128], np.float32), np.zeros(1, np.int64), 0)
    while True:
        t = g.tensors[tid]
        shape = (*t.shape[:-1], n_classes)
        consumers = g.consumers(tid)
        is_softmax_out = g.producer(tid) is not None and g.ops[g.producer(tid)].kind == "SOFTMAX"
        q = t.quant if is_softmax_out else logits_q
        g.tensors[tid] = replace(t, shape=shape, quant=q)
        if not consumers:
            break
        nxt = g.ops[consumers[0]]
        if nxt.kind == "RESHAPE" and len(nxt.inputs) > 1 and g.tensors[nxt.inputs[1]].data is not None:
            sh = g.tensors[nxt.inputs[1]]
            new = sh.data.copy()
            new[-1] = n_classes
            g.tensors[nxt.inputs[1]] = replace(sh, data=new)
        tid = nxt.outputs[0]
    return g
