"""Float images -> the int8 input tensor a model expects (its input scale and zero point)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mcutrain.data.imageops import resize


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """TFLite affine quantization: q = clamp(round(x / scale) + zero_point, -128, 127), round half away from 0."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    r = np.asarray(x, np.float64) / scale
    q = np.sign(r) * np.floor(np.abs(r) + 0.5) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (np.asarray(q, np.float32) - zero_point) * np.float32(scale)


def to_model_input(
    img_float01: np.ndarray, scale: float, zero_point: int, shape: Sequence[int]
) -> np.ndarray:
    """One image (HW or HWC, floats in [0, 1] or uint8) -> int8 array of `shape`.

    `shape` is the model's input shape, (1, H, W, C) or (H, W, C). The real value the models in
    models/ expect is the pixel intensity in [0, 1]; their input is scale 1/255, zero point -128.
    """
    shape = tuple(int(s) for s in shape)
    h, w, c = shape[-3:]
    x = resize(img_float01, (h, w), c)
    return quantize(x, scale, zero_point).reshape(shape)


def batch_to_model_input(
    images: np.ndarray, scale: float, zero_point: int, shape: Sequence[int]
) -> np.ndarray:
    """N images -> (N, H, W, C) int8, each converted by `to_model_input`."""
    h, w, c = tuple(int(s) for s in shape)[-3:]
    return np.stack([to_model_input(im, scale, zero_point, (h, w, c)) for im in images])
