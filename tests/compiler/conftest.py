"""Fixtures for the training-compiler tests: the real person-detection model and a small residual toy graph."""

from __future__ import annotations

import numpy as np
import pytest

from mcutrain.ir import Graph, Op, Quant, Tensor
from mcutrain.paths import shared_data
from mcutrain.tflite_import import load_tflite

PD = shared_data() / "tflm_person_detection" / "person_detect.tflite"


@pytest.fixture(scope="session")
def pd_graph() -> Graph:
    if not PD.exists():
        pytest.skip(f"person-detection model not found at {PD}")
    return load_tflite(PD)


def _q(n: int = 1, scale: float = 0.05) -> Quant:
    return Quant(np.full(n, scale, np.float32), np.zeros(n, np.int64), axis=0)


def toy_graph() -> Graph:
    """input -> conv1x1+relu6 -> dw3x3+relu6 -> conv1x1 -> ADD(residual) -> PAD -> MAXPOOL -> MEAN -> FC -> SOFTMAX."""
    rng = np.random.default_rng(0)
    T: list[Tensor] = []

    def act(shape: tuple[int, ...], name: str) -> int:
        T.append(Tensor(name, shape, "int8", _q()))
        return len(T) - 1

    def const(shape: tuple[int, ...], dtype: str, name: str, axis: int = 0) -> int:
        info = np.iinfo(dtype)
        data = rng.integers(max(info.min, -100), min(info.max, 100), size=shape).astype(dtype)
        n = shape[axis] if dtype == "int8" else 1
        T.append(Tensor(name, shape, dtype, Quant(np.full(n, 0.02, np.float32), np.zeros(n, np.int64), axis), data))
        return len(T) - 1

    x = act((1, 8, 8, 4), "input")
    conv = {"padding": "SAME", "stride_h": 1, "stride_w": 1}
    w1, b1 = const((8, 1, 1, 4), "int8", "w1"), const((8,), "int32", "b1")
    t1 = act((1, 8, 8, 8), "expand")
    w2, b2 = const((1, 3, 3, 8), "int8", "w2", axis=3), const((8,), "int32", "b2")
    t2 = act((1, 8, 8, 8), "dw")
    w3, b3 = const((8, 1, 1, 8), "int8", "w3"), const((8,), "int32", "b3")
    t3 = act((1, 8, 8, 8), "project")
    t4 = act((1, 8, 8, 8), "add")
    pads = len(T)
    T.append(Tensor("pads", (4, 2), "int32", None, np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32)))
    t5 = act((1, 10, 10, 8), "pad")
    t6 = act((1, 5, 5, 8), "pool")
    axes = len(T)
    T.append(Tensor("axes", (2,), "int32", None, np.array([1, 2], np.int32)))
    t7 = act((1, 8), "mean")
    w8, b8 = const((3, 8), "int8", "w8"), const((3,), "int32", "b8")
    t8 = act((1, 3), "logits")
    t9 = act((1, 3), "probs")
    ops = [
        Op("CONV_2D", [x, w1, b1], [t1], {**conv, "activation": "RELU6"}, "expand"),
        Op("DEPTHWISE_CONV_2D", [t1, w2, b2], [t2], {**conv, "activation": "RELU6", "depth_multiplier": 1}, "dw"),
        Op("CONV_2D", [t2, w3, b3], [t3], {**conv, "activation": "NONE"}, "project"),
        Op("ADD", [t1, t3], [t4], {"activation": "NONE"}, "add"),
        Op("PAD", [t4, pads], [t5], {}, "pad"),
        Op(
            "MAX_POOL_2D",
            [t5],
            [t6],
            {"padding": "VALID", "stride_h": 2, "stride_w": 2, "filter_h": 2, "filter_w": 2, "activation": "NONE"},
            "pool",
        ),
        Op("MEAN", [t6, axes], [t7], {"keep_dims": False}, "mean"),
        Op("FULLY_CONNECTED", [t7, w8, b8], [t8], {"activation": "NONE", "keep_num_dims": False}, "fc"),
        Op("SOFTMAX", [t8], [t9], {"beta": 1.0}, "softmax"),
    ]
    return Graph(T, ops, [x], [t9], "toy")


@pytest.fixture
def toy() -> Graph:
    return toy_graph()
