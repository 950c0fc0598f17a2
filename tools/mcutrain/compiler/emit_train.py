"""CompileResult (the pruned, reordered training schedule with its arena plan) -> a version-2 program.

    result = compile_model(graph, "sparse", mode="int")
    prog = emit_training(result, TrainConfig(lr=0.05, rounding="stochastic", seed=1))
    prog.blob  # loaded by firmware/engine (mct_program_load), trained with mct_engine_train_step

Every compiler buffer becomes one program tensor at the compiler's arena offset (so the program's arena is
exactly the planned peak), every step one or more ops (docs/schedule-format.md, "Training"):

  FORWARD      the inference op (emit._Lowering), reading the RAM copies of updated parameters
               (+ MASK when the step stores a 1-bit activation mask)
  LOSS         SOFTMAX_XENT            ACT_GRAD     ACT_GRAD (in place)
  GRAD_INPUT   *_GRAD_INPUT            GRAD_WEIGHT  *_GRAD_WEIGHT     GRAD_BIAS  GRAD_BIAS
  ADD/RESHAPE/QUANTIZE/DEQUANTIZE_GRAD  GRAD_COPY   PAD_GRAD, *_POOL_2D_GRAD, MEAN_GRAD: their ops
  UPDATE       UPDATE_WEIGHT (+ UPDATE_BIAS)
In int mode a gradient formed as a sum goes through the step's int32 scratch and NORMALIZE (which also sums
a second contribution to a tensor). All ops of one step touch only that step's buffers, so the compiler's
lifetimes hold for them. Numbers (multipliers, shifts, headroom) follow golden/ (docs/training-math.md).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import numpy as np

from ..golden.fixedpoint import XorShift32, ceil_log2
from ..golden.fixedpoint import quantize_multiplier as golden_qm
from ..golden.geometry import conv_geometry
from ..ir import Op
from ..quantize_params import activation_range, same_padding, softmax_params
from .autodiff import Step, exp_slots
from .compile import CompileResult
from .emit import (
    OPF_SPLIT_W,
    STORE_ARENA,
    STORE_ARENA_INIT,
    TRAIN_FORMAT_VERSION,
    TensorRec,
    _align,
    _Lowering,
    f32_bits,
)
from .scheme import out_channels

OP = {
    "ACT_GRAD": 0x40, "CONV_GRAD_INPUT": 0x41, "DW_GRAD_INPUT": 0x42, "FC_GRAD_INPUT": 0x43,
    "CONV_GRAD_WEIGHT": 0x44, "DW_GRAD_WEIGHT": 0x45, "FC_GRAD_WEIGHT": 0x46, "GRAD_BIAS": 0x47,
    "GRAD_COPY": 0x48, "AVG_POOL_GRAD": 0x49, "MAX_POOL_GRAD": 0x4A, "MEAN_GRAD": 0x4B, "PAD_GRAD": 0x4C,
    "NORMALIZE": 0x4D, "SOFTMAX_XENT": 0x80, "UPDATE_WEIGHT": 0xA0, "UPDATE_BIAS": 0xA1, "MASK": 0xC0,
}
ROUNDING = {"nearest": 0, "stochastic": 1, "accumulator": 2}
TS_SIZE = 32
MAX_STATE = 64  # MCT_MAX_STATE (firmware/engine/program_format.h): state regions a training section may list
PASS_THROUGH = ("RESHAPE_GRAD", "QUANTIZE_GRAD", "DEQUANTIZE_GRAD")


class EmitError(ValueError):
    """A schedule this emitter cannot lower; one line for the user."""


# Largest learning rate the emitter accepts. Useful rates are <= 1; far above, every step saturates
# (weights to +-127, biases to the int32 limits), and int mode's per-channel multipliers stop being
# representable near 1e20. Above this bound a rate is a typo, not a choice.
LR_MAX = 1e3


def check_lr(lr: float) -> None:
    """Refuse (EmitError, one line) a learning rate that is not a finite number in [0, LR_MAX]."""
    try:
        ok = math.isfinite(float(lr)) and 0.0 <= float(lr) <= LR_MAX
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise EmitError(f"learning rate {lr!r} refused: use a finite value in [0, {LR_MAX:g}] (typically 1e-4 .. 0.5)")


@dataclass
class TrainConfig:
    """Program parameters fixed at compile time (golden/update.py SGDConfig without momentum)."""

    lr: float = 0.01
    qas: bool = True
    rounding: str = "stochastic"  # nearest | stochastic | accumulator (needs compile_model(accumulator=True))
    seed: int = 1
    acc_bits: int = 16  # the compiler allocates int16 fractions


@dataclass
class TrainProgram:
    blob: bytes
    arena_size: int
    n_forward_ops: int
    input_id: int
    label_id: int
    result_id: int
    logits_id: int
    tensor_of: dict[str, int]  # compiler buffer name -> program tensor id
    params: dict[int, dict[str, int]]  # op index -> {"w": id, "b": id} of the RAM copies
    state: list[tuple[int, int]]  # (arena offset, bytes) of learned state
    op_names: list[str] = field(default_factory=list)
    mode: str = "fp32"


def _gf2_columns(n: int) -> list[int]:
    """Columns of the GF(2) matrix of n xorshift32 steps (column i = image of bit i)."""

    def step(x: int) -> int:
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        return x

    def apply(cols: list[int], x: int) -> int:
        y = 0
        for i in range(32):
            if (x >> i) & 1:
                y ^= cols[i]
        return y

    result = [1 << i for i in range(32)]
    base = [step(1 << i) for i in range(32)]
    while n:
        if n & 1:
            result = [apply(base, c) for c in result]
        base = [apply(base, c) for c in base]
        n >>= 1
    return result


def merge_regions(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(offset, bytes) arena ranges sorted, with ranges that touch joined into one: the state regions of a
    training section. Checkpoints concatenate the regions in order, so joining leaves their bytes unchanged."""
    out: list[tuple[int, int]] = []
    for off, n in sorted(regions):
        if out and out[-1][0] + out[-1][1] == off:
            out[-1] = (out[-1][0], out[-1][1] + n)
        else:
            out.append((off, n))
    return out


def _s32(v: int) -> int:
    return v - (1 << 32) if v >= 1 << 31 else v


class _TrainLowering(_Lowering):
    def __init__(self, r: CompileResult, cfg: TrainConfig) -> None:
        super().__init__(r.train.graph, r.model or "<model>")
        self.r = r
        self.cfg = cfg
        self.tg = r.train
        self.mode = r.mode
        self.offsets = r.placement.offsets
        self.sizes = {lf.name: lf.size for lf in r.lives}
        self.slots = {name: i for i, name in enumerate(exp_slots(self.tg.buffers))} if self.mode == "int" else {}
        self.named: dict[str, int] = {}
        check_lr(cfg.lr)
        if cfg.rounding not in ROUNDING:
            raise EmitError(f"unknown rounding {cfg.rounding!r}; use {', '.join(ROUNDING)}")
        has_acc = any(b.startswith("acc:") for b in self.tg.buffers)
        if (cfg.rounding == "accumulator") != has_acc and any(u.k > 0 for u in self.tg.scheme.layers.values()):
            raise EmitError("rounding 'accumulator' needs compile_model(accumulator=True), and only it")

    # -- tensors -------------------------------------------------------------------------------------------
    def tensor(self, tid: int) -> int:
        """IR tensor: constants to the pool (inherited), activations to their planned `x:T` buffer."""
        if tid < 0 or self.g.tensors[tid].is_const:
            return super().tensor(tid)
        return self.buffer(f"x:{tid}")

    def arena_rec(self, name: str, dtype: str, shape: tuple[int, ...], **kw: object) -> TensorRec:
        if name not in self.offsets:
            raise EmitError(f"buffer {name} has no arena placement")
        rec = TensorRec(name=name, dtype=dtype, shape=tuple(int(d) for d in shape) or (1,), storage=STORE_ARENA,
                        offset=self.offsets[name], **kw)  # type: ignore[arg-type]
        if rec.nbytes != self.sizes[name]:
            raise EmitError(f"buffer {name}: {rec.nbytes} bytes as a {dtype} tensor, {self.sizes[name]} planned")
        if dtype in ("g16", "g32"):
            rec.init_off = self.offsets["exps"] + 4 * self.slots[name]
        return rec

    def buffer(self, name: str) -> int:
        if name in self.named:
            return self.named[name]
        g = self.g
        kind, _, rest = name.partition(":")
        gdt = "g16" if self.mode == "int" else "float32"
        adt = "g32" if self.mode == "int" else "float32"
        if kind == "x":
            t = g.tensors[int(rest)]
            rec = self.arena_rec(name, "int8", t.shape, zero_point=t.zero_point if t.quant is not None else 0,
                                 scale=t.scale if t.quant is not None else 0.0)
        elif kind == "mask":
            rec = self.arena_rec(name, "bits", g.tensors[int(rest)].shape)
        elif kind == "g":
            rec = self.arena_rec(name, gdt, g.tensors[int(rest)].shape)
        elif kind == "scratch" and rest != "loss":
            rec = self.arena_rec(name, adt, g.tensors[int(rest.rsplit(":", 1)[1])].shape)
        elif name == "scratch:loss":
            rec = self.arena_rec(name, "int32" if self.mode == "int" else "float32",
                                 (g.tensors[self.tg.logits].nbytes,))
        elif kind in ("gw", "w", "acc"):
            shape = self.slice_shape(int(rest))
            dt = {"gw": adt, "w": "int8", "acc": "int16"}[kind]
            rec = self.arena_rec(name, dt, shape)
            if kind != "gw":
                rec.storage = STORE_ARENA_INIT
                data = self.weight_slice(int(rest)) if kind == "w" else np.zeros(shape, np.int16)
                rec.init_off = self.b.add_const_bytes(np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<"))
                                                      .tobytes())
        elif kind in ("gb", "b"):
            op = g.ops[int(rest)]
            c = out_channels(g, op)
            rec = self.arena_rec(name, adt if kind == "gb" else "int32", (c,))
            if kind == "b":
                rec.storage = STORE_ARENA_INIT
                rec.init_off = self.b.add_const_bytes(g.tensors[op.inputs[2]].data.astype("<i4").tobytes())
        elif name == "label":
            rec = self.arena_rec(name, "int32", (1,))
        elif name == "loss":
            rec = self.arena_rec(name, "float32", (2,))
        elif name == "prng":
            rec = self.arena_rec(name, "int32", (1,))
            rec.storage = STORE_ARENA_INIT
            rec.init_off = self.b.add_const_bytes(struct.pack("<I", XorShift32(self.cfg.seed).state))
        elif name == "exps":
            rec = self.arena_rec(name, "int32", (self.sizes[name] // 4,))
        else:
            raise EmitError(f"no program tensor for buffer {name}")
        self.named[name] = self.b.add_tensor(rec)
        return self.named[name]

    def slice_shape(self, i: int) -> tuple[int, ...]:
        op = self.g.ops[i]
        w = self.g.tensors[op.inputs[1]]
        k = self.tg.scheme.layers[i].k
        return (*w.shape[:3], k) if op.kind == "DEPTHWISE_CONV_2D" else (k, *w.shape[1:])

    def weight_slice(self, i: int) -> np.ndarray:
        op = self.g.ops[i]
        w = self.g.tensors[op.inputs[1]].data
        k = self.tg.scheme.layers[i].k
        return np.ascontiguousarray(w[..., :k] if op.kind == "DEPTHWISE_CONV_2D" else w[:k])

    def filter_inputs(self, i: int) -> tuple[int, int]:
        """(filter tensor, RAM channels tensor or -1) for op i's weights as they are now."""
        u = self.tg.scheme.layers.get(i)
        op = self.g.ops[i]
        if u is None or u.k == 0:
            return self.tensor(op.inputs[1]), -1
        if u.k == out_channels(self.g, op):
            return self.buffer(f"w:{i}"), -1
        return self.tensor(op.inputs[1]), self.buffer(f"w:{i}")

    # -- helpers -------------------------------------------------------------------------------------------
    def act_bounds(self, i: int) -> tuple[int, int]:
        op = self.g.ops[i]
        return activation_range(op.options.get("activation", "NONE"), *self.q(op.outputs[0]))

    def wscales(self, op: Op, n: int) -> np.ndarray:
        s = self.g.tensors[op.inputs[1]].quant.scale.astype(np.float64)
        return np.broadcast_to(s, (n,)).copy() if s.size == 1 else s[:n].copy()

    def geometry(self, op: Op) -> dict[str, int]:
        x = self.g.tensors[op.inputs[0]]
        w = self.g.tensors[op.inputs[1]]
        return conv_geometry(op.options, tuple(x.shape[1:3]), tuple(w.shape[1:3]))

    def emit_op(self, name: str, ins: list[int], outs: list[int], words: list[int], label: str, flags: int = 0) -> None:
        self.b.add_op(OP[name], ins, outs, [int(v) for v in words], label)
        self.b.ops[-1].flags = flags

    def target(self, step: Step, t: int) -> tuple[int, bool, int]:
        """(kernel output tensor, accumulate?, gradient tensor) for step's contribution to tensor t."""
        gname = f"g:{t}"
        acc = gname in step.attrs.get("accumulate", [])
        scratch = f"scratch:{step.name}:{t}"
        if self.mode == "int" and scratch in step.writes:
            return self.buffer(scratch), acc, self.buffer(gname)
        if self.mode == "int" and acc:
            raise EmitError(f"{step.name}: int mode sums gradients through a scratch buffer; compile with "
                            "int_acc_scratch=True")
        return self.buffer(gname), acc, self.buffer(gname)

    def finish(self, step: Step, out: int, acc: bool, grad: int) -> None:
        """int mode: normalize the step's int32 accumulator into the int16 gradient (summing if needed)."""
        if out != grad:
            self.emit_op("NORMALIZE", [out, grad], [grad], [int(acc)], step.name)

    def summed_target(self, step: Step, t: int) -> tuple[int, bool, int]:
        out, acc, grad = self.target(step, t)
        if self.mode == "int" and out == grad:
            raise EmitError(f"{step.name}: int mode needs the int32 scratch (compile with int_acc_scratch=True)")
        return out, acc, grad

    # -- steps ---------------------------------------------------------------------------------------------
    def run_training(self) -> TrainProgram:
        steps = self.tg.steps
        n_fwd_steps = sum(1 for s in steps if s.kind == "FORWARD")
        if any(s.kind != "FORWARD" for s in steps[:n_fwd_steps]):
            raise EmitError("forward steps are not a prefix of the schedule")
        image = self.buffer(f"x:{self.g.inputs[0]}")
        label = self.buffer("label")
        n_fwd = 0
        self.weight_updates = [s for s in steps if s.kind == "UPDATE" and s.attrs.get("k", 0) > 0]
        for n, s in enumerate(steps):
            self.step(s)
            if n == n_fwd_steps - 1:
                n_fwd = len(self.b.ops)
        logits = self.buffer(f"x:{self.tg.logits}")
        result = self.buffer("loss")
        self.b.inputs = [image, label]
        self.b.outputs = [logits, result]
        self.b.tensors[image].flags |= 1
        self.b.tensors[logits].flags |= 2
        state = merge_regions([(self.offsets[n], self.sizes[n]) for n in sorted(self.offsets)
                               if n.split(":")[0] in ("w", "b", "acc") or n == "prng"])
        if len(state) > MAX_STATE:
            raise EmitError(f"training section: {len(state)} learned-state regions (weights, biases, PRNG, "
                            f"fractions not adjacent in the arena); the engine takes at most {MAX_STATE}")
        opts = (1 if self.cfg.qas else 0) | (ROUNDING[self.cfg.rounding] << 4)
        ts = struct.pack("<HHHHHHIIIII", n_fwd, len(state), label, result, logits, int(self.mode == "int"), opts,
                         f32_bits(self.cfg.lr), self.cfg.seed & 0xFFFFFFFF, 0, 0)
        ts += b"".join(struct.pack("<II", o, n) for o, n in state)
        assert len(ts) == TS_SIZE + 8 * len(state)
        ts_off = self.b.add_const_bytes(ts)
        arena = _align(self.r.peak_bytes)
        blob = self.b.build(arena, version=TRAIN_FORMAT_VERSION, train_pool_off=ts_off, label=label)
        params = {i: {k: self.named[f"{k}:{i}"] for k in ("w", "b") if f"{k}:{i}" in self.named}
                  for i in self.tg.scheme.layers}
        return TrainProgram(blob, arena, n_fwd, image, label, result, logits, dict(self.named), params, state,
                            [o.name for o in self.b.ops], self.mode)

    def step(self, s: Step) -> None:
        g = self.g
        op = g.ops[s.op] if s.op >= 0 else None
        if s.kind == "FORWARD":
            assert op is not None
            self.lower(s.op, op)
            self.patch_forward(s.op, op)
            y = op.outputs[0]
            if f"mask:{y}" in s.writes:
                lo, hi = self.act_bounds(s.op)
                self.emit_op("MASK", [self.tensor(y)], [self.buffer(f"mask:{y}")], [lo, hi], s.name)
        elif s.kind == "LOSS":
            self.loss(s)
        elif s.kind == "ACT_GRAD":
            assert op is not None
            y = op.outputs[0]
            src = s.attrs.get("mask_from")
            m = self.buffer(src) if src else self.buffer(f"mask:{y}")
            lo, hi = self.act_bounds(s.op)
            gy = self.buffer(f"g:{y}")
            self.emit_op("ACT_GRAD", [gy, m], [gy], [lo, hi, 1 if src else 0], s.name)
        elif s.kind == "GRAD_INPUT":
            assert op is not None
            self.grad_input(s, op)
        elif s.kind == "GRAD_WEIGHT":
            assert op is not None
            self.grad_weight(s, op)
        elif s.kind == "GRAD_BIAS":
            assert op is not None
            c = out_channels(g, op)
            self.emit_op("GRAD_BIAS", [self.buffer(f"g:{op.outputs[0]}")], [self.buffer(f"gb:{s.op}")], [c], s.name)
        elif s.kind == "ADD_GRAD" or s.kind in PASS_THROUGH:
            assert op is not None
            self.copy_grad(s, op)
        elif s.kind in ("AVERAGE_POOL_2D_GRAD", "MAX_POOL_2D_GRAD"):
            assert op is not None
            self.pool_grad(s, op)
        elif s.kind == "MEAN_GRAD":
            assert op is not None
            self.mean_grad(s, op)
        elif s.kind == "PAD_GRAD":
            assert op is not None
            self.pad_grad(s, op)
        elif s.kind == "UPDATE":
            assert op is not None
            self.update(s, op)
        else:
            raise EmitError(f"step {s.name}: no lowering for {s.kind}")

    def patch_forward(self, i: int, op: Op) -> None:
        u = self.tg.scheme.layers.get(i)
        if u is None:
            return
        rec = self.b.ops[-1]
        if u.bias and op.input(2) >= 0:
            rec.inputs[2] = self.buffer(f"b:{i}")
        f, ram = self.filter_inputs(i)
        rec.inputs[1] = f
        if ram >= 0:
            rec.inputs.append(ram)
            rec.flags = OPF_SPLIT_W

    def loss(self, s: Step) -> None:
        z = self.tg.logits
        scale, zp = self.q(z)
        try:
            m, sh, dmin = softmax_params(1.0, scale)
        except ValueError:
            if self.mode == "int":
                raise
            m, sh, dmin = 0, 0, 0
        gz = self.buffer(f"g:{z}")
        self.emit_op("SOFTMAX_XENT", [self.tensor(z), self.buffer("label")],
                     [gz, self.buffer("loss"), self.buffer("scratch:loss")], [zp, f32_bits(scale), m, sh, dmin], s.name)

    def grad_input(self, s: Step, op: Op) -> None:
        g, i = self.g, s.op
        x = op.inputs[0]
        out, acc, grad = self.summed_target(s, x)
        kacc = int(acc and self.mode != "int")  # int mode sums in NORMALIZE
        co = out_channels(g, op)
        f, ram = self.filter_inputs(i)
        ins = [self.buffer(f"g:{op.outputs[0]}"), f, ram]
        sw = self.wscales(op, co)
        if self.mode == "int":
            pairs = [golden_qm(float(v)) for v in sw]
            mult = [p[0] for p in pairs]
            e = [p[1] for p in pairs]
            if op.kind == "FULLY_CONNECTED":
                fan = co
            else:
                geo = self.geometry(op)
                per = co if op.kind == "CONV_2D" else co // g.tensors[x].shape[3]
                fan = per * -(-geo["kh"] // geo["sh"]) * -(-geo["kw"] // geo["sw"])
            b = min(15, 23 - ceil_log2(fan))
            kk = b - 15 - max(e)
            a_words, b_words, kshift = mult, [v + kk for v in e], kk
        else:
            a_words = [f32_bits(float(np.float32(v))) for v in sw]
            b_words, kshift = [0] * co, 0
        if op.kind == "FULLY_CONNECTED":
            self.emit_op("FC_GRAD_INPUT", ins, [out], [kacc, kshift, co, *a_words, *b_words], s.name)
        else:
            geo = self.geometry(op)
            dm = 1 if op.kind == "CONV_2D" else co // g.tensors[x].shape[3]
            name = "CONV_GRAD_INPUT" if op.kind == "CONV_2D" else "DW_GRAD_INPUT"
            words = [geo["sh"], geo["sw"], geo["ph"], geo["pw"], dm, kacc, kshift, co, *a_words, *b_words]
            self.emit_op(name, ins, [out], words, s.name)
        self.finish(s, out, acc, grad)

    def grad_weight(self, s: Step, op: Op) -> None:
        g = self.g
        x = op.inputs[0]
        k = int(s.attrs["k"])
        sx, zx = self.q(x)
        ins = [self.buffer(f"g:{op.outputs[0]}"), self.buffer(f"x:{x}")]
        out = [self.buffer(f"gw:{s.op}")]
        if op.kind == "FULLY_CONNECTED":
            self.emit_op("FC_GRAD_WEIGHT", ins, out, [-zx, f32_bits(sx), k], s.name)
            return
        geo = self.geometry(op)
        co = out_channels(g, op)
        dm = 1 if op.kind == "CONV_2D" else co // g.tensors[x].shape[3]
        shift = 15 - min(15, 22 - ceil_log2(geo["oh"] * geo["ow"]))
        name = "CONV_GRAD_WEIGHT" if op.kind == "CONV_2D" else "DW_GRAD_WEIGHT"
        words = [geo["sh"], geo["sw"], geo["ph"], geo["pw"], dm, -zx, shift, f32_bits(sx), k]
        self.emit_op(name, ins, out, words, s.name)

    def copy_grad(self, s: Step, op: Op) -> None:
        gy = self.buffer(f"g:{op.outputs[0]}")
        targets = [int(w.split(":")[1]) for w in s.writes if w.startswith("g:")]
        outs = [self.target(s, t) for t in targets]
        words = [int(a) for _, a, _ in outs] + [0] * (2 - len(outs))
        if self.mode == "int":
            words = [0, 0]
        ids = [o for o, _, _ in outs]
        self.emit_op("GRAD_COPY", [gy], ids + [-1] * (2 - len(ids)), words, s.name)
        for out, acc, grad in outs:
            self.finish(s, out, acc, grad)

    def pool_grad(self, s: Step, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        tx, ty = self.g.tensors[x], self.g.tensors[y]
        o = op.options
        out, acc, grad = self.summed_target(s, x)
        ph = same_padding(tx.shape[1], o["filter_h"], o["stride_h"], ty.shape[1])
        pw = same_padding(tx.shape[2], o["filter_w"], o["stride_w"], ty.shape[2])
        r = 15 - ceil_log2(-(-o["filter_h"] // o["stride_h"]) * -(-o["filter_w"] // o["stride_w"]))
        words = [o["stride_h"], o["stride_w"], ph, pw, o["filter_h"], o["filter_w"], r, int(acc and self.mode != "int")]
        if s.kind == "MAX_POOL_2D_GRAD":
            self.emit_op("MAX_POOL_GRAD", [self.buffer(f"g:{y}"), self.buffer(f"x:{x}")], [out], words, s.name)
        else:
            self.emit_op("AVG_POOL_GRAD", [self.buffer(f"g:{y}")], [out], words, s.name)
        self.finish(s, out, acc, grad)

    def mean_grad(self, s: Step, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        tx = self.g.tensors[x]
        r = len(tx.shape)
        axes = {int(a) % r for a in np.asarray(self.g.tensors[op.inputs[1]].data).reshape(-1)}
        mask = sum(1 << (4 - r + a) for a in axes)
        count = int(np.prod([tx.shape[a] for a in axes]))
        out, acc, grad = self.summed_target(s, x)
        words = [mask, 14 + count.bit_length(), count, int(acc and self.mode != "int")]
        self.emit_op("MEAN_GRAD", [self.buffer(f"g:{y}")], [out], words, s.name)
        self.finish(s, out, acc, grad)

    def pad_grad(self, s: Step, op: Op) -> None:
        x, y = op.inputs[0], op.outputs[0]
        pads = np.asarray(self.g.tensors[op.inputs[1]].data, dtype=np.int64).reshape(-1, 2)
        before = [0] * (4 - pads.shape[0]) + pads[:, 0].tolist()
        out, acc, grad = self.target(s, x)
        self.emit_op("PAD_GRAD", [self.buffer(f"g:{y}")], [out], [*before, int(acc and self.mode != "int")], s.name)
        self.finish(s, out, acc, grad)

    def update(self, s: Step, op: Op) -> None:
        g, i, cfg = self.g, s.op, self.cfg
        u = self.tg.scheme.layers[i]
        sx = float(g.tensors[op.inputs[0]].scale)
        if u.k > 0:
            axis = 3 if op.kind == "DEPTHWISE_CONV_2D" else 0
            shape = self.slice_shape(i)
            per = int(np.prod(shape)) // u.k
            sw = self.wscales(op, u.k)
            if self.mode == "int":
                pairs = [golden_qm(cfg.lr * sx / v if cfg.qas else cfg.lr * sx * v) for v in sw]
                a_words, b_words = [p[0] for p in pairs], [p[1] for p in pairs]
            else:
                a_words, b_words = [f32_bits(float(np.float32(v))) for v in sw], [0] * u.k
            jump, adv, advance, aux = [0] * 32, [0] * 32, 0, -1
            if cfg.rounding == "stochastic":
                order = sorted(self.weight_updates, key=lambda t: t.op)
                sizes = {t.op: int(np.prod(self.slice_shape(t.op))) for t in order}
                prefix = sum(sizes[t.op] for t in order if t.op < i)
                jump = _gf2_columns(prefix)
                if s is self.weight_updates[-1]:  # the last weight update of the step moves the state on
                    advance, adv = 1, _gf2_columns(sum(sizes.values()))
                aux = self.buffer("prng")
            elif cfg.rounding == "accumulator":
                aux = self.buffer(f"acc:{i}")
            words = [ROUNDING[cfg.rounding], axis, u.k, per, int(cfg.qas), f32_bits(cfg.lr), advance, cfg.acc_bits,
                     *[_s32(c) for c in jump], *[_s32(c) for c in adv], *a_words, *b_words]
            self.emit_op("UPDATE_WEIGHT", [self.buffer(f"gw:{i}")], [self.buffer(f"w:{i}"), aux], words, s.name)
        if u.bias and op.input(2) >= 0:
            c = out_channels(g, op)
            sw = self.wscales(op, c)
            if self.mode == "int":
                pairs = [golden_qm(cfg.lr / (sx * v) if cfg.qas else cfg.lr * (sx * v)) for v in sw]
                a_words, b_words = [p[0] for p in pairs], [p[1] for p in pairs]
            else:
                sb32 = (np.float32(sx) * sw.astype(np.float32)).astype(np.float32)
                a_words, b_words = [f32_bits(float(v)) for v in sb32], [0] * c
            words = [c, int(cfg.qas), f32_bits(cfg.lr), *a_words, *b_words]
            self.emit_op("UPDATE_BIAS", [self.buffer(f"gb:{i}")], [self.buffer(f"b:{i}")], words, s.name)


def emit_training(result: CompileResult, cfg: TrainConfig | None = None) -> TrainProgram:
    """Lower a compiled training schedule to a version-2 program (raises EmitError / ModelError)."""
    if len(result.train.graph.inputs) != 1:
        raise EmitError("training programs take exactly one graph input (the image)")
    return _TrainLowering(result, cfg or TrainConfig()).run_training()

