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
