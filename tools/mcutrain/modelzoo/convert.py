"""Keras classifier -> full-integer int8 .tflite (int8 I/O, per-channel int8 conv weights, int32 bias).

The exported graph ends in SOFTMAX (output scale 1/256, zero point -128, like TFLite Micro's
person-detection model). The input's real value is the pixel in [0, 1]: calibration always sees an
all-black and an all-white image so the input is quantized with scale 1/255 and zero point -128.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import keras
import numpy as np
import tensorflow as tf


def _calibration(images: np.ndarray, count: int, seed: int) -> Iterator[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    shape = (1, *images.shape[1:])
    yield [np.zeros(shape, np.float32)]
    yield [np.ones(shape, np.float32)]
    for i in rng.permutation(len(images))[:count]:
        x = images[i]
        x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
        yield [x[None]]


def to_int8_tflite(model: keras.Model, calibration_images: np.ndarray, count: int = 300, seed: int = 0) -> bytes:
    """Convert with a batch-1 signature; `calibration_images` are uint8 or float in [0, 1], NHWC."""
    spec = tf.TensorSpec((1, *model.input_shape[1:]), tf.float32, name="image")
    probs = keras.layers.Softmax(name="softmax")(model.outputs[0])
    export = keras.Model(model.inputs, probs, name=model.name)
    with tempfile.TemporaryDirectory() as tmp:
        export.export(tmp, format="tf_saved_model", input_signature=[spec], verbose=False)
        conv = tf.lite.TFLiteConverter.from_saved_model(tmp)
        return _quantize(conv, calibration_images, count, seed)


def _quantize(conv: tf.lite.TFLiteConverter, calibration_images: np.ndarray, count: int, seed: int) -> bytes:
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: _calibration(calibration_images, count, seed)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()
