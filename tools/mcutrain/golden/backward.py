"""Backward pass over an int8 graph, in two numeric modes with one API.

mode "fp32": gradients are float32 in real units; activations are dequantized from the stored int8
            values (what the paper's released engine does).
mode "int":  activation gradients are int16 with a power-of-two scale (`IntGrad`), weight/bias
            gradients int32 accumulators; elements only see integer multiplies, adds and shifts.
            Headroom rules (docs/training-math.md) keep every accumulator inside int32.

`scheme` maps op index -> {"bias": bool, "weight_channels": k}. Gradients flow back from the logits
only as far as the lowest op being updated; `all_inputs=True` computes every input gradient (tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ir import PARAM_OPS, Graph, Op, logits_tensor
from .fixedpoint import ceil_log2, mul_shift, quantize_multiplier, round_shift
from .forward import act_range, im2col, mean_axes, pad_input, pool_windows
from .geometry import conv_geometry
from .grads import Grad, IntGrad, add_grads, from_acc

_MASKED_ALWAYS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD")


@dataclass
class BackwardResult:
    weight: dict[int, Grad] = field(default_factory=dict)  # op index -> grad of weights[:k] (or [..., :k])
    bias: dict[int, Grad] = field(default_factory=dict)  # op index -> grad of all biases
    act: dict[int, Grad] = field(default_factory=dict)  # tensor id -> grad of that activation


def trainable(scheme: dict[int, dict[str, Any]], i: int) -> bool:
    s = scheme.get(i, {})
    return bool(s.get("bias")) or int(s.get("weight_channels", 0)) > 0


def output_mask(graph: Graph, op: Op, q: np.ndarray) -> np.ndarray | None:
    """1 where the stored int8 output is strictly inside the activation clamp, else 0.
    Requantizing ops always (activation NONE clamps at -128/127); pools only for RELU/RELU6."""
    act = op.options.get("activation")
    if act is None or (act == "NONE" and op.kind not in _MASKED_ALWAYS):
        return None
    lo, hi = act_range(graph.tensors[op.outputs[0]], act)
    return ((q > lo) & (q < hi)).astype(np.int8)


def apply_mask(g: Grad, m: np.ndarray | None) -> Grad:
    if m is None:
        return g
    if isinstance(g, IntGrad):
        return IntGrad((g.q * m).astype(g.q.dtype), g.exp, g.base)
    return g * m


class _Ctx:
    def __init__(self, graph: Graph, acts: dict[int, np.ndarray], mode: str) -> None:
        self.g = graph
        self.acts = acts
        self.mode = mode

    def x_offset(self, tid: int) -> np.ndarray:
        t = self.g.tensors[tid]
        return self.acts[tid].astype(np.int64) - t.zero_point

    def x_real(self, tid: int) -> np.ndarray:
        return (np.float32(self.g.tensors[tid].scale) * self.x_offset(tid)).astype(np.float32)

    def w_real(self, tid: int) -> np.ndarray:
        w = self.g.tensors[tid]
        ax = w.quant.axis if w.quant.per_channel else 0
        shape = [1] * w.data.ndim
        shape[ax] = -1
        return (w.data.astype(np.float32) * w.quant.scale.astype(np.float32).reshape(shape)).astype(np.float32)

    def w_mult(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """QuantizeMultiplier of each output channel's weight scale."""
        pairs = [quantize_multiplier(float(s)) for s in self.g.tensors[tid].quant.scale]
        return np.array([p[0] for p in pairs], np.int64), np.array([p[1] for p in pairs], np.int64)


def _scale_by_wscale(ctx: _Ctx, gq: np.ndarray, w_tid: int, fan: int, n_out: int) -> tuple[np.ndarray, int]:
    """int mode: g2[..., o] = gq * s_w[o] * 2^k, sized to B = min(15, 23 - ceil_log2(fan)) bits."""
    mult, shift = ctx.w_mult(w_tid)
    if mult.size == 1:
        mult, shift = np.repeat(mult, n_out), np.repeat(shift, n_out)
    b = min(15, 23 - ceil_log2(fan))
    k = b - 15 - int(shift.max())
    return mul_shift(gq.astype(np.int64), mult, shift + k), k


def _wgrad_shift(npos: int) -> int:
    """int mode: bits dropped from the int16 output gradient before the weight-gradient sum."""
    return 15 - min(15, 22 - ceil_log2(npos))


def col2im(dcols: np.ndarray, geo: dict[str, int], h: int, w: int, c: int) -> np.ndarray:
    hp = max((geo["oh"] - 1) * geo["sh"] + geo["kh"], h + geo["ph"])
    wp = max((geo["ow"] - 1) * geo["sw"] + geo["kw"], w + geo["pw"])
    out = np.zeros((hp, wp, c), dcols.dtype)
    d = dcols.reshape(geo["oh"], geo["ow"], geo["kh"] * geo["kw"], c)
    ys, xs = (geo["oh"] - 1) * geo["sh"] + 1, (geo["ow"] - 1) * geo["sw"] + 1
    for i in range(geo["kh"]):
        for j in range(geo["kw"]):
            out[i: i + ys: geo["sh"], j: j + xs: geo["sw"]] += d[:, :, i * geo["kw"] + j]
    return out[geo["ph"]: geo["ph"] + h, geo["pw"]: geo["pw"] + w]


def _fmatmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact integer matmul through float64 (all partial sums stay below 2^53)."""
    r = a.astype(np.float64) @ b.astype(np.float64)
    return r.astype(np.int64)


def bw_conv(ctx: _Ctx, op: Op, gy: Grad, k: int, want_bias: bool, want_x: bool) -> tuple[Grad | None, ...]:
    g = ctx.g
    xt, wt = op.inputs[0], op.inputs[1]
    w = g.tensors[wt]
    co, kh, kw, ci = w.shape
    h, wd = g.tensors[xt].shape[1:3]
    geo = conv_geometry(op.options, (h, wd), (kh, kw))
    npos = geo["oh"] * geo["ow"]
    gx = gw = gb = None
    if ctx.mode == "fp32":
        g2 = np.asarray(gy, np.float32).reshape(npos, co)
        if want_x:
            dcols = g2 @ ctx.w_real(wt).reshape(co, -1)
            gx = col2im(dcols, geo, h, wd, ci)[None]
        if k > 0:
            cols = im2col(pad_input(ctx.x_real(xt)[0], geo, h, wd), geo)
            gw = (g2[:, :k].T @ cols).reshape(k, kh, kw, ci)
        if want_bias:
            gb = g2.sum(axis=0)
        return gx, gw, gb
    assert isinstance(gy, IntGrad)
    gq = gy.q.reshape(npos, co).astype(np.int64)
    if want_x:
        fan = co * -(-kh // geo["sh"]) * -(-kw // geo["sw"])
        g2, kk = _scale_by_wscale(ctx, gq, wt, fan, co)
        acc = col2im(_fmatmul(g2, w.data.reshape(co, -1)), geo, h, wd, ci)
        gx = from_acc(acc, gy.exp - kk).reshape((1, h, wd, ci))
    if k > 0:
        sw = _wgrad_shift(npos)
        cols = im2col(pad_input(ctx.x_offset(xt)[0], geo, h, wd), geo)
        acc = _fmatmul(round_shift(gq[:, :k], sw).T, cols).reshape(k, kh, kw, ci)
        gw = IntGrad(acc.astype(np.int32), gy.exp + sw, g.tensors[xt].scale)
    if want_bias:
        gb = IntGrad(gq.sum(axis=0).astype(np.int32), gy.exp)
    return gx, gw, gb


def bw_depthwise(ctx: _Ctx, op: Op, gy: Grad, k: int, want_bias: bool, want_x: bool) -> tuple[Grad | None, ...]:
    g = ctx.g
    xt, wt = op.inputs[0], op.inputs[1]
    w = g.tensors[wt]
    _, kh, kw, co = w.shape
    h, wd, ci = g.tensors[xt].shape[1:4]
    m = co // ci
    geo = conv_geometry(op.options, (h, wd), (kh, kw))
    oh, ow, sh, sw = geo["oh"], geo["ow"], geo["sh"], geo["sw"]

    def win(a: np.ndarray, i: int, j: int) -> np.ndarray:
        return a[i: i + (oh - 1) * sh + 1: sh, j: j + (ow - 1) * sw + 1: sw]

    def taps_x(gmat: np.ndarray, wmat: np.ndarray, dtype: type) -> np.ndarray:
        hp = max((oh - 1) * sh + kh, h + geo["ph"])
        wp = max((ow - 1) * sw + kw, wd + geo["pw"])
        out = np.zeros((hp, wp, co), dtype)
        for i in range(kh):
            for j in range(kw):
                win(out, i, j)[...] += gmat * wmat[0, i, j]
        out = out.reshape(hp, wp, ci, m).sum(axis=3)
        return out[geo["ph"]: geo["ph"] + h, geo["pw"]: geo["pw"] + wd][None]

    def taps_w(gmat: np.ndarray, xp: np.ndarray) -> np.ndarray:
        xr = np.repeat(xp, m, axis=2)[:, :, :k]
        out = np.zeros((1, kh, kw, k), gmat.dtype)
        for i in range(kh):
            for j in range(kw):
                out[0, i, j] = (win(xr, i, j) * gmat[:, :, :k]).sum(axis=(0, 1))
        return out

    gx = gw = gb = None
    if ctx.mode == "fp32":
        g2 = np.asarray(gy, np.float32).reshape(oh, ow, co)
        if want_x:
            gx = taps_x(g2, ctx.w_real(wt), np.float32)
        if k > 0:
            gw = taps_w(g2, pad_input(ctx.x_real(xt)[0], geo, h, wd))
        if want_bias:
            gb = g2.sum(axis=(0, 1))
        return gx, gw, gb
    assert isinstance(gy, IntGrad)
    gq = gy.q.reshape(oh, ow, co).astype(np.int64)
    if want_x:
        fan = m * -(-kh // sh) * -(-kw // sw)
        g2, kk = _scale_by_wscale(ctx, gq, wt, fan, co)
        gx = from_acc(taps_x(g2, w.data.astype(np.int64), np.int64), gy.exp - kk)
    if k > 0:
        s = _wgrad_shift(oh * ow)
        acc = taps_w(round_shift(gq, s), pad_input(ctx.x_offset(xt)[0], geo, h, wd))
        gw = IntGrad(acc.astype(np.int32), gy.exp + s, g.tensors[xt].scale)
    if want_bias:
        gb = IntGrad(gq.sum(axis=(0, 1)).astype(np.int32), gy.exp)
    return gx, gw, gb


def bw_fc(ctx: _Ctx, op: Op, gy: Grad, k: int, want_bias: bool, want_x: bool) -> tuple[Grad | None, ...]:
    g = ctx.g
    xt, wt = op.inputs[0], op.inputs[1]
    w = g.tensors[wt]
    co, kin = w.shape
    xshape = g.tensors[xt].shape
    gx = gw = gb = None
    if ctx.mode == "fp32":
        g2 = np.asarray(gy, np.float32).reshape(co)
        if want_x:
            gx = (g2 @ ctx.w_real(wt)).reshape(xshape)
        if k > 0:
            gw = np.outer(g2[:k], ctx.x_real(xt).reshape(kin)).astype(np.float32)
        if want_bias:
            gb = g2.copy()
        return gx, gw, gb
    assert isinstance(gy, IntGrad)
    gq = gy.q.reshape(co).astype(np.int64)
    if want_x:
        g2, kk = _scale_by_wscale(ctx, gq[None], wt, co, co)
        gx = from_acc(_fmatmul(g2, w.data), gy.exp - kk).reshape(xshape)
    if k > 0:
        acc = np.outer(gq[:k], ctx.x_offset(xt).reshape(kin))
        gw = IntGrad(acc.astype(np.int32), gy.exp, g.tensors[xt].scale)
    if want_bias:
        gb = IntGrad(gq.astype(np.int32), gy.exp)
    return gx, gw, gb


def bw_pool(ctx: _Ctx, op: Op, gy: Grad) -> Grad:
    g = ctx.g
    xt = op.inputs[0]
    h, wd, c = g.tensors[xt].shape[1:4]
    _, wins = pool_windows(op, h, wd)
    is_int = isinstance(gy, IntGrad)
    gv = (gy.q if is_int else np.asarray(gy)).reshape(g.tensors[op.outputs[0]].shape[1:]).astype(
        np.int64 if is_int else np.float32
    )
    out = np.zeros((h, wd, c), gv.dtype)
    if op.kind == "MAX_POOL_2D":
        x = ctx.acts[xt][0]
        cidx = np.arange(c)
        for oy, ox, ys, xs in wins:
            patch = x[ys, xs].reshape(-1, c)
            first = np.argmax(patch, axis=0)  # first maximum in row-major window order
            py, px = np.unravel_index(first, (ys.stop - ys.start, xs.stop - xs.start))
            np.add.at(out, (py + ys.start, px + xs.start, cidx), gv[oy, ox])
        return from_acc(out, gy.exp).reshape((1, h, wd, c)) if is_int else out[None]
    kh, kw = op.options["filter_h"], op.options["filter_w"]
    r = 15 - ceil_log2(-(-kh // op.options["stride_h"]) * -(-kw // op.options["stride_w"]))
    for oy, ox, ys, xs in wins:
        n = (ys.stop - ys.start) * (xs.stop - xs.start)
        if is_int:
            out[ys, xs] += gv[oy, ox] * (((1 << r) + n // 2) // n)
        else:
            out[ys, xs] += gv[oy, ox] / np.float32(n)
    return from_acc(out, gy.exp - r).reshape((1, h, wd, c)) if is_int else out[None]


def bw_mean(ctx: _Ctx, op: Op, gy: Grad) -> Grad:
    xshape = ctx.g.tensors[op.inputs[0]].shape
    axes = mean_axes(ctx.g, op)
    n = int(np.prod([xshape[a] for a in axes]))
    kshape = tuple(1 if i in axes else d for i, d in enumerate(xshape))
    if isinstance(gy, IntGrad):
        r = 14 + n.bit_length()
        acc = gy.q.reshape(kshape).astype(np.int64) * (((1 << r) + n // 2) // n)
        return from_acc(np.broadcast_to(acc, xshape).copy(), gy.exp - r)
    return np.broadcast_to(np.asarray(gy).reshape(kshape) / np.float32(n), xshape).astype(np.float32)


def bw_pad(ctx: _Ctx, op: Op, gy: Grad) -> Grad:
    p = ctx.g.tensors[op.inputs[1]].data.reshape(-1, 2).astype(int)
    xshape = ctx.g.tensors[op.inputs[0]].shape
    sl = tuple(slice(int(a), int(a) + d) for (a, _), d in zip(p, xshape, strict=True))
    if isinstance(gy, IntGrad):
        return IntGrad(gy.q.reshape(ctx.g.tensors[op.outputs[0]].shape)[sl].copy(), gy.exp)
    return np.asarray(gy).reshape(ctx.g.tensors[op.outputs[0]].shape)[sl].copy()


def _reshape(gy: Grad, shape: tuple[int, ...]) -> Grad:
    return gy.reshape(shape) if isinstance(gy, IntGrad) else np.asarray(gy).reshape(shape)


def needs_grad(graph: Graph, scheme: dict[int, dict[str, Any]]) -> set[int]:
    """Activation tensors downstream of an op being updated: gradients must reach them."""
    need: set[int] = set()
    for i, op in enumerate(graph.ops):
        if trainable(scheme, i) or any(t in need for t in op.inputs if t >= 0):
            need.update(op.outputs)
    return need


def backward(
    graph: Graph,
    acts: dict[int, np.ndarray],
    grad_out: Grad,
    scheme: dict[int, dict[str, Any]],
    mode: str = "fp32",
    start: int | None = None,
    all_inputs: bool = False,
) -> BackwardResult:
    """Backpropagate `grad_out` (gradient of tensor `start`, default the logits) through the graph."""

    start = logits_tensor(graph) if start is None else start
    ctx = _Ctx(graph, acts, mode)
    need = needs_grad(graph, scheme)
    res = BackwardResult()
    res.act[start] = grad_out
    for i in range(len(graph.ops) - 1, -1, -1):
        op = graph.ops[i]
        y = op.outputs[0]
        if y not in res.act:
            continue
        gy = apply_mask(_reshape(res.act[y], graph.tensors[y].shape), output_mask(graph, op, acts[y]))
        xt = op.inputs[0]
        want_x = all_inputs or xt in need
        gx: Grad | None = None
        if op.kind in PARAM_OPS:
            s = scheme.get(i, {})
            k = int(s.get("weight_channels", 0))
            fn = {"CONV_2D": bw_conv, "DEPTHWISE_CONV_2D": bw_depthwise, "FULLY_CONNECTED": bw_fc}[op.kind]
            gx, gw, gb = fn(ctx, op, gy, k, bool(s.get("bias")), want_x)
            if gw is not None:
                res.weight[i] = gw
            if gb is not None:
                res.bias[i] = gb
        elif not want_x and op.kind != "ADD":
            continue
        elif op.kind == "ADD":
            for t in op.inputs[:2]:
                if (all_inputs or t in need) and t not in graph.inputs:
                    res.act[t] = add_grads(res.act[t], gy) if t in res.act else gy
            continue
        elif op.kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            gx = bw_pool(ctx, op, gy)
        elif op.kind == "MEAN":
            gx = bw_mean(ctx, op, gy)
        elif op.kind == "PAD":
            gx = bw_pad(ctx, op, gy)
        elif op.kind in ("RESHAPE", "QUANTIZE", "DEQUANTIZE"):
            gx = _reshape(gy, graph.tensors[xt].shape)
        if gx is not None and want_x:
            res.act[xt] = add_grads(res.act[xt], gx) if xt in res.act else gx
    return res
