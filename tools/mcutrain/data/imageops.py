"""Image shape helpers shared by every data source: float images in [0, 1], HWC layout."""

from __future__ import annotations

import cv2
import numpy as np


def as_float01(img: np.ndarray) -> np.ndarray:
    """uint8 (0..255) or float (0..1) image -> float32 in [0, 1]."""
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    return np.clip(img.astype(np.float32), 0.0, 1.0)


def set_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """HW, HWx1 or HWx3 (RGB) -> HWxC with C in {1, 3}; gray is replicated, colour uses BT.601 luma."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if img.ndim == 2:
        img = img[:, :, None]
    have = img.shape[2]
    if have == channels:
        return img
    if have == 1:
        return np.repeat(img, 3, axis=2)
    if have == 3:
        luma = img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114
        return luma[:, :, None].astype(img.dtype)
    raise ValueError(f"cannot convert an image with {have} channels")


def resize(img: np.ndarray, size: int | tuple[int, int], channels: int) -> np.ndarray:
    """Any HW[C] image -> float32 (H, W, channels) in [0, 1]; area filter when shrinking, linear otherwise."""
    h, w = (size, size) if isinstance(size, int) else size
    x = as_float01(img)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    shrink = x.shape[0] > h or x.shape[1] > w
    out = cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return set_channels(out, channels)


def center_square(img: np.ndarray) -> np.ndarray:
    """Largest centred square crop of an HW[C] image."""
    h, w = img.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return img[top : top + s, left : left + s]


def bgr_to_rgb(img: np.ndarray) -> np.ndarray:
    """OpenCV's BGR order -> RGB (grayscale passes through)."""
    if img.ndim == 3 and img.shape[2] == 3:
        return img[:, :, ::-1]
    return img
