"""Run an int8 model on a target: `infer(model_path, x, target="host")`.

The model is imported (tflite_import), compiled to a program (compiler.emit) and executed by a
backend. "host" runs the device C engine as a shared library (hostlib). Device targets
("qemu", a serial port) plug in as another `Backend` speaking the link protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from .compiler.emit import Program, compile_graph
from .ir import Graph
from .tflite_import import ModelError, load_tflite


class InferenceError(ValueError):
    """Bad input for a model; the message is one line."""


class Backend(Protocol):
    def run(self, program: Program, inputs: list[np.ndarray]) -> list[np.ndarray]: ...


class HostBackend:
    """The engine compiled for the host; one Engine per program blob, reused across calls."""

    def __init__(self, sanitize: bool = False) -> None:
        self.sanitize = sanitize
        self._engines: dict[bytes, object] = {}

    def run(self, program: Program, inputs: list[np.ndarray]) -> list[np.ndarray]:
        from .hostlib import Engine

        key = program.blob
        eng = self._engines.get(key)
        if eng is None:
            eng = Engine(program.blob, sanitize=self.sanitize)
            self._engines = {key: eng}  # keep only the latest program alive
        assert isinstance(eng, Engine)
        for pid, x in zip(program.inputs, inputs, strict=True):
            eng.write(pid, x)
        eng.run()
        return [eng.read(pid) for pid in program.outputs]


_BACKENDS: dict[str, Backend] = {}
_COMPILED: dict[tuple[str, float, int], tuple[Graph, Program]] = {}


def backend(target: str) -> Backend:
    if target not in _BACKENDS:
        if target == "host":
            _BACKENDS[target] = HostBackend()
        else:
            raise InferenceError(f"unknown target '{target}'; available: host")
    return _BACKENDS[target]


def compile_model(model_path: str | Path) -> tuple[Graph, Program]:
    """Import + compile, cached on (path, mtime, size)."""
    p = Path(model_path)
    try:
        st = p.stat()
    except OSError as e:
        raise ModelError(f"{p}: cannot read model file ({e.strerror})") from None
    key = (str(p.resolve()), st.st_mtime, st.st_size)
    if key not in _COMPILED:
        g = load_tflite(p)
        _COMPILED[key] = (g, compile_graph(g, str(p)))
    return _COMPILED[key]


def check_input(g: Graph, x: np.ndarray, index: int = 0) -> np.ndarray:
    t = g.tensors[g.inputs[index]]
    x = np.asarray(x)
    if x.dtype != np.dtype(t.dtype):
        raise InferenceError(f"input '{t.name}' must be {t.dtype}, got {x.dtype}; quantize it first")
    if tuple(x.shape) != tuple(t.shape):
        if x.size == int(np.prod(t.shape)) and x.squeeze().shape == np.empty(t.shape).squeeze().shape:
            return x.reshape(t.shape)
        raise InferenceError(f"input '{t.name}' must have shape {list(t.shape)}, got {list(x.shape)}")
    return x


def infer(model_path: str | Path, x: np.ndarray, target: str = "host") -> np.ndarray:
    """Output 0 of the model for input `x` (dtype and shape of the model's input 0)."""
    g, prog = compile_model(model_path)
    if len(g.inputs) != 1:
        raise InferenceError(f"{model_path}: model has {len(g.inputs)} inputs; infer() takes single-input models")
    x = check_input(g, x)
    return backend(target).run(prog, [x])[0]
