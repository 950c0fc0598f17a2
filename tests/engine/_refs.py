"""Run a .tflite model through the independent reference (TFLite Micro's Python interpreter) and
through our engine, returning every tensor each one can show."""

from __future__ import annotations

import numpy as np
from tflite_micro.python.tflite_micro import runtime

from mcutrain.compiler.emit import compile_graph
from mcutrain.hostlib import Engine
from mcutrain.tflite_import import parse_tflite


def tflm_run(
    buf: bytes, inputs: list[np.ndarray], tensor_ids: list[int], arena: int = 4 << 20
) -> dict[int, np.ndarray]:
    it = runtime.Interpreter.from_bytes(buf, arena_size=arena,
                                        intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    for i, x in enumerate(inputs):
        it.set_input(x, i)
    it.invoke()
    return {t: np.asarray(it.GetTensor(t, 0)["tensor_data"]) for t in tensor_ids}


def engine_run(buf: bytes, inputs: list[np.ndarray], arm_ops: bool = False) -> dict[int, np.ndarray]:
    """Every op output of our engine (IR tensor id -> array), read right after its op ran."""
    g = parse_tflite(buf, "test.tflite")
    prog = compile_graph(g, "test.tflite")
    eng = Engine(prog.blob, arm_ops=arm_ops)
    for pid, x in zip(prog.inputs, inputs, strict=True):
        eng.write(pid, x)
    out: dict[int, np.ndarray] = {}
    for i, op in enumerate(g.ops):
        eng.run(i, i + 1)
        for t in op.outputs:
            out[t] = eng.read(prog.tensor_ids[t])
    return out


def compare(buf: bytes, inputs: list[np.ndarray]) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    ours = engine_run(buf, inputs)
    ref = tflm_run(buf, inputs, list(ours))
    return ours, ref
