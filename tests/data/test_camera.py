from __future__ import annotations

import numpy as np
import pytest

from mcutrain.data import camera, photos

needs_opencv_doc = pytest.mark.skipif(not photos.available(), reason="needs `apt-get install -y opencv-doc`")


@needs_opencv_doc
def test_frames_from_video_file() -> None:
    got = list(camera.frames("vtest.avi", size=96, channels=1, every=10, limit=3))
    assert len(got) == 3
    for small, full in got:
        assert small.shape == (96, 96, 1) and small.dtype == np.float32
        assert full.ndim == 3 and full.dtype == np.uint8


def test_resolve_source() -> None:
    assert camera.resolve_source("0") == 0
    with pytest.raises(camera.CameraError, match="no such video file"):
        camera.resolve_source("/nonexistent/clip.avi")


def test_label_from_key() -> None:
    assert camera.label_from_key(ord("1"), 1) == 0
    assert camera.label_from_key(ord("2"), 0) == 1
    assert camera.label_from_key(ord("x"), 1) == 1


@needs_opencv_doc
def test_hog_teacher_sees_people_not_fruit() -> None:
    teacher = camera.HogTeacher()
    assert teacher(photos.read_rgb("basketball1.png")) == 1
    assert teacher(photos.read_rgb("fruits.jpg")) == 0
