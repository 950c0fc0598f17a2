"""The Cortex-M kernels (firmware/engine/ops/arm/, DSP instructions emulated on the host) against the
reference kernels, byte for byte, on shapes that reach every fast path: 1x1 pointwise products with
odd pixel/channel counts, KxK convolutions with padding, 3x3 depthwise with depth multiplier 1 and
multiples of 4 (broadcast path) and the fallbacks, fully connected with and without a filter zero
point, and multipliers above 1 (left shifts). The reference kernels are themselves checked against
TFLite Micro in tests/engine/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "engine"))

from _refs import engine_run  # noqa: E402
from _tfl_builder import ModelBuilder  # noqa: E402

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _same(buf: bytes, inputs: list[np.ndarray]) -> None:
    ref, arm = engine_run(buf, inputs), engine_run(buf, inputs, arm_ops=True)
    for t in ref:
        diff = np.flatnonzero(ref[t].ravel() != arm[t].ravel())
        assert diff.size == 0, f"tensor {t}: {diff.size} bytes differ, first at {diff[0]}"


def _out(n: int, k: int, s: int, padding: str) -> int:
    return (n + s - 1) // s if padding == "SAME" else (n - k + s) // s


@st.composite
def conv_case(draw, depthwise: bool):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    h, w = draw(st.integers(1, 11)), draw(st.integers(1, 11))
    if depthwise:
        cin = draw(st.integers(1, 13))
        dm = draw(st.sampled_from([1, 1, 1, 2, 3, 4, 8]))
        cout = cin * dm
        k = draw(st.sampled_from([3, 3, 3, 1, 2, 5]))
    else:
        cin, cout, dm = draw(st.integers(1, 37)), draw(st.integers(1, 19)), 1
        k = draw(st.sampled_from([1, 1, 1, 3, 2]))
    stride = draw(st.sampled_from([1, 1, 2, 3]))
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    if padding == "VALID" and (h < k or w < k):
        padding = "SAME"
    act = draw(st.sampled_from(["NONE", "RELU", "RELU6"]))
    si, zi, zo = draw(st.floats(0.003, 0.2)), draw(st.integers(-128, 127)), draw(st.integers(-128, 127))
    wscale = rng.uniform(0.002, 0.05, cout)
    taps = k * k * (1 if depthwise else cin)
    # factor < 1 and > 1: the output scale below the accumulator scale gives left shifts
    so = float(si * float(np.mean(wscale)) * 40.0 * np.sqrt(taps) * draw(st.sampled_from([0.3, 1.0, 3.0, 1e-3])))
    oh, ow = _out(h, k, stride, padding), _out(w, k, stride, padding)
    mb = ModelBuilder()
    x = mb.tensor([1, h, w, cin], scale=si, zero_point=zi)
    wshape = [1, k, k, cout] if depthwise else [cout, k, k, cin]
    wt = mb.tensor(
        wshape, scale=wscale, zero_point=[0] * cout, data=rng.integers(-127, 128, wshape), axis=3 if depthwise else 0
    )
    b = mb.tensor([cout], "int32", scale=si * wscale, zero_point=[0] * cout, data=rng.integers(-30000, 30000, cout))
    y = mb.tensor([1, oh, ow, cout], scale=so, zero_point=zo)
    mb.conv(x, wt, b, y, stride, padding, act, depthwise=depthwise, dm=dm)
    return mb.build([x], [y]), [rng.integers(-128, 128, (1, h, w, cin)).astype(np.int8)]


@SETTINGS
@given(conv_case(False))
def test_conv2d_arm_equals_reference(case) -> None:
    _same(*case)


@SETTINGS
@given(conv_case(True))
def test_depthwise_arm_equals_reference(case) -> None:
    _same(*case)


@SETTINGS
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 3),
    st.integers(1, 70),
    st.integers(1, 9),
    st.integers(-128, 127),
    st.sampled_from(["NONE", "RELU6"]),
)
def test_fully_connected_arm_equals_reference(seed, batches, depth, units, zi, act) -> None:
    rng = np.random.default_rng(seed)
    ws = rng.uniform(0.002, 0.05, units)
    si = 0.05
    so = si * float(ws.mean()) * 30.0 * np.sqrt(depth) * rng.uniform(0.3, 3.0)
    mb = ModelBuilder()
    x = mb.tensor([batches, depth], scale=si, zero_point=zi)
    w = mb.tensor([units, depth], scale=ws, zero_point=[0] * units, data=rng.integers(-127, 128, (units, depth)))
    b = mb.tensor([units], "int32", scale=si * ws, zero_point=[0] * units, data=rng.integers(-2000, 2000, units))
    y = mb.tensor([batches, units], scale=so, zero_point=int(rng.integers(-128, 128)))
    mb.fc(x, w, b, y, act)
    _same(mb.build([x], [y]), [rng.integers(-128, 128, (batches, depth)).astype(np.int8)])


@pytest.mark.parametrize(
    ("source", "form"),
    [("requant_check.c", "mct_rq_apply"), ("requant_doubled_check.c", "mct_rqd_apply (SMMLAR, offset folded in)")],
)
def test_requantization_identity(tmp_path: Path, source: str, form: str) -> None:
    """Each requantisation form of ops/arm equals quant.h's mct_mbqm on edge and random values of every shift."""
    exe = tmp_path / source.removesuffix(".c")
    src = Path(__file__).with_name(source)
    cmd = ["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'firmware' / 'engine'}", str(src),
           "-o", str(exe)]  # fmt: skip
    subprocess.run(cmd, check=True)
    r = subprocess.run([str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, f"{form}: {r.stdout}"

if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
