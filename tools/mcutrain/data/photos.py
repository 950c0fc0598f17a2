"""Real photos from Debian's `opencv-doc` package: person-free scenes for hard negatives, people for the teacher."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import cv2
import numpy as np

from mcutrain.data.fashion_mnist import MissingDatasetError
from mcutrain.data.imageops import bgr_to_rgb

APT_PACKAGE = "opencv-doc"
DEFAULT_DIR = Path("/usr/share/doc/opencv-doc/examples/data")

# Checked by eye: no person, no face, no painted or drawn face in any of these.
NO_PERSON = (
    "fruits.jpg", "building.jpg", "home.jpg", "board.jpg", "apple.jpg", "orange.jpg",
    "smarties.png", "stuff.jpg", "squirrel_cls.jpg", "butterfly.jpg", "aero1.jpg", "aero3.jpg",
    "leuvenA.jpg", "box_in_scene.png", "aloeL.jpg", "rubberwhale1.png", "starry_night.jpg",
    "ela_original.jpg", "licenseplate_motion.jpg",
)  # fmt: skip
# Photos and a video with people in them (for the HOG teacher / positive crops).
WITH_PEOPLE = ("basketball1.png", "basketball2.png", "messi5.jpg")
VIDEO_WITH_PEOPLE = "vtest.avi"


def data_dir() -> Path:
    env = os.environ.get("MCUTRAIN_OPENCV_DATA")
    return Path(env) if env else DEFAULT_DIR


def find(name: str) -> Path:
    """Path of an opencv-doc sample file, also when Debian shipped it gzip'd (name.gz)."""
    d = data_dir()
    for p in (d / name, d / f"{name}.gz"):
        if p.is_file():
            return p
    raise MissingDatasetError(
        f"{name} not found in {d}: run `sudo apt-get install -y {APT_PACKAGE}`"
        " (or set MCUTRAIN_OPENCV_DATA to a folder holding OpenCV's sample data)"
    )


def available() -> bool:
    try:
        find(NO_PERSON[0])
    except MissingDatasetError:
        return False
    return True


def read_rgb(name: str) -> np.ndarray:
    """An opencv-doc sample image as uint8 RGB (H, W, 3)."""
    p = find(name)
    raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
    img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{p}: not a readable image")
    return bgr_to_rgb(img)
