"""The golden forward equals TFLite Micro's reference kernels byte for byte."""

from __future__ import annotations

import time

import numpy as np
import pytest
from golden_refs import PD, tflm_intermediates

from mcutrain.golden.fixedpoint import XorShift32, mbqm, quantize_multiplier, rdbpot, srdhm
from mcutrain.golden.forward import forward

EXPECTED = {"person": [-113, 113], "no_person": [57, -57], "zeros": [72, -72]}


@pytest.mark.parametrize("name", ["person", "no_person", "zeros", "random"])
def test_person_detection_every_intermediate(person_graph, person_inputs, name) -> None:
    g = person_graph
    x = person_inputs[name]
    dt = 1e9
    for _ in range(3):  # best of 3: the machine may be busy
        t0 = time.perf_counter()
        ours = forward(g, x)
        dt = min(dt, time.perf_counter() - t0)
    ref = tflm_intermediates(PD / "person_detect.tflite", g, x)
    for i, op in enumerate(g.ops):
        t = op.outputs[0]
        assert ours[t].dtype == ref[t].dtype and ours[t].shape == ref[t].shape, (i, op.kind)
        diff = int(np.sum(ours[t] != ref[t]))
        assert diff == 0, f"op {i} {op.kind}: {diff} elements differ from TFLite Micro"
    if name in EXPECTED:
        assert ours[g.outputs[0]].reshape(-1).tolist() == EXPECTED[name]
    print(f"\n{name}: forward {dt * 1000:.0f} ms, output {ours[g.outputs[0]].reshape(-1).tolist()}")
    assert dt < 1.0


def test_fixedpoint_primitives() -> None:
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.75) == (3 << 29, 0)
    m, s = quantize_multiplier(0.0123)
    assert abs(m * 2.0 ** (s - 31) - 0.0123) < 1e-10
    # SaturatingRoundingDoublingHighMul: round(a*b / 2^31), half away from zero; INT32_MIN^2 saturates.
    assert int(srdhm(1 << 30, 1 << 30)) == 1 << 29
    assert int(srdhm(-(2**31), -(2**31))) == 2**31 - 1
    # gemmlowp's nudge is 1 - 2^30 for negative products: -1.5 rounds to -1, +1.5 to 2.
    assert int(srdhm(3, 1 << 30)) == 2 and int(srdhm(-3, 1 << 30)) == -1
    assert [int(rdbpot(v, 1)) for v in (5, -5, 4, -4, 3, -3)] == [3, -3, 2, -2, 2, -2]
    assert int(mbqm(1000, 1 << 30, 0)) == 500
    # xorshift32 (13, 17, 5) from seed 1 (first value checked by hand: 1 -> 8193 -> 8193 -> 270369).
    r = XorShift32(1)
    assert [r.next() for _ in range(3)] == [270369, 67634689, 2647435461]
