from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from mcutrain.data.folder import FolderError, load_folder


def _write(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((30, 40, 3), value, np.uint8))


def test_loads_classes_in_sorted_order(tmp_path: Path) -> None:
    _write(tmp_path / "person" / "a.png", 200)
    _write(tmp_path / "no_person" / "b.jpg", 10)
    _write(tmp_path / "no_person" / "c.png", 20)
    (tmp_path / "no_person" / "notes.txt").write_text("ignored")
    x, y, names = load_folder(tmp_path, 96, 1)
    assert names == ["no_person", "person"]
    assert x.shape == (3, 96, 96, 1) and x.dtype == np.float32
    assert y.tolist() == [0, 0, 1]
    assert abs(float(x[2].mean()) - 200 / 255) < 1e-3


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FolderError, match="no such folder"):
        load_folder(tmp_path / "nope")


def test_no_class_subfolders(tmp_path: Path) -> None:
    with pytest.raises(FolderError, match="no class subfolders"):
        load_folder(tmp_path)


def test_empty_class_folder(tmp_path: Path) -> None:
    _write(tmp_path / "a" / "x.png", 1)
    (tmp_path / "b").mkdir()
    with pytest.raises(FolderError, match="holds no images"):
        load_folder(tmp_path)


def test_unreadable_image(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(FolderError, match="broken.png: not a readable image"):
        load_folder(tmp_path)
