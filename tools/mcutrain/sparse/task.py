"""The transfer task the contribution analysis trains on: int8 fit / held-out sets and a frozen-prefix cache.

Source: the packaged person task's *train* split (face vs non-face, plus photo-crop hard negatives), or an
image folder (one subfolder per class, `data/folder.py`). Either way it is split, stratified and seeded,
into a fit set (SGD steps) and a held-out set (accuracy); the task's test split is never touched.
Every op before the lowest candidate layer is frozen in every run, so its outputs are computed once per image.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.quantize import batch_to_model_input
from ..golden.forward import forward
from ..ir import Graph

Cache = dict[int, np.ndarray]  # tensor id -> activation, everything ops >= start_op read from the prefix


@dataclass
class TaskData:
    name: str  # identifies the data in the contribution cache key
    n_classes: int
    fit_x: np.ndarray  # (N, H, W, C) int8
    fit_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit indices, held-out indices), the held-out share taken per class (at least one image each)."""
    rng = np.random.default_rng(seed)
    fit, val = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = max(1, round(val_fraction * len(idx))) if len(idx) > 1 else 0
        val.append(idx[:n_val])
        fit.append(idx[n_val:])
    return np.sort(np.concatenate(fit)), np.sort(np.concatenate(val))


def _make(name: str, graph: Graph, images: np.ndarray, labels: np.ndarray, n_classes: int,
          val_fraction: float, seed: int) -> TaskData:
    x = batch_to_model_input(images, graph.tensors[graph.inputs[0]].shape)
    fit, val = stratified_split(labels, val_fraction, seed)
    return TaskData(name, n_classes, x[fit], labels[fit], x[val], labels[val])


def person_data(graph: Graph, hard_negatives: int = 60, val_fraction: float = 0.3, seed: int = 0) -> TaskData:
    """The person task's train split (140 LFW crops + `hard_negatives` photo crops) -> fit / held-out."""
    from ..data.datasets import person_task

    shape = graph.tensors[graph.inputs[0]].shape
    s = person_task("train", size=shape[1], channels=shape[3], hard_negatives_count=hard_negatives)
    name = f"person_task:train:hn{hard_negatives}:val{val_fraction}:s{seed}"
    return _make(name, graph, s.images, s.labels, 2, val_fraction, seed)


def folder_data(graph: Graph, root: str | Path, val_fraction: float = 0.3, seed: int = 0) -> TaskData:
    """An image folder (one subfolder per class) -> fit / held-out; the cache key hashes the file list."""
    from ..data.folder import list_classes, load_folder

    shape = graph.tensors[graph.inputs[0]].shape
    images, labels, classes = load_folder(root, size=shape[1], channels=shape[3])
    h = hashlib.sha256()
    for cname, files in list_classes(Path(root)):
        h.update(cname.encode())
        for f in files:
            h.update(f"{f.name}:{f.stat().st_size}".encode())
    name = f"folder:{Path(root).resolve()}:{h.hexdigest()[:12]}:val{val_fraction}:s{seed}"
    return _make(name, graph, images, labels, len(classes), val_fraction, seed)


def prefix_tensors(graph: Graph, start_op: int) -> list[int]:
    """Non-constant tensors produced before `start_op` (or graph inputs) that ops from `start_op` on read."""
    produced = set(graph.inputs)
    for op in graph.ops[:start_op]:
        produced.update(op.outputs)
    read = {t for op in graph.ops[start_op:] for t in op.inputs if t >= 0}
    return sorted(t for t in produced & read if not graph.tensors[t].is_const)


def prefix_cache(graph: Graph, x: np.ndarray, start_op: int) -> list[Cache]:
    """For each image, the activations the ops from `start_op` on need (start_op 0: just the input)."""
    keep = prefix_tensors(graph, start_op)
    out = []
    for xi in x:
        if start_op == 0:
            out.append({graph.inputs[0]: xi[None]})
            continue
        prefix = Graph(graph.tensors, graph.ops[:start_op], graph.inputs, [], graph.name)
        acts = forward(prefix, xi[None])
        out.append({t: acts[t] for t in keep})
    return out
