"""Images -> the int8 input tensor of an image model; TFLite affine (de)quantization."""

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


def to_model_input(img: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """One image (HW or HWC, floats in [0, 1] or uint8) -> int8 array of `shape`, (1, H, W, C) or (H, W, C).

    The uint8 pixel minus 128, the way TFLite Micro's camera examples feed int8 image models. It uses the
    whole int8 range whatever real range the model's input quantization stands for: [0, 1] for the models
    in models/ (scale 1/255, zero point -128, where it equals `quantize(pixel / 255, ...)`), [-1, 1] for
    TFLM's person detection (scale 1/128, zero point -1). One rule for every model, so the host, the
    board and the held-out set always see the same bytes.
    """
    shape = tuple(int(s) for s in shape)
    h, w, c = shape[-3:]
    x = resize(img, (h, w), c)
    return (np.clip(np.round(x * 255.0), 0, 255).astype(np.int16) - 128).astype(np.int8).reshape(shape)


def batch_to_model_input(images: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """N images -> (N, H, W, C) int8, each converted by `to_model_input`."""
    h, w, c = tuple(int(s) for s in shape)[-3:]
    return np.stack([to_model_input(im, (h, w, c)) for im in images])
