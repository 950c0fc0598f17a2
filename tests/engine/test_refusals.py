"""Models the engine cannot run are refused with one line naming the op and the layer;
bad inputs to infer() get one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _tfl_builder import ModelBuilder
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

from mcutrain.infer import InferenceError, infer
from mcutrain.tflite_import import ModelError, parse_tflite


def test_unsupported_op_names_op_and_layer() -> None:
    mb = ModelBuilder()
    x = mb.tensor([1, 4], scale=0.1, zero_point=0)
    y = mb.tensor([1, 4], scale=1 / 128, zero_point=0, name="head/tanh")
    mb.op(s.BuiltinOperator.TANH, [x], [y])
    with pytest.raises(ModelError) as e:
        parse_tflite(mb.build([x], [y]), "tanh.tflite")
    msg = str(e.value)
    assert "\n" not in msg and "TANH" in msg and "head/tanh" in msg


def test_float_model_refused() -> None:
    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.tensor([1, 3], "float32")
    w = mb.tensor([2, 3], "float32", data=rng.normal(size=(2, 3)))
    b = mb.tensor([2], "float32", data=np.zeros(2))
    y = mb.tensor([1, 2], "float32", name="dense/out")
    mb.fc(x, w, b, y)
    with pytest.raises(ModelError) as e:
        parse_tflite(mb.build([x], [y]), "float.tflite")
    msg = str(e.value)
    assert "\n" not in msg and "FULLY_CONNECTED" in msg and "dense/out" in msg and "float32" in msg


def test_broadcast_add_refused_by_compiler(tmp_path: Path) -> None:
    mb = ModelBuilder()
    a = mb.tensor([1, 2, 2, 3], scale=0.1, zero_point=0)
    b = mb.tensor([1, 1, 1, 3], scale=0.1, zero_point=0)
    y = mb.tensor([1, 2, 2, 3], scale=0.1, zero_point=0, name="res/add")
    mb.add(a, b, y)
    p = tmp_path / "bcast.tflite"
    p.write_bytes(mb.build([a, b], [y]))
    from mcutrain.compiler.emit import compile_graph
    from mcutrain.tflite_import import load_tflite

    with pytest.raises(ModelError, match=r"ADD at layer 0 'res/add'.*broadcast"):
        compile_graph(load_tflite(p), str(p))


def _tiny_model(tmp_path: Path) -> Path:
    mb = ModelBuilder()
    x = mb.tensor([1, 2, 2, 1], scale=0.1, zero_point=0)
    y = mb.tensor([1, 1, 1, 1], scale=0.1, zero_point=0)
    mb.pool(x, y, "max", 2, 2, "VALID")
    p = tmp_path / "tiny.tflite"
    p.write_bytes(mb.build([x], [y]))
    return p


def test_infer_checks_dtype_and_shape(tmp_path: Path) -> None:
    p = _tiny_model(tmp_path)
    assert infer(p, np.array([1, 5, -3, 2], np.int8).reshape(1, 2, 2, 1)).ravel().tolist() == [5]
    with pytest.raises(InferenceError, match="must be int8, got float32"):
        infer(p, np.zeros((1, 2, 2, 1), np.float32))
    with pytest.raises(InferenceError, match=r"must have shape \[1, 2, 2, 1\], got \[1, 3\]"):
        infer(p, np.zeros((1, 3), np.int8))
    with pytest.raises(InferenceError, match="unknown target"):
        infer(p, np.zeros((1, 2, 2, 1), np.int8), target="nowhere")
    with pytest.raises(ModelError, match="cannot read"):
        infer(tmp_path / "missing.tflite", np.zeros(1, np.int8))
