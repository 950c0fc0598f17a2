"""SGD on int8 weights / int32 biases, with or without quantization-aware scaling (QAS).

Real-unit view: w = s_w[o] * w_q, b = s_x * s_w[o] * b_q, g_w / g_b = real gradients.
  QAS    (int8-graph gradient g_w*s_w rescaled by s_w^-2):  dw_q = lr * g_w / s_w[o],  db_q = lr * g_b / (s_x s_w[o])
         -> s_w * dw_q = lr * g_w: the same step as fp32 SGD.
  no QAS (plain SGD on the int8-graph gradient):             dw_q = lr * g_w * s_w[o],  db_q = lr * g_b * s_x s_w[o]
Every weight step is first formed as a fixed-point value d_fx = dw_q * 2^F (F = FRAC_BITS = 16, int32),
then turned into an integer change by one of three rounding rules (`rounding`):
  "nearest":     d = round_shift(d_fx, F)                       (small steps vanish)
  "stochastic":  d = (d_fx + (r >> (32 - F))) >> F, r = next xorshift32 output, one per element
  "accumulator": t = frac + round_shift(d_fx, F - A); d = (t + 2^(A-1)) >> A; frac = t - d * 2^A
                 (frac: an int8 (A = 8) or int16 (A = 16) per updated weight, kept between steps)
then w_q = clamp(w_q - d, -127, 127). Biases always round to nearest (they are int32, steps are large).
Momentum (optional): v = round_shift(v * mu_q16, 16) + d_fx with mu_q16 = round(mu * 2^16), int32 v per
updated parameter; the step uses v instead of d_fx.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ir import Graph, Op
from .fixedpoint import INT32_MAX, INT32_MIN, XorShift32, mul_shift, quantize_multiplier, round_shift, tfl_round
from .grads import Grad, IntGrad

FRAC_BITS = 16


@dataclass
class SGDConfig:
    lr: float = 0.01
    momentum: float = 0.0
    qas: bool = True
    rounding: str = "nearest"  # "nearest" | "stochastic" | "accumulator"
    acc_bits: int = 8  # accumulator fraction: 8 (int8) or 16 (int16)
    seed: int = 1


@dataclass
class UpdateState:
    prng: XorShift32
    frac: dict[int, np.ndarray] = field(default_factory=dict)  # op -> int8/int16 fraction of updated weights
    mom_w: dict[int, np.ndarray] = field(default_factory=dict)
    mom_b: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def new(cls, cfg: SGDConfig) -> UpdateState:
        return cls(prng=XorShift32(cfg.seed))


def extra_bytes(n_weights: int, n_biases: int, cfg: SGDConfig) -> int:
    """Extra SRAM the update needs beyond the parameters themselves (for the memory planner):
    stochastic: 4 B of PRNG state; accumulator: acc_bits/8 B per updated weight;
    momentum: 4 B (int32) per updated weight and bias."""
    total = 0
    if cfg.rounding == "stochastic":
        total += 4
    elif cfg.rounding == "accumulator":
        total += n_weights * (cfg.acc_bits // 8)
    if cfg.momentum:
        total += 4 * (n_weights + n_biases)
    return total


def _channel_axis(op: Op) -> int:
    return 3 if op.kind == "DEPTHWISE_CONV_2D" else 0


def _bcast(v: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return v.reshape(shape)


def _wscales(graph: Graph, op: Op, n: int) -> np.ndarray:
    s = graph.tensors[op.inputs[1]].quant.scale.astype(np.float64)
    return np.broadcast_to(s, (max(n, s.size),))[:n] if s.size == 1 else s[:n]


def weight_step_lsb(graph: Graph, op: Op, gw: Grad, cfg: SGDConfig) -> np.ndarray:
    """Analysis helper: the step in weight LSBs before any rounding (float64), from the same
    multipliers the integer path uses."""
    ax = _channel_axis(op)
    sw = _wscales(graph, op, gw.shape[ax])
    if isinstance(gw, IntGrad):
        facs = [cfg.lr * gw.base / s if cfg.qas else cfg.lr * gw.base * s for s in sw]
        pairs = [quantize_multiplier(f) for f in facs]
        m = np.array([p[0] * 2.0 ** (p[1] - 31) for p in pairs])
        return gw.q.astype(np.float64) * _bcast(m, gw.q.ndim, ax) * 2.0**gw.exp
    s = _bcast(sw, gw.ndim, ax)
    return cfg.lr * gw.astype(np.float64) / s if cfg.qas else cfg.lr * gw.astype(np.float64) * s


def weight_step_fx(graph: Graph, op: Op, gw: Grad, cfg: SGDConfig) -> np.ndarray:
    """d_fx = dw_q * 2^F for the updated slice (int64 array holding int32 values)."""
    ax = _channel_axis(op)
    k = gw.shape[ax]
    sw = _wscales(graph, op, k)
    if isinstance(gw, IntGrad):
        facs = [cfg.lr * gw.base / s if cfg.qas else cfg.lr * gw.base * s for s in sw]
        pairs = [quantize_multiplier(f) for f in facs]  # static per channel (lr, s_x, s_w are constants)
        mult = _bcast(np.array([p[0] for p in pairs], np.int64), gw.q.ndim, ax)
        shift = _bcast(np.array([p[1] for p in pairs], np.int64), gw.q.ndim, ax)
        return mul_shift(gw.q, mult, shift + gw.exp + FRAC_BITS)
    s32 = _bcast(sw.astype(np.float32), gw.ndim, ax)
    d = (np.float32(cfg.lr) * gw / s32) if cfg.qas else (np.float32(cfg.lr) * gw * s32)
    d = (d.astype(np.float32) * np.float32(1 << FRAC_BITS)).astype(np.float64)
    return np.clip(np.sign(d) * np.floor(np.abs(d) + 0.5), INT32_MIN, INT32_MAX).astype(np.int64)


def bias_step(graph: Graph, op: Op, gb: Grad, cfg: SGDConfig) -> np.ndarray:
    """db_q (int64 array holding int32 values), rounded to nearest."""
    n = gb.shape[0]
    sx = float(graph.tensors[op.inputs[0]].scale)
    sw = _wscales(graph, op, n)
    sb = sx * sw
    if isinstance(gb, IntGrad):
        pairs = [quantize_multiplier(cfg.lr / s if cfg.qas else cfg.lr * s) for s in sb]
        mult = np.array([p[0] for p in pairs], np.int64)
        shift = np.array([p[1] for p in pairs], np.int64)
        return mul_shift(gb.q, mult, shift + gb.exp)
    sb32 = (np.float32(sx) * sw.astype(np.float32)).astype(np.float32)
    d = (np.float32(cfg.lr) * gb / sb32) if cfg.qas else (np.float32(cfg.lr) * gb * sb32)
    return np.array([tfl_round(float(v)) for v in d.astype(np.float32)], np.int64)


def _momentum(store: dict[int, np.ndarray], key: int, d: np.ndarray, mu: float) -> np.ndarray:
    if not mu:
        return d
    mu_q16 = tfl_round(mu * 65536)
    v = store.get(key, np.zeros_like(d))
    v = np.clip(round_shift(v * mu_q16, 16) + d, INT32_MIN, INT32_MAX)
    store[key] = v
    return v


def round_step(d_fx: np.ndarray, cfg: SGDConfig, state: UpdateState, key: int) -> np.ndarray:
    """Integer weight change from a fixed-point step (see the module docstring)."""
    if cfg.rounding == "nearest":
        return round_shift(d_fx, FRAC_BITS)
    if cfg.rounding == "stochastic":
        r = state.prng.draw(d_fx.size).reshape(d_fx.shape) >> (32 - FRAC_BITS)
        return (d_fx + r) >> FRAC_BITS
    if cfg.rounding == "accumulator":
        a = cfg.acc_bits
        frac = state.frac.get(key)
        frac = np.zeros(d_fx.shape, np.int64) if frac is None else frac.astype(np.int64)
        t = frac + round_shift(d_fx, FRAC_BITS - a)
        d = (t + (1 << (a - 1))) >> a
        state.frac[key] = (t - (d << a)).astype(np.int8 if a == 8 else np.int16)
        return d
    raise ValueError(f"unknown rounding {cfg.rounding!r}")


def apply_weight(w_q: np.ndarray, op: Op, d: np.ndarray) -> np.ndarray:
    """w_q with the first k output channels changed by -d (k = d's channel extent)."""
    out = w_q.astype(np.int64)
    k = d.shape[_channel_axis(op)]
    sl = (slice(None),) * 3 + (slice(0, k),) if op.kind == "DEPTHWISE_CONV_2D" else (slice(0, k),)
    out[sl] = np.clip(out[sl] - d, -127, 127)
    return out.astype(np.int8)


def apply_bias(b_q: np.ndarray, d: np.ndarray) -> np.ndarray:
    return np.clip(b_q.astype(np.int64) - d, INT32_MIN, INT32_MAX).astype(np.int32)


def update_op(
    graph: Graph, i: int, gw: Grad | None, gb: Grad | None, cfg: SGDConfig, state: UpdateState
) -> dict[int, np.ndarray]:
    """New constant values (tensor id -> array) for op i's weights and/or bias."""
    op = graph.ops[i]
    out: dict[int, np.ndarray] = {}
    if gw is not None:
        d_fx = _momentum(state.mom_w, i, weight_step_fx(graph, op, gw, cfg), cfg.momentum)
        d = round_step(d_fx, cfg, state, i)
        out[op.inputs[1]] = apply_weight(graph.tensors[op.inputs[1]].data, op, d)
    if gb is not None and op.input(2) >= 0:
        d = _momentum(state.mom_b, i, bias_step(graph, op, gb, cfg), cfg.momentum)
        out[op.inputs[2]] = apply_bias(graph.tensors[op.inputs[2]].data, d)
    return out
