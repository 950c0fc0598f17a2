"""Transfer learning on the IR: a fresh classifier head for a new task's classes.

`mcutrain train`, the golden model's tests, the sparse-update search, the accuracy study and the benchmarks
all start from a pretrained backbone with a new head; this is the one place that builds it.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np

from .ir import PARAM_OPS, Graph, Quant, Tensor, logits_tensor


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
