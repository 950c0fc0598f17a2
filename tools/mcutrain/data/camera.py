"""Frames for the live training stream: a video file or a webcam through OpenCV, plus label sources.

`--camera vtest.avi` (a path; bare opencv-doc sample names are found in the opencv-doc folder) or
`--camera 0` (webcam index). Frames come out centre-cropped to a square and resized, floats in [0, 1].
Label sources: a fixed label (folder layout), keys (`label_from_key`), or the HOG people detector
as a teacher (`HogTeacher`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from mcutrain.data import photos
from mcutrain.data.imageops import bgr_to_rgb, center_square, resize


class CameraError(RuntimeError):
    """The camera or video cannot be opened or read."""


def resolve_source(spec: str) -> int | str:
    """'0' -> webcam 0; an existing path -> that path; a bare opencv-doc sample name -> its path."""
    if spec.isdigit():
        return int(spec)
    if Path(spec).exists():
        return spec
    try:
        return str(photos.find(spec))
    except FileNotFoundError:
        raise CameraError(f"{spec}: no such video file or camera index") from None


def frames(
    spec: str, size: int = 96, channels: int = 1, every: int = 1, limit: int | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(model-size float frame, full uint8 RGB frame) pairs; every `every`-th frame, at most `limit`."""
    source = resolve_source(spec)
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise CameraError(f"cannot open camera/video {spec!r}")
    try:
        n = k = 0
        while limit is None or n < limit:
            ok, bgr = cap.read()
            if not ok:
                if n == 0:
                    raise CameraError(f"{spec!r}: opened but no frame could be read")
                return
            k += 1
            if (k - 1) % every:
                continue
            rgb = bgr_to_rgb(bgr)
            n += 1
            yield resize(center_square(rgb), size, channels), rgb
    finally:
        cap.release()


def label_from_key(key: int, current: int) -> int:
    """UART-style single keys as on the paper's demo board: '1' -> label 0, '2' -> label 1; else keep."""
    return {ord("1"): 0, ord("2"): 1}.get(key, current)


def hog_available() -> bool:
    """OpenCV 4.x has the HOG people detector; OpenCV 5.0 moved it out of the main modules."""
    return hasattr(cv2, "HOGDescriptor")


class HogTeacher:
    """OpenCV's HOG + linear-SVM people detector as a labelling teacher: 1 if it sees a person, else 0."""

    def __init__(self, threshold: float = 0.5, upscale_to: int = 256) -> None:
        if not hog_available():
            raise CameraError(
                f"OpenCV {cv2.__version__} has no HOGDescriptor (gone from the main modules in 5.0): "
                "pip install 'opencv-python-headless>=4.8,<5' to use the HOG teacher"
            )
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.threshold = threshold
        self.upscale_to = upscale_to

    def detect(self, rgb: np.ndarray) -> list[tuple[tuple[int, int, int, int], float]]:
        """Boxes (x, y, w, h) in the given frame's pixels with their SVM scores above the threshold."""
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
        if gray.dtype != np.uint8:
            gray = np.round(np.clip(gray, 0, 1) * 255).astype(np.uint8)
        f = max(1.0, self.upscale_to / min(gray.shape[:2]))  # the detector's window is 64x128
        img = cv2.resize(gray, None, fx=f, fy=f) if f > 1 else gray
        boxes, weights = self.hog.detectMultiScale(img, winStride=(8, 8), padding=(8, 8), scale=1.05)
        out = []
        for b, w in zip(boxes, np.ravel(weights), strict=True):
            if w >= self.threshold:
                x, y, bw, bh = (int(round(v / f)) for v in b)
                out.append(((x, y, bw, bh), float(w)))
        return out

    def __call__(self, rgb: np.ndarray) -> int:
        return 1 if self.detect(rgb) else 0
