"""The committed int8 models: load in LiteRT and TFLite Micro, allowed ops only, int8 I/O, device budgets,
and the accuracy the cards claim, measured with independent reference interpreters (no TensorFlow)."""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest

from mcutrain.data import datasets, fashion_mnist
from mcutrain.modelzoo import evaluate, tflite_info
from mcutrain.paths import MODELS

BACKBONE_96 = "mcunet_s_fmnist_96x96x1"
TRANSFER_96 = "mcunet_s_person_96x96x1"
BACKBONE_128 = "mcunet_s_fmnist_128x128x3"
ALL = (BACKBONE_96, TRANSFER_96, BACKBONE_128)
DEVICE_96 = (BACKBONE_96, TRANSFER_96)

FMNIST_INT8_MIN_ACCURACY = 0.85  # backbone, int8, on the first 300 (seeded) Fashion-MNIST test images
needs_fmnist = pytest.mark.skipif(
    not fashion_mnist.available(), reason="needs `apt-get install -y dataset-fashion-mnist`"
)


@cache
def info(name: str) -> tflite_info.ModelInfo:
    return tflite_info.read(MODELS / f"{name}.tflite")


def card(name: str) -> dict:
    return json.loads((MODELS / f"{name}.json").read_text())


@pytest.mark.parametrize("name", ALL)
def test_only_allowed_ops(name: str) -> None:
    assert info(name).op_names <= tflite_info.ALLOWED_OPS, info(name).op_names - tflite_info.ALLOWED_OPS


@pytest.mark.parametrize("name", ALL)
def test_int8_io_and_pixel_quantization(name: str) -> None:
    m = info(name)
    inp, out = m.tensors[m.inputs[0]], m.tensors[m.outputs[0]]
    assert inp.dtype == "INT8" and out.dtype == "INT8"
    assert inp.scales == pytest.approx((1 / 255,)) and inp.zero_points == (-128,)
    assert out.scales == (1 / 256,) and out.zero_points == (-128,)


@pytest.mark.parametrize("name", ALL)
def test_weights_int8_per_channel_bias_int32(name: str) -> None:
    m = info(name)
    for op in m.ops:
        if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            assert len(op.inputs) == 3 and op.inputs[2] >= 0, f"{op.name} has no bias"
            w, b = m.tensors[op.inputs[1]], m.tensors[op.inputs[2]]
            assert w.dtype == "INT8" and b.dtype == "INT32"
            if op.name != "FULLY_CONNECTED":
                channels = w.shape[0] if op.name == "CONV_2D" else w.shape[3]
                assert len(w.scales) == channels


@pytest.mark.parametrize("name", DEVICE_96)
def test_fits_the_device(name: str) -> None:
    m = info(name)
    assert m.ops[0].name == "CONV_2D" and m.ops[0].stride == (2, 2)
    assert m.op_peak <= 60 * 1024
    assert m.weight_bytes <= 300 * 1024
    assert 5e6 <= m.macs <= 20e6


@pytest.mark.parametrize("name", ALL)
def test_card_matches_file(name: str) -> None:
    c, m = card(name), info(name)
    assert (c["macs"], c["params"], c["flash_bytes"]) == (m.macs, m.params, m.flash_bytes)
    assert (MODELS / f"{name}.md").is_file()


@pytest.mark.parametrize("name", ALL)
def test_litert_and_tflm_agree(name: str) -> None:
    shape = info(name).tensors[info(name).inputs[0]].shape
    x = np.random.default_rng(0).integers(-128, 128, (2, *shape[1:]), dtype=np.int8)
    a = evaluate.predict_int8(MODELS / f"{name}.tflite", x, "litert")
    b = evaluate.predict_int8(MODELS / f"{name}.tflite", x, "tflm")
    assert a.dtype == np.int8 and np.array_equal(a, b)


@needs_fmnist
def test_backbone_int8_accuracy_tflm() -> None:
    x, y = fashion_mnist.load("test", 96, 1, seed=0)
    acc = evaluate.accuracy(MODELS / f"{BACKBONE_96}.tflite", x[:300], y[:300], "tflm")
    assert acc >= FMNIST_INT8_MIN_ACCURACY


@needs_fmnist
def test_rgb_backbone_int8_accuracy_litert() -> None:
    x, y = fashion_mnist.load("test", 128, 3, limit=200, seed=0)
    acc = evaluate.accuracy(MODELS / f"{BACKBONE_128}.tflite", x, y, "litert")
    assert acc >= FMNIST_INT8_MIN_ACCURACY - 0.05


def test_transfer_head_is_untrained() -> None:
    t = datasets.person_task("test", 96, 1)
    acc = evaluate.accuracy(MODELS / f"{TRANSFER_96}.tflite", t.images, t.labels, "tflm")
    assert info(TRANSFER_96).tensors[info(TRANSFER_96).outputs[0]].shape == (1, 2)
    assert acc < 0.8  # a fresh head; the device's training has to earn the rest
