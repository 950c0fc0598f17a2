"""Seeded on-the-fly augmentation for the training stream: random crop/scale, flip, brightness, contrast.

Works on one float image (H, W, C) in [0, 1] and returns an image of the same shape; the same seed
gives the same sequence, so a stream can be replayed exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    scale: tuple[float, float] = (0.8, 1.0)  # crop side as a fraction of the image side
    flip: bool = True  # horizontal flip with probability 1/2
    brightness: float = 0.1  # added offset drawn from [-b, b]
    contrast: float = 0.2  # gain drawn from [1 - c, 1 + c] around the image mean


class Augmenter:
    def __init__(self, seed: int, config: AugmentConfig | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.config = config or AugmentConfig()

    def __call__(self, img: np.ndarray) -> np.ndarray:
        c, rng = self.config, self.rng
        h, w = img.shape[:2]
        x = img.astype(np.float32)
        s = rng.uniform(*c.scale)
        ch, cw = max(1, round(h * s)), max(1, round(w * s))
        top, left = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
        x = x[top : top + ch, left : left + cw]
        if (ch, cw) != (h, w):
            x = cv2.resize(x, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
        if c.flip and rng.random() < 0.5:
            x = x[:, ::-1]
        if c.contrast:
            x = (x - x.mean()) * rng.uniform(1 - c.contrast, 1 + c.contrast) + x.mean()
        if c.brightness:
            x = x + rng.uniform(-c.brightness, c.brightness)
        return np.clip(x, 0.0, 1.0).reshape(img.shape).astype(np.float32)

    def batch(self, images: np.ndarray) -> np.ndarray:
        return np.stack([self(im) for im in images])


def stream(
    images: np.ndarray, labels: np.ndarray, seed: int, config: AugmentConfig | None = None
) -> Iterator[tuple[np.ndarray, int]]:
    """Endless (augmented image, label) pairs: a fresh seeded shuffle of the set each epoch."""
    rng = np.random.default_rng(seed)
    aug = Augmenter(seed + 1, config)
    while True:
        for i in rng.permutation(len(images)):
            yield aug(images[i]), int(labels[i])
