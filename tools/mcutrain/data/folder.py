"""An image folder with one subfolder per class -> (images, labels, class names).

    my_data/
      no_person/  a.jpg b.png ...
      person/     c.jpg ...

Classes are the subfolder names in sorted order (label i = i-th name), so `0_no_person/`,
`1_person/` pins the order. Every image is resized to (size, size, channels), floats in [0, 1].
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mcutrain.data.imageops import bgr_to_rgb, center_square, resize

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp"})


class FolderError(ValueError):
    """The folder layout or one of its files is unusable; the message says which and why."""


def read_image(path: Path) -> np.ndarray:
    """One image file as uint8 RGB (H, W, 3) or grayscale (H, W)."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FolderError(f"{path}: not a readable image")
    if img.dtype != np.uint8:
        img = cv2.convertScaleAbs(img, alpha=255.0 / max(1, int(img.max())))
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    return bgr_to_rgb(img)


def list_classes(root: Path) -> list[tuple[str, list[Path]]]:
    """(class name, image files) per subfolder, sorted by name; raises FolderError on a bad layout."""
    root = Path(root)
    if not root.is_dir():
        raise FolderError(f"{root}: no such folder")
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subdirs:
        raise FolderError(f"{root}: no class subfolders (expected one subfolder per class)")
    classes = []
    for d in subdirs:
        files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise FolderError(f"{d}: class folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        classes.append((d.name, files))
    return classes


def load_folder(
    root: str | Path, size: int = 96, channels: int = 1, square: bool = True
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """float32 images (N, size, size, channels), int64 labels, class names. `square` centre-crops first."""
    classes = list_classes(Path(root))
    images, labels = [], []
    for label, (_, files) in enumerate(classes):
        for f in files:
            img = read_image(f)
            images.append(resize(center_square(img) if square else img, size, channels))
            labels.append(label)
    return np.stack(images).astype(np.float32), np.asarray(labels, np.int64), [n for n, _ in classes]
