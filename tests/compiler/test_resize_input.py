"""resize_input: activation shapes re-propagated for a new input resolution, checked against the golden
forward (which derives every output shape from its kernels) and against the committed 128x128 model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from mcutrain.compiler.compile import compile_model
from mcutrain.compiler.resize_input import ResizeError, resize_input
from mcutrain.golden.forward import forward
from mcutrain.ir import Graph
from mcutrain.paths import MODELS
from mcutrain.tflite_import import load_tflite

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))
from small_models import conv_net  # noqa: E402

PROJECT = MODELS / "mcunet_s_person_96x96x1.tflite"
RGB128 = MODELS / "mcunet_s_fmnist_128x128x3.tflite"


def _activations(g: Graph) -> list[tuple[int, ...]]:
    return [g.tensors[op.outputs[0]].shape for op in g.ops]


def _assert_golden_shapes(g: Graph) -> None:
    t = g.tensors[g.inputs[0]]
    x = np.random.default_rng(0).integers(-128, 128, t.shape).astype(np.int8)
    vals = forward(g, x)
    for op in g.ops:
        out = op.outputs[0]
        assert vals[out].shape == g.tensors[out].shape, f"{op.kind} {op.name}"


def test_same_size_is_identity(toy: Graph) -> None:
    for g in (toy, conv_net(0)):
        h, w = g.tensors[g.inputs[0]].shape[1:3]
        assert _activations(resize_input(g, h, w)) == _activations(g)


def test_toy_graph_pad_pool_mean(toy: Graph) -> None:
    r = resize_input(toy, 16, 12)
    # conv/dw/conv SAME stride 1 keep 16x12, PAD +1+1, 2x2 VALID max pool stride 2, MEAN -> FC -> SOFTMAX
    assert _activations(r) == [
        (1, 16, 12, 8), (1, 16, 12, 8), (1, 16, 12, 8), (1, 16, 12, 8),
        (1, 18, 14, 8), (1, 9, 7, 8), (1, 8), (1, 3), (1, 3),
    ]
    assert toy.tensors[toy.inputs[0]].shape == (1, 8, 8, 4)  # the original is untouched


@pytest.mark.parametrize("size", [9, 16, 21])
def test_conv_net_valid_conv_reshape_matches_golden(size: int) -> None:
    r = resize_input(conv_net(0), size, size)
    _assert_golden_shapes(r)
    assert r.tensors[r.outputs[0]].shape == (1, 5)


def test_project_model_at_128_matches_committed_128_model() -> None:
    g = load_tflite(PROJECT)
    r = resize_input(g, 128, 128)
    ref = load_tflite(RGB128)
    # same backbone at 128x128 (RGB only changes the stem's input); its head has 10 classes instead of 2
    assert _activations(r)[:-2] == _activations(ref)[:-2]
    assert r.macs() > g.macs() * (128 / 96) ** 2 * 0.95
    assert compile_model(r, "sparse", mode="int").peak_bytes > compile_model(g, "sparse", mode="int").peak_bytes


def test_refusals(toy: Graph) -> None:
    with pytest.raises(ResizeError, match="VALID window"):
        resize_input(conv_net(0), 2, 2)
    with pytest.raises(ResizeError, match="positive"):
        resize_input(toy, 0, 8)
