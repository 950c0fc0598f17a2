"""Compile-time autodiff: the forward graph plus a scheme becomes one flat training schedule.

The schedule is a list of `Step`s, each naming the buffers it reads and writes. `build_training_graph` emits
the naive version: forward of every op, softmax cross-entropy on the logits, the backward of every op down to
the model input (gradients for every weight and bias; the weight gradient covers only the first k channels of
layers the scheme updates), then every update at the end. `prune.py` removes what the scheme does not need and
`reorder.py` moves updates forward.

Buffer names: `x:T` int8 activation of tensor T, `mask:T` its 1-bit activation mask, `g:T` gradient of T,
`gw:L`/`gb:L` weight/bias gradient of op L, `w:L`/`b:L` RAM copy of op L's updated weight channels/bias,
`acc:L` fractional accumulator of `w:L`, `flash:T` a constant in flash, `label`, `loss`, `scratch:S`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..ir import Graph, Op
from .scheme import WEIGHTED_OPS, Scheme, out_channels

# Bytes per gradient element, following golden/backward.py: fp32 mode: float32 everywhere. int mode:
# activation gradients int16, weight/bias gradients int32 accumulators.
GRAD_BYTES = {"fp32": 4, "int": 2}
PARAM_GRAD_BYTES = {"fp32": 4, "int": 4}
# int mode: an activation gradient produced by a sum (conv/fc input gradient, pool, mean, accumulation) is
# formed as an int32 accumulator over the whole tensor and then normalized to int16 by its max (from_acc),
# so the producing step needs an int32 scratch of the tensor's size.
INT_ACC_BYTES = 4
MASKED_ALWAYS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD")  # requantizing ops clamp at -128/127
ACC_BYTES = 2  # fractional accumulator per updated weight (int16 fraction below the int8 LSB)
BIAS_BYTES = 4  # int32 bias
LABEL_BYTES = 4
# int mode: every gradient buffer (activation, weight, bias gradients and int32 scratch accumulators) has a
# power-of-two exponent set at run time. They live together in one persistent table, `exps`, of one int32
# slot per gradient buffer of the (pruned) schedule (docs/schedule-format.md, "Block-exponent tensors").
EXP_SLOT_BYTES = 4
GRAD_KINDS = ("grad", "grad_weight", "grad_bias", "scratch")
RESULT_BYTES = 8  # loss (float32) + predicted class (int32), written by the loss step
PRNG_BYTES = 4  # xorshift32 state of stochastic rounding (golden/update.py), persistent

# Buffer kinds (for tables and plots).
ARENA_KINDS = ("input", "activation", "mask", "grad", "grad_weight", "grad_bias", "param", "accum", "scratch", "loss")


class TrainError(ValueError):
    """A graph the training compiler cannot differentiate; one line for the user."""


@dataclass
class Buffer:
    name: str
    nbytes: int
    kind: str  # one of ARENA_KINDS, or "flash"
    persistent: bool = False  # lives for the whole program (updated parameters, accumulators)
    external: bool = False  # written by the host before the first step (image, label)
    tensor: int = -1  # IR tensor id, when it stands for one
    op: int = -1  # IR op index, for per-layer buffers
    alignment: int = 4

    @property
    def in_flash(self) -> bool:
        return self.kind == "flash"


@dataclass
class Step:
    name: str  # unique, e.g. "fwd:3", "gin:3", "upd:3"
    kind: str  # FORWARD, LOSS, ACT_GRAD, GRAD_INPUT, GRAD_WEIGHT, GRAD_BIAS, UPDATE, <OP>_GRAD
    op: int  # the forward op it derives from (-1 for the loss)
    reads: list[str]
    writes: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # layer name for tables

    @property
    def is_backward(self) -> bool:
        return self.kind not in ("FORWARD", "UPDATE")


@dataclass
class TrainGraph:
    graph: Graph
    scheme: Scheme
    mode: str
    buffers: dict[str, Buffer]
    steps: list[Step]
    logits: int  # tensor id the loss reads
    notes: list[str] = field(default_factory=list)

    def replace_steps(self, steps: list[Step]) -> TrainGraph:
        used = {b for s in steps for b in (*s.reads, *s.writes)}
        bufs = {k: v for k, v in self.buffers.items() if k in used}
        if "exps" in bufs:  # one exponent slot per gradient buffer that survived
            bufs["exps"] = replace(bufs["exps"], nbytes=EXP_SLOT_BYTES * len(exp_slots(bufs)))
        return TrainGraph(self.graph, self.scheme, self.mode, bufs, steps, self.logits, list(self.notes))

    def arena_buffers(self) -> list[Buffer]:
        return [b for b in self.buffers.values() if not b.in_flash]

    def steps_of(self, kind: str) -> list[Step]:
        return [s for s in self.steps if s.kind == kind]


def exp_slots(buffers: dict[str, Buffer]) -> list[str]:
    """int mode: the gradient buffers owning a slot of the `exps` table, in slot order."""
    return [k for k, b in buffers.items() if b.kind in GRAD_KINDS and k not in ("scratch:loss", "prng", "exps")]


def find_logits(graph: Graph) -> tuple[int, int]:
    """(logits tensor id, index of the first op that is not part of training).

    The loss is softmax cross-entropy on the logits: the input of the final SOFTMAX if there is one,
    else the model output (through a trailing DEQUANTIZE).
    """
    soft = [i for i, op in enumerate(graph.ops) if op.kind == "SOFTMAX"]
    if soft:
        tail = [graph.ops[j].kind for j in range(soft[0] + 1, len(graph.ops))]
        if len(soft) > 1 or any(k not in ("DEQUANTIZE", "QUANTIZE") for k in tail):
            raise _not_head(soft[0], graph.ops[soft[0]])
        return graph.ops[soft[0]].inputs[0], soft[0]
    out = graph.outputs[0]
    p = graph.producer(out)
    if p is not None and graph.ops[p].kind == "DEQUANTIZE":
        return graph.ops[p].inputs[0], p
    return out, len(graph.ops)


def masked(op: Op) -> bool:
    """The backward multiplies the output gradient by a 0/1 mask (the output was clamped), as the golden does."""
    act = op.options.get("activation")
    return act is not None and (act != "NONE" or op.kind in MASKED_ALWAYS)


def _not_head(i: int, op: Op) -> TrainError:
    return TrainError(f"SOFTMAX at layer {i} '{op.name}' is not the model head; only a final softmax is trainable")


def build_training_graph(
    graph: Graph, scheme: Scheme, mode: str = "fp32", accumulator: bool = False, int_acc_scratch: bool = True
) -> TrainGraph:
    """`int_acc_scratch=False` models an int-mode kernel that normalizes without a whole-tensor int32 buffer
    (e.g. two passes: max, then values)."""
    if mode not in GRAD_BYTES:
        raise TrainError(f"unknown gradient mode '{mode}'; use fp32 or int")
    return _Builder(graph, scheme, mode, accumulator, int_acc_scratch).run()


class _Builder:
    def __init__(self, graph: Graph, scheme: Scheme, mode: str, accumulator: bool, int_acc_scratch: bool) -> None:
        self.int_acc_scratch = int_acc_scratch
        self.g = graph
        self.scheme = scheme
        self.mode = mode
        self.gsize = GRAD_BYTES[mode]
        self.psize = PARAM_GRAD_BYTES[mode]
        self.accumulator = accumulator
        self.buffers: dict[str, Buffer] = {}
        self.steps: list[Step] = []
        self.have_grad: set[int] = set()

    # -- buffers -------------------------------------------------------------------------------------------
    def buf(self, name: str, nbytes: int, kind: str, **kw: Any) -> str:
        if name not in self.buffers:
            self.buffers[name] = Buffer(name, int(nbytes), kind, **kw)
        return name

    def numel(self, t: int) -> int:
        return int(np.prod(self.g.tensors[t].shape, dtype=np.int64))

    def act(self, t: int) -> str:
        kind = "input" if t in self.g.inputs else "activation"
        return self.buf(f"x:{t}", self.g.tensors[t].nbytes, kind, tensor=t, external=t in self.g.inputs)

    def mask(self, t: int) -> str:
        return self.buf(f"mask:{t}", math.ceil(self.numel(t) / 8), "mask", tensor=t)

    def grad(self, t: int) -> str:
        return self.buf(f"g:{t}", self.numel(t) * self.gsize, "grad", tensor=t)

    def flash(self, t: int) -> str:
        return self.buf(f"flash:{t}", self.g.tensors[t].nbytes, "flash", tensor=t)

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step

    def contribute(self, step: Step, t: int, summed: bool = False) -> None:
        """Step adds a gradient contribution to tensor t: the first one writes g:t, later ones accumulate.

        `summed`: the step forms the gradient as a sum (needs the int32 scratch in int mode).
        """
        name = self.grad(t)
        if t in self.have_grad:
            step.reads.append(name)
            step.attrs.setdefault("accumulate", []).append(name)
            summed = True
        self.have_grad.add(t)
        step.writes.append(name)
        if summed and self.mode == "int" and self.int_acc_scratch:
            scratch = self.buf(f"scratch:{step.name}:{t}", self.numel(t) * INT_ACC_BYTES, "scratch")
            step.writes.append(scratch)
            step.attrs.setdefault("scratch", []).append(scratch)

    # -- parameters ----------------------------------------------------------------------------------------
    def weight_reads(self, i: int, op: Op, bias: bool = True) -> list[str]:
        """Buffers holding op i's weights (flash, plus the RAM copy of updated channels) and, if asked, its bias."""
        u = self.scheme.layers.get(i)
        w = op.inputs[1]
        reads = [self.flash(w)]
        if u is not None and u.k > 0:
            per = self.numel(w) // out_channels(self.g, op)
            reads.append(self.buf(f"w:{i}", u.k * per, "param", persistent=True, op=i))
            if self.accumulator:
                self.buf(f"acc:{i}", u.k * per * ACC_BYTES, "accum", persistent=True, op=i)
        b = op.input(2)
        if bias and b >= 0:
            if u is not None and u.bias:
                reads.append(self.buf(f"b:{i}", out_channels(self.g, op) * BIAS_BYTES, "param", persistent=True, op=i))
            else:
                reads.append(self.flash(b))
        return reads

    # -- passes --------------------------------------------------------------------------------------------
    def run(self) -> TrainGraph:
        logits, stop = find_logits(self.g)
        for i, op in enumerate(self.g.ops):
            self.forward(i, op)
        self.loss(logits)
        for i in range(stop - 1, -1, -1):
            self.backward(i, self.g.ops[i])
        for i in self.scheme.updated_ops():
            self.update(i, self.g.ops[i])
        tg = TrainGraph(self.g, self.scheme, self.mode, self.buffers, self.steps, logits)
        return tg.replace_steps(self.steps)  # sizes the exponent table

    def forward(self, i: int, op: Op) -> None:
        reads = [self.act(t) if not self.g.tensors[t].is_const else self.flash(t) for t in op.inputs[:1] if t >= 0]
        if op.kind in WEIGHTED_OPS:
            reads += self.weight_reads(i, op)
        elif op.kind == "ADD":
            reads.append(self.act(op.inputs[1]))
        else:
            reads += [self.flash(t) for t in op.inputs[1:] if t >= 0 and self.g.tensors[t].is_const]
        y = op.outputs[0]
        writes = [self.act(y)]
        if masked(op):
            writes.append(self.mask(y))
        self.add(Step(f"fwd:{i}", "FORWARD", i, reads, writes, {"op_kind": op.kind}, op.name))

    def loss(self, logits: int) -> None:
        n = self.numel(logits)
        label = self.buf("label", LABEL_BYTES, "input", external=True)
        out = self.buf("loss", RESULT_BYTES, "loss")
        scratch = self.buf("scratch:loss", n * 4, "scratch")  # softmax probabilities, fp32
        reads = [self.act(logits), label]
        if self.mode == "int":  # the exponent table: persistent; the loss (a sink) keeps it in the schedule
            reads.append(self.buf("exps", 0, "scratch", persistent=True))
        step = Step("loss", "LOSS", -1, reads, [out, scratch], {"loss": "softmax_cross_entropy"})
        step.label = "softmax cross-entropy"
        self.contribute(step, logits)
        self.add(step)

    def backward(self, i: int, op: Op) -> None:
        y = op.outputs[0]
        if y not in self.have_grad:
            return  # nothing downstream of this op reaches the loss
        gy = self.grad(y)
        kind = op.kind
        if masked(op):
            attrs = {"activation": op.options.get("activation", "NONE")}
            self.add(Step(f"actg:{i}", "ACT_GRAD", i, [gy, self.mask(y)], [gy], attrs, op.name))
        x = op.inputs[0]
        if kind in WEIGHTED_OPS:
            self.weighted_backward(i, op, gy)
            return
        if kind == "SOFTMAX":
            raise _not_head(i, op)
        if kind == "ADD":
            step = Step(f"addg:{i}", "ADD_GRAD", i, [gy], [], {}, op.name)
            for t in op.inputs[:2]:
                if not self.g.tensors[t].is_const:
                    self.contribute(step, t)
            self.add(step)
            return
        if self.g.tensors[x].is_const:
            return
        reads = [gy]
        if kind == "MAX_POOL_2D":
            reads.append(self.act(x))  # the argmax is recomputed from the saved input
        step = Step(f"{kind.lower()}g:{i}", f"{kind}_GRAD", i, reads, [], {}, op.name)
        self.contribute(step, x, summed=kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN"))
        self.add(step)

    def weighted_backward(self, i: int, op: Op, gy: str) -> None:
        x = op.inputs[0]
        u = self.scheme.layers.get(i)
        c = out_channels(self.g, op)
        w = op.inputs[1]
        per = self.numel(w) // c
        if not self.g.tensors[x].is_const:
            # Input gradient uses the weights as they were in the forward pass (before this layer's update).
            reads = [gy, *self.weight_reads(i, op, bias=False)]
            step = Step(f"gin:{i}", "GRAD_INPUT", i, reads, [], {"op_kind": op.kind}, op.name)
            self.contribute(step, x, summed=True)
            self.add(step)
        if op.input(2) >= 0:
            gb = self.buf(f"gb:{i}", c * self.psize, "grad_bias", op=i)
            self.add(Step(f"gb:{i}", "GRAD_BIAS", i, [gy], [gb], {"channels": c}, op.name))
        k = u.k if u is not None and u.k > 0 else c  # naive autodiff: full gradient unless the scheme says k
        gw = self.buf(f"gw:{i}", k * per * self.psize, "grad_weight", op=i)
        self.add(Step(f"gw:{i}", "GRAD_WEIGHT", i, [gy, self.act(x)], [gw], {"op_kind": op.kind, "k": k}, op.name))

    def update(self, i: int, op: Op) -> None:
        u = self.scheme.layers[i]
        reads: list[str] = []
        writes: list[str] = []
        if u.k > 0:
            reads += [f"gw:{i}", f"w:{i}"]
            writes.append(f"w:{i}")
            if self.accumulator:
                reads.append(f"acc:{i}")
                writes.append(f"acc:{i}")
            else:
                # Stochastic rounding's PRNG state. Listed as read only: each update jumps the state ahead to
                # its own draws (golden order: ops by increasing index), so updates stay free to reorder.
                reads.append(self.buf("prng", PRNG_BYTES, "scratch", persistent=True))
        if u.bias:
            reads += [f"gb:{i}", f"b:{i}"]
            writes.append(f"b:{i}")
        attrs = {
            "k": u.k,
            "bias": u.bias,
            "optimizer": "sgd+qas",
            "rounding": "accumulator" if self.accumulator else "stochastic",
        }
        self.add(Step(f"upd:{i}", "UPDATE", i, reads, writes, attrs, op.name))
