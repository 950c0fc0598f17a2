"""Where training samples come from: the packaged person task, an image folder, or a camera/video.

Everything is converted on the host to exactly the model's int8 input tensor; the device gets nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .data.augment import stream as augmented_stream
from .data.quantize import to_model_input
from .ir import Graph

HELDOUT_HARD_NEGATIVES = 10
TRAIN_HARD_NEGATIVES = 30


@dataclass
class TaskData:
    name: str
    classes: list[str]
    train_images: np.ndarray  # float [0, 1], (N, H, W, C) at the model's input size
    train_labels: np.ndarray
    heldout_x: np.ndarray  # int8 model inputs (N, 1, H, W, C)
    heldout_y: np.ndarray
    input_shape: tuple[int, ...]
    scale: float
    zero_point: int

    def stream(self, seed: int) -> Iterator[tuple[np.ndarray, int]]:
        for img, label in augmented_stream(self.train_images, self.train_labels, seed):
            yield to_model_input(img, self.input_shape), label


def _input_geometry(g: Graph) -> tuple[tuple[int, ...], int, int, float, int]:
    t = g.tensors[g.inputs[0]]
    if len(t.shape) != 4 or t.dtype != "int8":
        raise ValueError(f"model input {t.name} is {t.dtype}{list(t.shape)}; need an int8 NHWC image input")
    return t.shape, t.shape[1], t.shape[3], t.scale, t.zero_point


def load_task(g: Graph, data_dir: str | None, seed: int) -> TaskData:
    """The packaged face/non-face task (with hard negatives) or a folder with one subfolder per class."""
    shape, size, channels, scale, zp = _input_geometry(g)
    if data_dir is None:
        from .data.datasets import CLASSES, person_task

        tr = person_task("train", size, channels, hard_negatives_count=TRAIN_HARD_NEGATIVES)
        te = person_task("test", size, channels, hard_negatives_count=HELDOUT_HARD_NEGATIVES)
        name, classes = "person (lfw_subset faces vs non-faces + opencv-doc photo crops)", list(CLASSES)
        xs, ys, txs, tys = tr.images, tr.labels, te.images, te.labels
    else:
        from .data.folder import load_folder

        images, labels, classes = load_folder(data_dir, size, channels)
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(images))
        n_test = max(1, len(images) // 4)
        test, train = order[:n_test], order[n_test:]
        xs, ys, txs, tys = images[train], labels[train], images[test], labels[test]
        name = f"folder {data_dir}"
    heldout = np.stack([to_model_input(im, tuple(shape)) for im in txs])
    return TaskData(name, classes, xs, ys, heldout, tys, tuple(shape), scale, zp)


def camera_stream(spec: str, shape: tuple[int, ...], label: str, every: int = 5) -> Iterator[tuple[np.ndarray, int]]:
    """Frames of a video file or webcam (`--camera`) as model inputs, labelled by `label`: "teacher" (OpenCV's
    HOG people detector decides person / no person on the full frame), "keys" ('1' / '2' pressed while watching
    set the current label, as on the paper's demo board over the UART) or a fixed class index."""
    from .data.camera import HogTeacher, frames

    h, _, c = shape[-3:]
    if label == "keys":  # the user sets the current label with '1' / '2' while watching
        from .keys import KeyLabel

        with KeyLabel().listening() as keys:
            for small, _full in frames(spec, size=h, channels=c, every=every):
                yield to_model_input(small, shape), keys.current
        return
    teacher = HogTeacher() if label == "teacher" else None
    fixed = None if teacher else int(label)
    for small, full in frames(spec, size=h, channels=c, every=every):
        y = teacher(full) if teacher is not None else fixed
        yield to_model_input(small, shape), int(y)
