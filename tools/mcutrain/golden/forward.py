"""int8 forward pass of every op in ir.SUPPORTED_OPS with TFLite Micro's reference integer arithmetic.

`forward(graph, x)` returns every tensor value it computed (tensor id -> array), constants excluded.
Batch size 1, NHWC. Conv-like accumulations run as float64 matmuls: every partial sum is an integer
below 2^53, so the result is exact (the C engine uses int32 accumulators; the values are the same).
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, Tensor
from .fixedpoint import mbqm, quantize_multiplier, tfl_round
from .geometry import conv_geometry, out_size, pad_before
from .tflm_softmax import softmax_int8

Values = dict[int, np.ndarray]


def act_range(t: Tensor, activation: str) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for an int8 output tensor."""
    lo, hi = -128, 127
    scale = np.float32(t.scale)
    if activation in ("RELU", "RELU6"):
        lo = max(lo, t.zero_point + tfl_round(float(np.float32(0.0) / scale)))
    if activation == "RELU6":
        hi = min(hi, t.zero_point + tfl_round(float(np.float32(6.0) / scale)))
    return lo, hi


def conv_multipliers(x: Tensor, w: Tensor, y: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel (mult, shift) for input_scale * filter_scale[c] / output_scale (in double)."""
    assert w.quant is not None
    pairs = [quantize_multiplier(float(x.scale) * float(sw) / float(y.scale)) for sw in w.quant.scale]
    mult = np.array([p[0] for p in pairs], np.int64)
    shift = np.array([p[1] for p in pairs], np.int64)
    return mult, shift


def pad_input(xo: np.ndarray, g: dict[str, int], h: int, w: int) -> np.ndarray:
    """Zero-pad an offset input (H, W, C) so every window of the op lies inside."""
    hp = (g["oh"] - 1) * g["sh"] + g["kh"]
    wp = (g["ow"] - 1) * g["sw"] + g["kw"]
    out = np.zeros((max(hp, h + g["ph"]), max(wp, w + g["pw"]), xo.shape[2]), xo.dtype)
    out[g["ph"]: g["ph"] + h, g["pw"]: g["pw"] + w] = xo
    return out


def im2col(xp: np.ndarray, g: dict[str, int]) -> np.ndarray:
    """(OH*OW, KH*KW*C) patches of a padded (H, W, C) array, in (kh, kw, c) order."""
    cols = [
        xp[i: i + (g["oh"] - 1) * g["sh"] + 1: g["sh"], j: j + (g["ow"] - 1) * g["sw"] + 1: g["sw"], :]
        for i in range(g["kh"])
        for j in range(g["kw"])
    ]
    return np.concatenate(cols, axis=2).reshape(g["oh"] * g["ow"], -1)


def requant(acc: np.ndarray, mult: np.ndarray, shift: np.ndarray, y: Tensor, activation: str) -> np.ndarray:
    lo, hi = act_range(y, activation)
    return np.clip(mbqm(acc, mult, shift) + y.zero_point, lo, hi).astype(np.int8)


def _bias(graph: Graph, op: Op, n: int) -> np.ndarray:
    b = op.input(2)
    return graph.tensors[b].data.astype(np.int64) if b >= 0 else np.zeros(n, np.int64)


def conv2d(graph: Graph, op: Op, v: Values) -> np.ndarray:
    x, w, y = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    xi = v[op.inputs[0]][0].astype(np.int64) - x.zero_point
    co, kh, kw, _ = w.shape
    g = conv_geometry(op.options, xi.shape[:2], (kh, kw))
    cols = im2col(pad_input(xi, g, *xi.shape[:2]), g)
    acc = cols.astype(np.float64) @ w.data.reshape(co, -1).T.astype(np.float64)
    acc = acc.astype(np.int64) + _bias(graph, op, co)
    mult, shift = conv_multipliers(x, w, y)
    return requant(acc, mult, shift, y, op.options["activation"]).reshape(1, g["oh"], g["ow"], co)


def depthwise(graph: Graph, op: Op, v: Values) -> np.ndarray:
    x, w, y = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    xi = v[op.inputs[0]][0].astype(np.int64) - x.zero_point
    _, kh, kw, co = w.shape
    m = co // xi.shape[2]
    g = conv_geometry(op.options, xi.shape[:2], (kh, kw))
    xp = np.repeat(pad_input(xi, g, *xi.shape[:2]), m, axis=2)  # channel ic*m + j reads input ic
    acc = np.zeros((g["oh"], g["ow"], co), np.int64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[i: i + (g["oh"] - 1) * g["sh"] + 1: g["sh"], j: j + (g["ow"] - 1) * g["sw"] + 1: g["sw"]]
            acc += patch * w.data[0, i, j].astype(np.int64)
    acc += _bias(graph, op, co)
    mult, shift = conv_multipliers(x, w, y)
    return requant(acc, mult, shift, y, op.options["activation"])[None]


def fully_connected(graph: Graph, op: Op, v: Values) -> np.ndarray:
    x, w, y = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    xi = v[op.inputs[0]].reshape(-1, w.shape[1]).astype(np.int64) - x.zero_point
    acc = (xi.astype(np.float64) @ w.data.T.astype(np.float64)).astype(np.int64) + _bias(graph, op, w.shape[0])
    mult, shift = conv_multipliers(x, w, y)
    if mult.size == 1:
        mult, shift = np.repeat(mult, w.shape[0]), np.repeat(shift, w.shape[0])
    return requant(acc, mult, shift, y, op.options["activation"]).reshape(y.shape)


def add(graph: Graph, op: Op, v: Values) -> np.ndarray:
    a, b, y = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    left_shift = 20
    twice_max = 2 * max(float(a.scale), float(b.scale))
    m1, s1 = quantize_multiplier(float(a.scale) / twice_max)
    m2, s2 = quantize_multiplier(float(b.scale) / twice_max)
    mo, so = quantize_multiplier(twice_max / ((1 << left_shift) * float(y.scale)))
    xa = (v[op.inputs[0]].astype(np.int64) - a.zero_point) << left_shift
    xb = (v[op.inputs[1]].astype(np.int64) - b.zero_point) << left_shift
    total = mbqm(xa, m1, s1) + mbqm(xb, m2, s2)
    lo, hi = act_range(y, op.options["activation"])
    return np.clip(mbqm(total, mo, so) + y.zero_point, lo, hi).astype(np.int8).reshape(y.shape)


def pool_windows(op: Op, h: int, w: int) -> tuple[dict[str, int], list[tuple[int, int, slice, slice]]]:
    """Pool geometry and, per output (oy, ox), the clipped input window (TFLM's filter_x_start/end)."""
    kh, kw = op.options["filter_h"], op.options["filter_w"]
    sh, sw = op.options["stride_h"], op.options["stride_w"]
    pad = op.options["padding"]
    oh, ow = out_size(pad, h, kh, sh), out_size(pad, w, kw, sw)
    ph, pw = pad_before(pad, h, kh, sh), pad_before(pad, w, kw, sw)
    wins = []
    for oy in range(oh):
        y0 = oy * sh - ph
        for ox in range(ow):
            x0 = ox * sw - pw
            wins.append((oy, ox, slice(max(y0, 0), min(y0 + kh, h)), slice(max(x0, 0), min(x0 + kw, w))))
    return {"oh": oh, "ow": ow}, wins


def average_pool(graph: Graph, op: Op, v: Values) -> np.ndarray:
    y = graph.tensors[op.outputs[0]]
    x = v[op.inputs[0]][0].astype(np.int64)
    g, wins = pool_windows(op, x.shape[0], x.shape[1])
    out = np.zeros((g["oh"], g["ow"], x.shape[2]), np.int64)
    for oy, ox, ys, xs in wins:
        s = x[ys, xs].sum(axis=(0, 1))
        n = (ys.stop - ys.start) * (xs.stop - xs.start)
        out[oy, ox] = np.where(s > 0, (s + n // 2) // n, -((-(s - n // 2)) // n))  # C truncating division
    lo, hi = act_range(y, op.options["activation"])
    return np.clip(out, lo, hi).astype(np.int8)[None]


def max_pool(graph: Graph, op: Op, v: Values) -> np.ndarray:
    y = graph.tensors[op.outputs[0]]
    x = v[op.inputs[0]][0]
    g, wins = pool_windows(op, x.shape[0], x.shape[1])
    out = np.zeros((g["oh"], g["ow"], x.shape[2]), np.int64)
    for oy, ox, ys, xs in wins:
        out[oy, ox] = x[ys, xs].max(axis=(0, 1))
    lo, hi = act_range(y, op.options["activation"])
    return np.clip(out, lo, hi).astype(np.int8)[None]


def mean_axes(graph: Graph, op: Op) -> tuple[int, ...]:
    nd = len(graph.tensors[op.inputs[0]].shape)
    return tuple(sorted({int(a) % nd for a in graph.tensors[op.inputs[1]].data.reshape(-1)}))


def mean_multiplier(in_scale: float, out_scale: float, n: int) -> tuple[int, int]:
    """QuantizeMultiplier(in_scale / out_scale) with 1/n folded in (TFLite's QuantizedMeanOrSumExtraArgs):
    s = min(floor(log2 n), 32, 31 + shift); mult = (mult << s) // n (int64, truncating); shift -= s."""
    mult, shift = quantize_multiplier(in_scale / out_scale)
    s = min(n.bit_length() - 1, 32, 31 + shift)
    return (mult << s) // n, shift - s


def mean(graph: Graph, op: Op, v: Values) -> np.ndarray:
    """TFLM int8 MEAN (reduce_common.cc -> QuantizedMeanOrSum), for equal and different in/out quantization
    alike: MultiplyByQuantizedMultiplier(sum - n*zp_in, mult/n) + zp_out, clamped."""
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    axes = mean_axes(graph, op)
    xi = v[op.inputs[0]].astype(np.int64)
    n = int(np.prod([xi.shape[a] for a in axes]))
    mult, shift = mean_multiplier(float(x.scale), float(y.scale), n)
    out = mbqm(xi.sum(axis=axes) - n * x.zero_point, mult, shift) + y.zero_point
    return np.clip(out, -128, 127).astype(np.int8).reshape(y.shape)


def pad(graph: Graph, op: Op, v: Values) -> np.ndarray:
    y = graph.tensors[op.outputs[0]]
    p = graph.tensors[op.inputs[1]].data.reshape(-1, 2).astype(int)
    value = y.zero_point
    if op.input(2) >= 0 and graph.tensors[op.input(2)].data is not None:
        value = int(graph.tensors[op.input(2)].data.reshape(-1)[0])
    return np.pad(v[op.inputs[0]], [tuple(r) for r in p], constant_values=value).astype(np.int8)


def quantize(graph: Graph, op: Op, v: Values) -> np.ndarray:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    xv = v[op.inputs[0]]
    if x.dtype == "float32":
        q = np.vectorize(tfl_round)((xv.astype(np.float32) / np.float32(y.scale)).astype(np.float64))
        return np.clip(q + y.zero_point, -128, 127).astype(np.int8)
    mult, shift = quantize_multiplier(float(x.scale) / float(y.scale))
    return np.clip(mbqm(xv.astype(np.int64) - x.zero_point, mult, shift) + y.zero_point, -128, 127).astype(np.int8)


def dequantize(graph: Graph, op: Op, v: Values) -> np.ndarray:
    x = graph.tensors[op.inputs[0]]
    return (np.float32(x.scale) * (v[op.inputs[0]].astype(np.int32) - x.zero_point)).astype(np.float32)


def softmax(graph: Graph, op: Op, v: Values) -> np.ndarray:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    assert y.zero_point == -128 and abs(y.scale - 1 / 256) < 1e-9, "int8 softmax output must be (1/256, -128)"
    return softmax_int8(v[op.inputs[0]], x.scale, op.options.get("beta", 1.0))


def reshape(graph: Graph, op: Op, v: Values) -> np.ndarray:
    return v[op.inputs[0]].reshape(graph.tensors[op.outputs[0]].shape)


KERNELS = {
    "CONV_2D": conv2d,
    "DEPTHWISE_CONV_2D": depthwise,
    "FULLY_CONNECTED": fully_connected,
    "ADD": add,
    "AVERAGE_POOL_2D": average_pool,
    "MAX_POOL_2D": max_pool,
    "MEAN": mean,
    "PAD": pad,
    "RESHAPE": reshape,
    "SOFTMAX": softmax,
    "QUANTIZE": quantize,
    "DEQUANTIZE": dequantize,
}


def forward(graph: Graph, x: np.ndarray | Values, start_op: int = 0) -> Values:
    """Run the graph; `x` is the input array (single-input graphs) or {tensor id: array}.
    With `start_op` > 0, `x` must hold every activation the ops from `start_op` on read."""
    v: Values = dict(x) if isinstance(x, dict) else {graph.inputs[0]: np.asarray(x)}
    for tid in list(v):
        v[tid] = v[tid].reshape(graph.tensors[tid].shape)
    for op in graph.ops[start_op:]:
        v[op.outputs[0]] = KERNELS[op.kind](graph, op, v)
    return v
