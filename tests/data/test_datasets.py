"""The packaged person task: split by image, balanced, shapes, and the int8 input conversion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mcutrain.data import datasets, photos
from mcutrain.data.quantize import dequantize, quantize, to_model_input
from mcutrain.paths import MODELS, shared_data
from mcutrain.tflite_import import load_tflite


def test_split_is_disjoint_by_image_and_balanced() -> None:
    images, labels = datasets.lfw_raw()
    assert images.shape == (200, 25, 25)
    train, test = datasets.split_indices(labels)
    assert set(train).isdisjoint(test)
    assert sorted(np.concatenate([train, test])) == list(range(200))
    assert np.bincount(labels[test]).tolist() == [datasets.TEST_PER_CLASS] * 2
    assert np.bincount(labels[train]).tolist() == [100 - datasets.TEST_PER_CLASS] * 2
    train_bytes = {images[i].tobytes() for i in train}
    assert not any(images[i].tobytes() in train_bytes for i in test)


def test_split_is_fixed() -> None:
    _, labels = datasets.lfw_raw()
    a, b = datasets.split_indices(labels), datasets.split_indices(labels)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_faces_are_rows_0_to_99() -> None:
    _, labels = datasets.lfw_raw()
    assert (labels[:100] == datasets.PERSON).all() and (labels[100:] == datasets.NO_PERSON).all()


@pytest.mark.parametrize(("size", "channels"), [(96, 1), (128, 3)])
def test_person_task_shapes(size: int, channels: int) -> None:
    s = datasets.person_task("test", size, channels)
    assert s.images.shape == (60, size, size, channels) and s.images.dtype == np.float32
    assert s.labels.dtype == np.int64 and s.images.min() >= 0.0 and s.images.max() <= 1.0
    q = s.to_int8()
    assert q.shape == s.images.shape and q.dtype == np.int8


@pytest.mark.skipif(not photos.available(), reason="needs `apt-get install -y opencv-doc`")
def test_hard_negatives_are_seeded_photo_crops() -> None:
    a = datasets.hard_negatives(6, 96, 1, seed=3)
    assert a.shape == (6, 96, 96, 1)
    assert np.array_equal(a, datasets.hard_negatives(6, 96, 1, seed=3))
    s = datasets.person_task("train", 96, 1, hard_negatives_count=10)
    assert len(s.labels) == 150 and (s.labels[-10:] == datasets.NO_PERSON).all()


def test_to_model_input_pixel_minus_128() -> None:
    px = np.arange(256, dtype=np.uint8).reshape(16, 16)
    q = to_model_input(px, (1, 16, 16, 1))
    assert q.shape == (1, 16, 16, 1) and q.dtype == np.int8
    assert np.array_equal(q.reshape(-1).astype(int), np.arange(256) - 128)
    # floats in [0, 1] give the same bytes as their uint8 pixels
    assert np.array_equal(to_model_input(px / 255.0, (16, 16, 1)), q.reshape(16, 16, 1))


@pytest.mark.parametrize(
    ("model", "lo", "hi"),
    [
        (MODELS / "mcunet_s_person_96x96x1.tflite", 0.0, 1.0),
        (shared_data() / "tflm_person_detection/person_detect.tflite", -1.0, 1.0),
    ],
)
def test_to_model_input_spans_each_models_real_input_range(model: Path, lo: float, hi: float) -> None:
    """Black and white pixels land on the ends of the real range the model's input quantization stands for
    (read from the .tflite file), so one conversion serves our models and TFLM's."""
    t = (g := load_tflite(model)).tensors[g.inputs[0]]
    q = to_model_input(np.array([[0.0, 1.0]]), (1, 2, 1))
    real = dequantize(q, t.scale, t.zero_point).reshape(-1)
    assert abs(real[0] - lo) <= t.scale and abs(real[1] - hi) <= t.scale


def test_to_model_input_resizes_and_converts_channels() -> None:
    rgb = np.zeros((40, 50, 3), np.uint8)
    rgb[..., 1] = 255
    q = to_model_input(rgb, (1, 96, 96, 1))
    assert q.shape == (1, 96, 96, 1)
    assert np.all(q == np.int8(round(0.587 * 255) - 128))


def test_quantize_rounds_half_away_from_zero_and_saturates() -> None:
    q = quantize(np.array([0.5, -0.5, 1.5, 1000.0, -1000.0]), 1.0, 0)
    assert q.tolist() == [1, -1, 2, 127, -128]
