"""Fashion-MNIST from Debian's `dataset-fashion-mnist` package (IDX files, gzip'd); no download."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from mcutrain.data.imageops import resize

APT_PACKAGE = "dataset-fashion-mnist"
DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = (
    "t-shirt/top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)  # fmt: skip
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


class MissingDatasetError(FileNotFoundError):
    """A data package is not installed; the message names the apt command."""


def data_dir() -> Path:
    """$MCUTRAIN_FASHION_MNIST or the Debian install location."""
    env = os.environ.get("MCUTRAIN_FASHION_MNIST")
    return Path(env) if env else DEFAULT_DIR


def available() -> bool:
    d = data_dir()
    return all((d / f).is_file() for pair in _FILES.values() for f in pair)


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_raw(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) uint8 images and (N,) uint8 labels of `split` ('train' 60k or 'test' 10k)."""
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    d = data_dir()
    img_file, lbl_file = (d / f for f in _FILES[split])
    if not img_file.is_file() or not lbl_file.is_file():
        raise MissingDatasetError(
            f"Fashion-MNIST not found in {d}: run `sudo apt-get install -y {APT_PACKAGE}`"
            " (or set MCUTRAIN_FASHION_MNIST to a folder holding the four *-ubyte.gz files)"
        )
    images, labels = _read_idx(img_file), _read_idx(lbl_file)
    if len(images) != len(labels):
        raise ValueError(f"{d}: {len(images)} images but {len(labels)} labels")
    return images, labels


def subset_indices(labels: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """A seeded, class-balanced subset of at most `limit` indices (all of them when limit is None)."""
    rng = np.random.default_rng(seed)
    if limit is None or limit >= len(labels):
        return rng.permutation(len(labels))
    classes = np.unique(labels)
    per = limit // len(classes)
    picks = [rng.permutation(np.flatnonzero(labels == c))[:per] for c in classes]
    return rng.permutation(np.concatenate(picks))


def load(
    split: str = "train", size: int = 96, channels: int = 1, limit: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Images resized to (size, size, channels) as uint8 (to keep 60k x 96x96 in memory) and int64 labels."""
    images, labels = load_raw(split)
    idx = subset_indices(labels, limit, seed)
    out = np.empty((len(idx), size, size, channels), np.uint8)
    for j, i in enumerate(idx):
        out[j] = np.round(resize(images[i], size, channels) * 255.0).astype(np.uint8)
    return out, labels[idx].astype(np.int64)
