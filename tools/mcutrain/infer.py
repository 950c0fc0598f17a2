"""Run an int8 model on a target: `infer(model_path, x, target="host")`.

The model is imported (tflite_import), compiled to a program (compiler.emit) and executed by a
backend: "host" runs the device C engine as a shared library (hostlib); "qemu" boots the firmware
on an emulated STM32F405 with the program in its flash (one emulator per program, kept for
further calls); a serial port ("/dev/ttyACM0", "COM3", a pyserial URL) talks to a real board
running the firmware, uploading the program first unless the board already has it.
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


class DeviceBackend:
    """A board running the mcutrain firmware: "qemu" or a serial port."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._dev: object | None = None
        self._blob: bytes | None = None

    def device(self, program: Program) -> object:
        """The mcutrain.device.client.DeviceTarget that runs `program` (booted/uploaded on demand)."""
        from .device.client import DeviceError, DeviceTarget, program_model_id

        if self._dev is not None and self._blob == program.blob:
            return self._dev
        if self.target == "qemu":
            self.close()  # one emulator per program: it sits in the (read-only) flash
            self._dev = DeviceTarget.qemu(program=program.blob)
        else:
            if self._dev is None:
                self._dev = DeviceTarget.serial(self.target)
            dev = self._dev
            assert isinstance(dev, DeviceTarget)
            if dev.model_id != program_model_id(program.blob):
                try:
                    dev.load_program(program.blob)
                except DeviceError as e:
                    raise InferenceError(str(e)) from None
        self._blob = program.blob
        return self._dev

    def run(self, program: Program, inputs: list[np.ndarray]) -> list[np.ndarray]:
        from .device.client import DeviceTarget

        if len(inputs) != 1 or len(program.outputs) != 1:
            raise InferenceError("device targets run single-input, single-output models")
        dev = self.device(program)
        assert isinstance(dev, DeviceTarget)
        logits = dev.infer(inputs[0])
        return [logits.reshape(program.tensors[program.outputs[0]].shape)]

    def close(self) -> None:
        if self._dev is not None:
            self._dev.close()  # type: ignore[attr-defined]
        self._dev = None
        self._blob = None


def _is_port(target: str) -> bool:
    return target.startswith("/dev/") or "://" in target or target.upper().startswith("COM")


_BACKENDS: dict[str, Backend] = {}
_COMPILED: dict[tuple[str, float, int], tuple[Graph, Program]] = {}


def backend(target: str) -> Backend:
    if target not in _BACKENDS:
        if target == "host":
            _BACKENDS[target] = HostBackend()
        elif target == "qemu" or _is_port(target):
            _BACKENDS[target] = DeviceBackend(target)
        else:
            raise InferenceError(f"unknown target '{target}'; available: host, qemu, a serial port (/dev/ttyX)")
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
