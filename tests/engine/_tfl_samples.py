"""Small models written with the test builder, shared by the loader and reliability tests."""

from __future__ import annotations

import numpy as np
from _tfl_builder import ModelBuilder


def conv_pool_softmax() -> bytes:
    """CONV_2D (per-channel, RELU6) -> MAX_POOL_2D -> RESHAPE -> SOFTMAX."""
    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.tensor([1, 5, 5, 2], scale=0.05, zero_point=1)
    w = mb.tensor([3, 3, 3, 2], scale=[0.01, 0.02, 0.015], zero_point=[0] * 3,
                  data=rng.integers(-127, 128, (3, 3, 3, 2)))
    b = mb.tensor([3], "int32", scale=[0.0005, 0.001, 0.00075], zero_point=[0] * 3, data=[100, -200, 300])
    y = mb.tensor([1, 3, 3, 3], scale=0.1, zero_point=-3)
    mb.conv(x, w, b, y, 2, "SAME", "RELU6")
    y2 = mb.tensor([1, 1, 1, 3], scale=0.1, zero_point=-3)
    mb.pool(y, y2, "max", 3, 1, "VALID")
    shp = mb.tensor([2], "int32", data=np.array([1, 3]))
    y3 = mb.tensor([1, 3], scale=0.1, zero_point=-3)
    mb.reshape(y2, shp, y3, [1, 3])
    y4 = mb.tensor([1, 3], scale=1 / 256, zero_point=-128)
    mb.softmax(y3, y4)
    return mb.build([x], [y4])


def random_conv(mb: ModelBuilder, rng: np.random.Generator, src: int, s_in: float, cin: int, cout: int, k: int,
                depthwise: bool, act: str, h: int, w: int) -> tuple[int, float]:
    """One SAME, stride-1 CONV_2D or DEPTHWISE_CONV_2D (multiplier 1) with random per-channel int8 weights and
    int32 bias, and an output scale that keeps the accumulator's spread inside int8. Returns (output, scale)."""
    ws = rng.uniform(0.005, 0.05, cout)
    wshape = [1, k, k, cout] if depthwise else [cout, k, k, cin]
    wt = mb.tensor(wshape, scale=ws, zero_point=[0] * cout, data=rng.integers(-127, 128, wshape),
                   axis=3 if depthwise else 0)
    b = mb.tensor([cout], "int32", scale=s_in * ws, zero_point=[0] * cout, data=rng.integers(-500, 500, cout))
    so = s_in * float(ws.mean()) * 30 * np.sqrt(k * k * (1 if depthwise else cin))
    y = mb.tensor([1, h, w, cout], scale=so, zero_point=int(rng.integers(-20, 20)))
    mb.conv(src, wt, b, y, 1, "SAME", act, depthwise=depthwise, dm=1)
    return y, so
