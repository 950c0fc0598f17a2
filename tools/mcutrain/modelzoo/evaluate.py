"""Run an int8 .tflite on a batch with LiteRT (reference kernels) or TFLite Micro; no TensorFlow."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from mcutrain.data.quantize import quantize

Engine = Literal["litert", "tflm"]


def input_quant(path: str | Path) -> tuple[float, int, tuple[int, ...]]:
    """(scale, zero_point, shape) of the model's input tensor."""
    from mcutrain.modelzoo.tflite_info import read

    info = read(path)
    t = info.tensors[info.inputs[0]]
    return t.scales[0], t.zero_points[0], t.shape


def _litert(model: bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]

    def run(x: np.ndarray) -> np.ndarray:
        it.set_tensor(i, x)
        it.invoke()
        return it.get_tensor(o).copy()

    return run


def _tflm(model: bytes):
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(model)

    def run(x: np.ndarray) -> np.ndarray:
        it.set_input(x, 0)
        it.invoke()
        return np.array(it.get_output(0), copy=True)

    return run


def predict_int8(path: str | Path, x_int8: np.ndarray, engine: Engine = "litert") -> np.ndarray:
    """(N, H, W, C) int8 inputs -> (N, classes) int8 outputs, one invoke per image."""
    model = Path(path).read_bytes()
    run = _litert(model) if engine == "litert" else _tflm(model)
    return np.concatenate([run(x[None]) for x in x_int8])


def accuracy(path: str | Path, images: np.ndarray, labels: np.ndarray, engine: Engine = "litert") -> float:
    """Top-1 accuracy of the int8 model on float [0, 1] (or uint8) NHWC images already at input size."""
    scale, zp, _ = input_quant(path)
    x = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images
    out = predict_int8(path, quantize(x, scale, zp), engine)
    return float(np.mean(out.argmax(1) == labels))
