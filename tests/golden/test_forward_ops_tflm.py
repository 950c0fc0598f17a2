"""Property tests: the golden forward (mcutrain.golden.forward) against TFLite Micro, byte for byte.

Random single-op and small multi-op int8 models are written as real .tflite files (tests/engine/_tfl_builder.py),
imported with our parser, and run by the golden and by the tflite-micro pip interpreter; every op output must
be identical."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tflite_micro.python.tflite_micro import runtime

from mcutrain.golden.forward import forward
from mcutrain.tflite_import import parse_tflite

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from _tfl_builder import ModelBuilder, s  # noqa: E402
from _tfl_samples import random_conv  # noqa: E402

N = 60  # examples per test (MEAN: 3x); the whole file runs in about 5 s
SETTINGS = settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ACTS = st.sampled_from(["NONE", "RELU", "RELU6"])


@dataclass
class Case:
    """A drawn model; hypothesis prints `desc` (what was drawn), not the flatbuffer bytes."""

    buf: bytes
    inputs: list[np.ndarray]
    desc: str

    def __repr__(self) -> str:
        return self.desc


def tflm_outputs(buf: bytes, inputs: list[np.ndarray], tids: list[int]) -> dict[int, np.ndarray]:
    it = runtime.Interpreter.from_bytes(buf, arena_size=4 << 20,
                                        intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    for i, x in enumerate(inputs):
        it.set_input(x, i)
    it.invoke()
    return {t: np.asarray(it.GetTensor(t, 0)["tensor_data"]) for t in tids}


def check(buf: bytes, inputs: list[np.ndarray]) -> None:
    g = parse_tflite(buf, "test.tflite")
    ours = forward(g, dict(zip(g.inputs, inputs, strict=True)))
    tids = [op.outputs[0] for op in g.ops]
    ref = tflm_outputs(buf, inputs, tids)
    for i, (op, t) in enumerate(zip(g.ops, tids, strict=True)):
        got, want = ours[t], ref[t].reshape(ours[t].shape)
        assert got.dtype == want.dtype, (i, op.kind, got.dtype, want.dtype)
        bad = np.flatnonzero(got.ravel() != want.ravel())
        assert bad.size == 0, (f"op {i} {op.kind}: {bad.size}/{got.size} differ, first at {bad[0]}: "
                               f"golden {got.ravel()[bad[:8]]} tflm {want.ravel()[bad[:8]]}")


def out_size(n: int, k: int, stride: int, padding: str) -> int:
    return (n + stride - 1) // stride if padding == "SAME" else (n - k + stride) // stride


def rand_x(rng: np.random.Generator, shape: list[int] | tuple[int, ...]) -> np.ndarray:
    return rng.integers(-128, 128, shape).astype(np.int8)


@st.composite
def quant(draw: st.DrawFn, lo: float = 0.003, hi: float = 0.2) -> tuple[float, int]:
    return draw(st.floats(lo, hi)), draw(st.integers(-128, 127))


@st.composite
def conv_case(draw: st.DrawFn, depthwise: bool) -> Case:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    h, w, cin = draw(st.integers(1, 9)), draw(st.integers(1, 9)), draw(st.integers(1, 6))
    dm = draw(st.integers(1, 3)) if depthwise else 1
    cout = cin * dm if depthwise else draw(st.integers(1, 6))
    k = draw(st.sampled_from([1, 2, 3]))
    stride = draw(st.integers(1, 2))
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    if padding == "VALID" and min(h, w) < k:
        padding = "SAME"
    si, zi = draw(quant())
    ws = rng.uniform(0.002, 0.05, cout)
    so = si * float(ws.mean()) * 40.0 * np.sqrt(k * k * (1 if depthwise else cin)) * draw(st.floats(0.2, 3.0))
    oh, ow = out_size(h, k, stride, padding), out_size(w, k, stride, padding)
    mb = ModelBuilder()
    x = mb.tensor([1, h, w, cin], scale=si, zero_point=zi)
    wshape = [1, k, k, cout] if depthwise else [cout, k, k, cin]
    wt = mb.tensor(wshape, scale=ws, zero_point=[0] * cout, data=rng.integers(-127, 128, wshape),
                   axis=3 if depthwise else 0)
    b = mb.tensor([cout], "int32", scale=si * ws, zero_point=[0] * cout, data=rng.integers(-3000, 3000, cout))
    y = mb.tensor([1, oh, ow, cout], scale=so, zero_point=draw(st.integers(-128, 127)))
    mb.conv(x, wt, b, y, stride, padding, draw(ACTS), depthwise=depthwise, dm=dm)
    desc = f"conv(dw={depthwise}, hwc={h, w, cin}, cout={cout}, k={k}, stride={stride}, {padding})"
    return Case(mb.build([x], [y]), [rand_x(rng, (1, h, w, cin))], desc)


@SETTINGS
@given(conv_case(False))
def test_conv2d(case: Case) -> None:
    check(case.buf, case.inputs)


@SETTINGS
@given(conv_case(True))
def test_depthwise_conv2d(case: Case) -> None:
    check(case.buf, case.inputs)


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.integers(1, 40), st.integers(1, 12), quant(),
       st.integers(-128, 127), ACTS, st.booleans())
def test_fully_connected(seed: int, batches: int, depth: int, units: int, qi: tuple[float, int], zo: int,
                         act: str, per_channel: bool) -> None:
    rng = np.random.default_rng(seed)
    ws = rng.uniform(0.002, 0.05, units if per_channel else 1)
    so = qi[0] * float(ws.mean()) * 30.0 * np.sqrt(depth) * rng.uniform(0.3, 3.0)
    mb = ModelBuilder()
    x = mb.tensor([batches, depth], scale=qi[0], zero_point=qi[1])
    w = mb.tensor([units, depth], scale=ws, zero_point=[0] * ws.size, data=rng.integers(-127, 128, (units, depth)))
    b = mb.tensor([units], "int32", scale=qi[0] * np.resize(ws, units), zero_point=[0] * units,
                  data=rng.integers(-2000, 2000, units))
    y = mb.tensor([batches, units], scale=so, zero_point=zo)
    mb.fc(x, w, b, y, act)
    check(mb.build([x], [y]), [rand_x(rng, (batches, depth))])


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 6), min_size=1, max_size=4), quant(), quant(), quant(),
       ACTS, st.booleans())
def test_add(seed: int, shape: list[int], q1: tuple[float, int], q2: tuple[float, int], qo: tuple[float, int],
             act: str, same: bool) -> None:
    rng = np.random.default_rng(seed)
    if same:  # a residual ADD whose operands share their quantization
        q2 = q1
    mb = ModelBuilder()
    a = mb.tensor(shape, scale=q1[0], zero_point=q1[1])
    b = mb.tensor(shape, scale=q2[0], zero_point=q2[1])
    y = mb.tensor(shape, scale=qo[0], zero_point=qo[1])
    mb.add(a, b, y, act)
    check(mb.build([a, b], [y]), [rand_x(rng, shape), rand_x(rng, shape)])


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.sampled_from(["avg", "max"]), st.integers(1, 9), st.integers(1, 9),
       st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.sampled_from(["SAME", "VALID"]), quant(), ACTS)
def test_pool(seed: int, kind: str, h: int, w: int, c: int, filt: int, stride: int, padding: str,
              q: tuple[float, int], act: str) -> None:
    rng = np.random.default_rng(seed)
    if padding == "VALID" and min(h, w) < filt:
        padding = "SAME"
    mb = ModelBuilder()
    x = mb.tensor([1, h, w, c], scale=q[0], zero_point=q[1])
    y = mb.tensor([1, out_size(h, filt, stride, padding), out_size(w, filt, stride, padding), c], scale=q[0],
                  zero_point=q[1])
    mb.pool(x, y, kind, filt, stride, padding, act)
    check(mb.build([x], [y]), [rand_x(rng, (1, h, w, c))])


@st.composite
def mean_case(draw: st.DrawFn) -> Case:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = draw(st.lists(st.integers(1, 7), min_size=1, max_size=4))
    r = len(shape)
    axes = draw(st.lists(st.integers(-r, r - 1), min_size=1, max_size=r + 1))  # may repeat an axis
    keep = draw(st.booleans())
    qi = draw(quant())
    qo = qi if draw(st.booleans()) else draw(quant())
    red = {a % r for a in axes}
    out = [1 if i in red else d for i, d in enumerate(shape)] if keep else [
        d for i, d in enumerate(shape) if i not in red]
    mb = ModelBuilder()
    x = mb.tensor(shape, scale=qi[0], zero_point=qi[1])
    ax = mb.tensor([len(axes)], "int32", data=np.array(axes))
    y = mb.tensor(out or [1], scale=qo[0], zero_point=qo[1])
    mb.mean(x, ax, y, keep)
    xv = rand_x(rng, shape)
    return Case(mb.build([x], [y]), [xv], f"mean(shape={shape}, axes={axes}, keep={keep}, in={qi}, out={qo}, "
                                         f"x={xv.ravel()[:8].tolist()})")


@settings(max_examples=3 * N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mean_case())
def test_mean(case: Case) -> None:
    check(case.buf, case.inputs)


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.sampled_from([(1, 2), (2, 1), (1,), (2,), (3,), (1, 2, 3), (0, 1, 2, 3)]),
       st.booleans(), quant(), st.integers(1, 12), st.integers(1, 12))
def test_mean_same_quant_nhwc(seed: int, axes: tuple[int, ...], keep: bool, q: tuple[float, int], h: int,
                              w: int) -> None:
    """What converters emit for global average pooling: MEAN over H, W with the input's quantization,
    over windows large enough that rounding and truncating sum/count differ often."""
    rng = np.random.default_rng(seed)
    shape = [1, h, w, 8]
    out = [1 if i in axes else d for i, d in enumerate(shape)] if keep else [
        d for i, d in enumerate(shape) if i not in axes]
    mb = ModelBuilder()
    x = mb.tensor(shape, scale=q[0], zero_point=q[1])
    ax = mb.tensor([len(axes)], "int32", data=np.array(axes))
    y = mb.tensor(out or [1], scale=q[0], zero_point=q[1])
    mb.mean(x, ax, y, keep)
    check(mb.build([x], [y]), [rand_x(rng, shape)])


def test_mean_known_values() -> None:
    """Hand-checked: same quantization, zero point 0, sum -7 over 4 elements. Truncating -7/4 gives -1;
    TFLite Micro gives round(-1.75) = -2 (1/4 folded into the multiplier, rounding half away from zero)."""
    mb = ModelBuilder()
    x = mb.tensor([1, 2, 2, 1], scale=0.1, zero_point=0)
    ax = mb.tensor([2], "int32", data=np.array([1, 2]))
    y = mb.tensor([1, 1], scale=0.1, zero_point=0)
    mb.mean(x, ax, y, False)
    buf = mb.build([x], [y])
    xv = np.array([-1, -2, -2, -2], np.int8).reshape(1, 2, 2, 1)
    check(buf, [xv])
    g = parse_tflite(buf)
    assert forward(g, xv)[g.outputs[0]].tolist() == [[-2]]


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 5), min_size=1, max_size=4), st.data(), quant())
def test_pad(seed: int, shape: list[int], data: st.DataObject, q: tuple[float, int]) -> None:
    rng = np.random.default_rng(seed)
    pads = [[data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))] for _ in shape]
    mb = ModelBuilder()
    x = mb.tensor(shape, scale=q[0], zero_point=q[1])
    p = mb.tensor([len(shape), 2], "int32", data=np.array(pads))
    y = mb.tensor([d + a + b for d, (a, b) in zip(shape, pads, strict=True)], scale=q[0], zero_point=q[1])
    mb.pad(x, p, y)
    check(mb.build([x], [y]), [rand_x(rng, shape)])


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 40), quant(0.01, 0.5),
       st.sampled_from([1.0, 0.5, 2.0]))
def test_softmax(seed: int, rows: int, depth: int, qi: tuple[float, int], beta: float) -> None:
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    x = mb.tensor([rows, depth], scale=qi[0], zero_point=qi[1])
    y = mb.tensor([rows, depth], scale=1.0 / 256, zero_point=-128)
    mb.softmax(x, y, beta)
    check(mb.build([x], [y]), [rand_x(rng, (rows, depth))])


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 6), min_size=1, max_size=4), quant(), quant(),
       st.booleans())
def test_quantize_dequantize(seed: int, shape: list[int], qi: tuple[float, int], qo: tuple[float, int],
                             from_float: bool) -> None:
    """QUANTIZE float32 -> int8 or int8 -> int8 (requantize), then DEQUANTIZE back to float32."""
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    if from_float:
        x = mb.tensor(shape, "float32")
        xv = (rng.standard_normal(shape) * 128 * qo[0]).astype(np.float32)
    else:
        x = mb.tensor(shape, scale=qi[0], zero_point=qi[1])
        xv = rand_x(rng, shape)
    y = mb.tensor(shape, scale=qo[0], zero_point=qo[1])
    z = mb.tensor(shape, "float32")
    mb.op(s.BuiltinOperator.QUANTIZE, [x], [y])
    mb.op(s.BuiltinOperator.DEQUANTIZE, [y], [z])
    check(mb.build([x], [z]), [xv])


@st.composite
def chain_case(draw: st.DrawFn) -> Case:
    """conv+relu6 -> depthwise+relu6 -> conv -> ADD(residual) -> PAD -> MAX_POOL -> MEAN (same quantization
    as its input, as converters emit) or AVERAGE_POOL -> FC -> SOFTMAX: the training toy's op sequence."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    h, w, cin, c = (draw(st.integers(2, 8)), draw(st.integers(2, 8)), draw(st.integers(1, 4)),
                    draw(st.integers(1, 8)))
    units = draw(st.integers(2, 6))
    si, zi = draw(quant())
    mb = ModelBuilder()
    x = mb.tensor([1, h, w, cin], scale=si, zero_point=zi)

    y1, s1 = random_conv(mb, rng, x, si, cin, c, 1, False, "RELU6", h, w)
    y2, s2 = random_conv(mb, rng, y1, s1, c, c, 3, True, "RELU6", h, w)
    y3, s3 = random_conv(mb, rng, y2, s2, c, c, 1, False, "NONE", h, w)
    sa = max(s1, s3) * 1.5
    ya = mb.tensor([1, h, w, c], scale=sa, zero_point=-10)
    mb.add(y1, y3, ya)
    pads = mb.tensor([4, 2], "int32", data=np.array([[0, 0], [1, 1], [1, 1], [0, 0]]))
    yp = mb.tensor([1, h + 2, w + 2, c], scale=sa, zero_point=-10)
    mb.pad(ya, pads, yp)
    ph, pw = out_size(h + 2, 2, 2, "VALID"), out_size(w + 2, 2, 2, "VALID")
    ym = mb.tensor([1, ph, pw, c], scale=sa, zero_point=-10)
    mb.pool(yp, ym, "max", 2, 2, "VALID")
    yg = mb.tensor([1, c], scale=sa, zero_point=-10)
    if ph == pw and draw(st.booleans()):
        yq = mb.tensor([1, 1, 1, c], scale=sa, zero_point=-10)
        mb.pool(ym, yq, "avg", ph, 1, "VALID")
        mb.reshape(yq, mb.tensor([2], "int32", data=np.array([1, c])), yg, [1, c])
    else:
        mb.mean(ym, mb.tensor([2], "int32", data=np.array([1, 2])), yg, False)
    ws = rng.uniform(0.005, 0.05, 1)
    wf = mb.tensor([units, c], scale=ws, zero_point=[0], data=rng.integers(-127, 128, (units, c)))
    bf = mb.tensor([units], "int32", scale=sa * ws, zero_point=[0], data=rng.integers(-500, 500, units))
    yf = mb.tensor([1, units], scale=sa * float(ws[0]) * 30 * np.sqrt(c), zero_point=3)
    mb.fc(yg, wf, bf, yf)
    ys = mb.tensor([1, units], scale=1 / 256, zero_point=-128)
    mb.softmax(yf, ys)
    return Case(mb.build([x], [ys]), [rand_x(rng, (1, h, w, cin))], f"chain(hwc={h, w, cin}, c={c}, units={units})")


@SETTINGS
@given(chain_case())
def test_multi_op_chain(case: Case) -> None:
    check(case.buf, case.inputs)
