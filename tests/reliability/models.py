"""Real `.tflite` files to attack: TFLite Micro's person-detection model (shared fixture) and small
models written with the test builder (tests/engine/_tfl_builder.py, imported, not copied)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mcutrain.paths import shared_data

_ENGINE_TESTS = Path(__file__).resolve().parents[1] / "engine"
if str(_ENGINE_TESTS) not in sys.path:
    sys.path.insert(0, str(_ENGINE_TESTS))

from _tfl_builder import ModelBuilder, s  # noqa: E402, F401 - re-exported for saturation.py
from _tfl_samples import conv_pool_softmax  # noqa: E402 - shared with tests/engine

PERSON = shared_data() / "tflm_person_detection" / "person_detect.tflite"


def dw_add_mean_fc() -> bytes:
    """DEPTHWISE_CONV_2D (RELU) -> ADD (residual) -> MEAN over H, W -> FULLY_CONNECTED."""
    rng = np.random.default_rng(1)
    mb = ModelBuilder()
    x = mb.tensor([1, 6, 6, 4], scale=0.04, zero_point=-2)
    w = mb.tensor([1, 3, 3, 4], scale=[0.02] * 4, zero_point=[0] * 4, data=rng.integers(-127, 128, (1, 3, 3, 4)),
                  axis=3)
    b = mb.tensor([4], "int32", scale=[0.0008] * 4, zero_point=[0] * 4, data=[5, -5, 50, -50])
    y1 = mb.tensor([1, 6, 6, 4], scale=0.05, zero_point=-128)
    mb.conv(x, w, b, y1, 1, "SAME", "RELU", depthwise=True, dm=1)
    y2 = mb.tensor([1, 6, 6, 4], scale=0.08, zero_point=-10)
    mb.add(y1, x, y2)
    axes = mb.tensor([2], "int32", data=np.array([1, 2]))
    y3 = mb.tensor([1, 4], scale=0.03, zero_point=0)
    mb.mean(y2, axes, y3, False)
    fw = mb.tensor([5, 4], scale=[0.01] * 5, zero_point=[0] * 5, data=rng.integers(-127, 128, (5, 4)))
    fb = mb.tensor([5], "int32", scale=[0.0003] * 5, zero_point=[0] * 5, data=rng.integers(-1000, 1000, 5))
    y4 = mb.tensor([1, 5], scale=0.2, zero_point=3)
    mb.fc(y3, fw, fb, y4)
    return mb.build([x], [y4])


def quant_pad_avgpool() -> bytes:
    """float32 -> QUANTIZE -> PAD -> AVERAGE_POOL_2D -> QUANTIZE (requantize) -> DEQUANTIZE -> float32."""
    mb = ModelBuilder()
    x = mb.tensor([1, 4, 4, 3], "float32")
    xq = mb.tensor([1, 4, 4, 3], scale=0.02, zero_point=5)
    mb.op(s.BuiltinOperator.QUANTIZE, [x], [xq])
    pads = mb.tensor([4, 2], "int32", data=np.array([[0, 0], [1, 1], [1, 1], [0, 0]]))
    y1 = mb.tensor([1, 6, 6, 3], scale=0.02, zero_point=5)
    mb.pad(xq, pads, y1)
    y2 = mb.tensor([1, 3, 3, 3], scale=0.02, zero_point=5)
    mb.pool(y1, y2, "avg", 2, 2, "VALID")
    y3 = mb.tensor([1, 3, 3, 3], scale=0.05, zero_point=-7)
    mb.op(s.BuiltinOperator.QUANTIZE, [y2], [y3])
    y4 = mb.tensor([1, 3, 3, 3], "float32")
    mb.op(s.BuiltinOperator.DEQUANTIZE, [y3], [y4])
    return mb.build([x], [y4])


SMALL: dict[str, Callable[[], bytes]] = {
    "conv_pool_softmax": conv_pool_softmax,
    "dw_add_mean_fc": dw_add_mean_fc,
    "quant_pad_avgpool": quant_pad_avgpool,
}


def all_models() -> dict[str, bytes]:
    """name -> .tflite bytes; the person-detection model only when the shared fixture is there."""
    out = {name: make() for name, make in SMALL.items()}
    if PERSON.exists():
        out["person_detect"] = PERSON.read_bytes()
    return out
