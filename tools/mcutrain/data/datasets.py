"""The packaged person-detection transfer task: face (person) vs non-face on skimage's LFW subset.

`skimage.data.lfw_subset()` ships 200 real 25x25 grayscale crops inside the scikit-image wheel:
rows 0-99 are faces, 100-199 non-face background crops. The split is by image, seeded and
stratified, so train and test never share a crop. Harder negatives (crops of person-free photos
from Debian's opencv-doc) can be added on top. Labels: 0 = no person, 1 = person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcutrain.data import photos
from mcutrain.data.imageops import resize
from mcutrain.data.quantize import batch_to_model_input

NO_PERSON, PERSON = 0, 1
CLASSES = ("no person", "person")
SPLIT_SEED = 20221128
TEST_PER_CLASS = 30


@dataclass(frozen=True)
class Split:
    """Float images (N, H, W, C) in [0, 1], int64 labels, and where each image came from."""

    images: np.ndarray
    labels: np.ndarray
    source: tuple[str, ...]

    def to_int8(self) -> np.ndarray:
        return batch_to_model_input(self.images, self.images.shape[1:])


def lfw_raw() -> tuple[np.ndarray, np.ndarray]:
    """(200, 25, 25) float64 in [0, 1] and labels (1 for rows 0-99 faces, 0 for non-faces)."""
    from skimage.data import lfw_subset  # ships inside the wheel; no network

    images = lfw_subset()
    labels = np.where(np.arange(len(images)) < 100, PERSON, NO_PERSON).astype(np.int64)
    return images, labels


def split_indices(labels: np.ndarray, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded train/test split by image index: TEST_PER_CLASS of each class to test."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test.append(idx[:TEST_PER_CLASS])
        train.append(idx[TEST_PER_CLASS:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def hard_negatives(count: int, size: int, channels: int, seed: int) -> np.ndarray:
    """`count` random square crops (8-40 % of the short side) of person-free opencv-doc photos."""
    rng = np.random.default_rng(seed)
    pictures = [photos.read_rgb(n) for n in photos.NO_PERSON]
    out = np.empty((count, size, size, channels), np.float32)
    for i in range(count):
        img = pictures[int(rng.integers(len(pictures)))]
        h, w = img.shape[:2]
        s = int(rng.uniform(0.08, 0.4) * min(h, w))
        top, left = int(rng.integers(h - s + 1)), int(rng.integers(w - s + 1))
        out[i] = resize(img[top : top + s, left : left + s], size, channels)
    return out


def person_task(
    split: str, size: int = 96, channels: int = 1, hard_negatives_count: int = 0, seed: int = SPLIT_SEED
) -> Split:
    """The face/non-face task at (size, size, channels). `split` is 'train' or 'test'.

    With hard_negatives_count > 0 that many photo crops (label 0) are appended; train and test
    crops come from different seeds (and so, almost surely, different windows).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    images, labels = lfw_raw()
    train, test = split_indices(labels, seed)
    idx = train if split == "train" else test
    x = np.stack([resize(images[i], size, channels) for i in idx])
    y = labels[idx]
    source = tuple(f"lfw_subset[{i}]" for i in idx)
    if hard_negatives_count:
        neg_seed = seed + (1 if split == "train" else 2)
        neg = hard_negatives(hard_negatives_count, size, channels, neg_seed)
        x = np.concatenate([x, neg])
        y = np.concatenate([y, np.full(len(neg), NO_PERSON, np.int64)])
        source += tuple(f"opencv-doc crop {neg_seed}:{i}" for i in range(len(neg)))
    return Split(x.astype(np.float32), y.astype(np.int64), source)
