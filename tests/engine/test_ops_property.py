"""Property tests: random single-op and small multi-op int8 models, written as real .tflite files,
run by TFLite Micro (the reference) and by our engine; every op output must match byte for byte."""

from __future__ import annotations

import numpy as np
from _refs import compare, engine_run
from _tfl_builder import ModelBuilder
from _tfl_samples import random_conv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

N = 100  # examples per op; the whole file stays well under 60 s
SETTINGS = settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _out_size(n: int, k: int, stride: int, padding: str) -> int:
    return (n + stride - 1) // stride if padding == "SAME" else (n - k + stride) // stride


def _check(buf: bytes, inputs: list[np.ndarray]) -> None:
    ours, ref = compare(buf, inputs)
    for tid, got in ours.items():
        want = ref[tid].reshape(got.shape)
        assert np.array_equal(got, want), f"tensor {tid}:\nours {got.ravel()[:16]}\nref  {want.ravel()[:16]}"


def _check_arm(buf: bytes, inputs: list[np.ndarray]) -> None:
    """The Cortex-M kernels (ops/arm/, DSP instructions emulated on the host) give the same bytes."""
    ref, arm = engine_run(buf, inputs), engine_run(buf, inputs, arm_ops=True)
    for t in ref:
        assert np.array_equal(ref[t], arm[t]), f"tensor {t}:\nref {ref[t].ravel()[:16]}\narm {arm[t].ravel()[:16]}"


@st.composite
def quant(draw, lo=0.003, hi=0.2):
    return draw(st.floats(lo, hi)), draw(st.integers(-128, 127))


@st.composite
def conv_case(draw, depthwise: bool):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    cin = draw(st.integers(1, 6))
    dm = draw(st.integers(1, 3)) if depthwise else 1
    cout = cin * dm if depthwise else draw(st.integers(1, 6))
    k = draw(st.sampled_from([1, 2, 3]))
    kh, kw = k, draw(st.sampled_from([k, 1, 3]))
    stride = draw(st.integers(1, 2))
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    if padding == "VALID" and (h < kh or w < kw):
        padding = "SAME"
    act = draw(st.sampled_from(["NONE", "RELU", "RELU6"]))
    (si, zi), zo = draw(quant()), draw(st.integers(-128, 127))
    wscale = rng.uniform(0.002, 0.05, cout)
    acc_scale = si * float(np.mean(wscale)) * 40.0 * np.sqrt(kh * kw * (1 if depthwise else cin))
    so = float(acc_scale * draw(st.floats(0.2, 3.0)))
    oh, ow = _out_size(h, kh, stride, padding), _out_size(w, kw, stride, padding)
    mb = ModelBuilder()
    x = mb.tensor([1, h, w, cin], scale=si, zero_point=zi)
    wshape = [1, kh, kw, cout] if depthwise else [cout, kh, kw, cin]
    wt = mb.tensor(wshape, scale=wscale, zero_point=[0] * cout, data=rng.integers(-127, 128, wshape),
                   axis=3 if depthwise else 0)
    b = -1
    if draw(st.booleans()) or True:
        b = mb.tensor([cout], "int32", scale=si * wscale, zero_point=[0] * cout,
                      data=rng.integers(-3000, 3000, cout))
    y = mb.tensor([1, oh, ow, cout], scale=so, zero_point=zo)
    mb.conv(x, wt, b, y, stride, padding, act, depthwise=depthwise, dm=dm)
    return mb.build([x], [y]), [rng.integers(-128, 128, (1, h, w, cin)).astype(np.int8)]


@SETTINGS
@given(conv_case(False))
def test_conv2d(case) -> None:
    _check(*case)
    # the Cortex-M conv kernel (DSP instructions emulated on the host) gives the same bytes
    ref, arm = engine_run(*case), engine_run(*case, arm_ops=True)
    assert all(np.array_equal(ref[t], arm[t]) for t in ref)


@SETTINGS
@given(conv_case(True))
def test_depthwise_conv2d(case) -> None:
    _check(*case)
    _check_arm(*case)


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.integers(1, 40), st.integers(1, 12), quant(),
       st.integers(-128, 127), st.sampled_from(["NONE", "RELU", "RELU6"]), st.booleans())
def test_fully_connected(seed, batches, depth, units, qi, zo, act, per_channel) -> None:
    rng = np.random.default_rng(seed)
    si, zi = qi
    ws = rng.uniform(0.002, 0.05, units) if per_channel else np.array([rng.uniform(0.002, 0.05)])
    so = si * float(ws.mean()) * 30.0 * np.sqrt(depth) * rng.uniform(0.3, 3.0)
    mb = ModelBuilder()
    x = mb.tensor([batches, depth], scale=si, zero_point=zi)
    w = mb.tensor([units, depth], scale=ws, zero_point=[0] * ws.size, data=rng.integers(-127, 128, (units, depth)))
    b = mb.tensor([units], "int32", scale=si * np.resize(ws, units), zero_point=[0] * units,
                  data=rng.integers(-2000, 2000, units))
    y = mb.tensor([batches, units], scale=so, zero_point=zo)
    mb.fc(x, w, b, y, act)
    case = (mb.build([x], [y]), [rng.integers(-128, 128, (batches, depth)).astype(np.int8)])
    _check(*case)
    _check_arm(*case)


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 6), min_size=1, max_size=4), quant(), quant(), quant(),
       st.sampled_from(["NONE", "RELU", "RELU6"]))
def test_add(seed, shape, q1, q2, qo, act) -> None:
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    a = mb.tensor(shape, scale=q1[0], zero_point=q1[1])
    b = mb.tensor(shape, scale=q2[0], zero_point=q2[1])
    y = mb.tensor(shape, scale=qo[0], zero_point=qo[1])
    mb.add(a, b, y, act)
    xs = [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(2)]
    _check(mb.build([a, b], [y]), xs)


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.sampled_from(["avg", "max"]), st.integers(1, 9), st.integers(1, 9),
       st.integers(1, 5), st.integers(1, 3), st.integers(1, 2), st.sampled_from(["SAME", "VALID"]), quant(),
       st.sampled_from(["NONE", "RELU", "RELU6"]))
def test_pool(seed, kind, h, w, c, filt, stride, padding, q, act) -> None:
    rng = np.random.default_rng(seed)
    if padding == "VALID" and (h < filt or w < filt):
        padding = "SAME"
    oh, ow = _out_size(h, filt, stride, padding), _out_size(w, filt, stride, padding)
    mb = ModelBuilder()
    x = mb.tensor([1, h, w, c], scale=q[0], zero_point=q[1])
    y = mb.tensor([1, oh, ow, c], scale=q[0], zero_point=q[1])
    mb.pool(x, y, kind, filt, stride, padding, act)
    _check(mb.build([x], [y]), [rng.integers(-128, 128, (1, h, w, c)).astype(np.int8)])


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 6), min_size=4, max_size=4),
       st.sampled_from([[1, 2], [2, 1], [1], [2], [3], [1, 2, 3], [0, 1, 2, 3], [-1]]), st.booleans(), quant(),
       quant(), st.booleans())
def test_mean(seed, shape, axes, keep, qi, qo, same_quant) -> None:
    rng = np.random.default_rng(seed)
    if same_quant:
        qo = qi
    red = {a % 4 for a in axes}
    out_shape = [1 if i in red else d for i, d in enumerate(shape)] if keep else [
        d for i, d in enumerate(shape) if i not in red]
    mb = ModelBuilder()
    x = mb.tensor(shape, scale=qi[0], zero_point=qi[1])
    ax = mb.tensor([len(axes)], "int32", data=np.array(axes))
    y = mb.tensor(out_shape or [1], scale=qo[0], zero_point=qo[1])
    mb.mean(x, ax, y, keep)
    _check(mb.build([x], [y]), [rng.integers(-128, 128, shape).astype(np.int8)])


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 5), min_size=1, max_size=4), st.data(), quant())
def test_pad(seed, shape, data, q) -> None:
    rng = np.random.default_rng(seed)
    pads = [[data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))] for _ in shape]
    mb = ModelBuilder()
    x = mb.tensor(shape, scale=q[0], zero_point=q[1])
    p = mb.tensor([len(shape), 2], "int32", data=np.array(pads))
    y = mb.tensor([d + a + b for d, (a, b) in zip(shape, pads, strict=True)], scale=q[0], zero_point=q[1])
    mb.pad(x, p, y)
    _check(mb.build([x], [y]), [rng.integers(-128, 128, shape).astype(np.int8)])


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 40), quant(0.01, 0.5),
       st.sampled_from([1.0, 1.0, 0.5, 2.0]))
def test_softmax(seed, rows, depth, qi, beta) -> None:
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    x = mb.tensor([rows, depth], scale=qi[0], zero_point=qi[1])
    y = mb.tensor([rows, depth], scale=1.0 / 256, zero_point=-128)
    mb.softmax(x, y, beta)
    _check(mb.build([x], [y]), [rng.integers(-128, 128, (rows, depth)).astype(np.int8)])


@st.composite
def chain_case(draw):
    """conv -> depthwise -> add(conv, dw) -> pool -> reshape -> fc -> softmax (a tiny residual net)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    h, w, cin, c = draw(st.integers(2, 8)), draw(st.integers(2, 8)), draw(st.integers(1, 4)), draw(st.integers(1, 6))
    units = draw(st.integers(2, 6))
    si, zi = draw(quant())
    mb = ModelBuilder()
    x = mb.tensor([1, h, w, cin], scale=si, zero_point=zi)

    y1, s1 = random_conv(mb, rng, x, si, cin, c, draw(st.sampled_from([1, 3])), False, "RELU6", h, w)
    y2, s2 = random_conv(mb, rng, y1, s1, c, c, 3, True, "RELU", h, w)
    sa = max(s1, s2) * 1.5
    ya = mb.tensor([1, h, w, c], scale=sa, zero_point=-10)
    mb.add(y1, y2, ya)
    yp = mb.tensor([1, 1, 1, c], scale=sa, zero_point=-10)
    if h == w:  # global average pool as a square VALID window
        mb.pool(ya, yp, "avg", h, 1, "VALID")
    else:  # otherwise MEAN over H and W
        ax = mb.tensor([2], "int32", data=np.array([1, 2]))
        mb.mean(ya, ax, yp, True)
    shp = mb.tensor([2], "int32", data=np.array([1, c]))
    yr = mb.tensor([1, c], scale=sa, zero_point=-10)
    mb.reshape(yp, shp, yr, [1, c])
    ws = rng.uniform(0.005, 0.05, 1)
    wf = mb.tensor([units, c], scale=ws, zero_point=[0], data=rng.integers(-127, 128, (units, c)))
    bf = mb.tensor([units], "int32", scale=sa * ws, zero_point=[0], data=rng.integers(-500, 500, units))
    sf = sa * float(ws[0]) * 30 * np.sqrt(c)
    yf = mb.tensor([1, units], scale=sf, zero_point=3)
    mb.fc(yr, wf, bf, yf)
    ys = mb.tensor([1, units], scale=1 / 256, zero_point=-128)
    mb.softmax(yf, ys)
    return mb.build([x], [ys]), [rng.integers(-128, 128, (1, h, w, cin)).astype(np.int8)]


@SETTINGS
@given(chain_case())
def test_multi_op_chain(case) -> None:
    _check(*case)
