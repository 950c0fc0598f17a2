"""Reference helpers for the golden-model tests (TFLite Micro intermediates, cosine)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcutrain.ir import Graph
from mcutrain.paths import shared_data

PD = shared_data() / "tflm_person_detection"


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.ravel(a).astype(np.float64)
    b = np.ravel(b).astype(np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 and nb == 0:
        return 1.0
    return float(a @ b / (na * nb + 1e-300))


def tflm_intermediates(model: bytes | Path, g: Graph, x: np.ndarray) -> dict[int, np.ndarray]:
    """Every op output as TFLite Micro's reference kernels compute it."""
    from tflite_micro.python.tflite_micro import runtime

    data = model.read_bytes() if isinstance(model, Path) else bytes(model)
    it = runtime.Interpreter.from_bytes(data, intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    it.set_input(x, 0)
    it.invoke()
    return {op.outputs[0]: np.asarray(it.GetTensor(op.outputs[0], 0)["tensor_data"]) for op in g.ops}
