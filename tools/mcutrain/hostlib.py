"""The device engine (firmware/engine/**/*.c) built as a host shared library and driven by ctypes.

`build()` compiles every portable engine source (never ops/arm/) with the host gcc into
build/host/libmcutrain_engine[-asan].so, only when a source or flag changed (content hash).
`Engine(blob)` loads a program into a ctypes-owned, 4-byte aligned arena and runs op ranges.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
from pathlib import Path

import numpy as np

from .paths import BUILD, FIRMWARE

ENGINE_SRC = FIRMWARE / "engine"
# -ffp-contract=off: no fused multiply-adds, so the fp32 training kernels round exactly as on the device.
# -O3: 1.34x faster host steps than -O2 (bench/host_speed.py, measured); results identical (integer math,
# and no float reassociation without -ffast-math).
CFLAGS = ["-std=c99", "-O3", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fPIC", "-shared"]
SANITIZE_FLAGS = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]

STATUS = {
    0: "ok", 1: "bad argument", 2: "truncated program", 3: "not a program (bad magic)",
    4: "unsupported program version", 5: "CRC mismatch", 6: "offset or size out of bounds",
    7: "misaligned blob, arena or offset", 8: "bad tensor record", 9: "unknown opcode", 10: "bad op tensors",
    11: "bad op parameters", 12: "arena too small", 13: "kernel failure",
    14: "graph input/output not in the arena", 15: "tensor read before it is written", 16: "too many tensors",
    17: "training step produced a non-finite loss or gradient (lr too large?): update skipped",
}
E_NUMERIC = 17
_DTYPES = {1: np.int8, 2: np.int32, 3: np.float32, 4: np.int16, 5: np.uint8, 6: np.int16, 7: np.int32}


class EngineError(RuntimeError):
    def __init__(self, what: str, code: int, op: int | None = None) -> None:
        where = f" (op {op})" if op is not None else ""
        super().__init__(f"{what}: {STATUS.get(code, f'status {code}')}{where}")
        self.code = code
        self.op = op


def sources(arm_ops: bool = False) -> list[Path]:
    return sorted(p for p in ENGINE_SRC.rglob("*.c")
                  if arm_ops or "arm" not in p.relative_to(ENGINE_SRC).parts[:-1])


def build(sanitize: bool = False, cc: str = "gcc", arm_ops: bool = False) -> Path:
    """arm_ops: build the Cortex-M kernels (ops/arm/) with their portable DSP-instruction emulation,
    to check them bit for bit on the host."""
    name = "libmcutrain_engine" + ("-asan" if sanitize else "") + ("-armsim" if arm_ops else "") + ".so"
    out = BUILD / "host" / name
    flags = CFLAGS + (SANITIZE_FLAGS if sanitize else []) + (["-DMCT_USE_ARM_OPS"] if arm_ops else [])
    h = hashlib.sha256(" ".join([cc, *flags]).encode())
    for p in sorted(ENGINE_SRC.rglob("*")):
        if p.is_file() and p.suffix in (".c", ".h"):
            h.update(str(p.relative_to(ENGINE_SRC)).encode() + b"\0" + p.read_bytes())
    stamp = out.with_suffix(".so.sha256")
    if out.exists() and stamp.exists() and stamp.read_text() == h.hexdigest():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    cmd = [cc, *flags, "-I", str(ENGINE_SRC), "-o", str(tmp), *map(str, sources(arm_ops))]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"engine build failed:\n{' '.join(cmd)}\n{r.stderr}")
    tmp.replace(out)
    stamp.write_text(h.hexdigest())
    return out


class _Program(ctypes.Structure):
    _fields_ = [
        ("blob", ctypes.c_void_p), ("size", ctypes.c_uint32), ("tensor_table", ctypes.c_void_p),
        ("op_table", ctypes.c_void_p), ("consts", ctypes.c_void_p), ("io_table", ctypes.c_void_p),
        ("consts_size", ctypes.c_uint32), ("arena_size", ctypes.c_uint32), ("n_tensors", ctypes.c_uint16),
        ("n_ops", ctypes.c_uint16), ("n_inputs", ctypes.c_uint16), ("n_outputs", ctypes.c_uint16),
        ("first_bad_op", ctypes.c_uint32), ("version", ctypes.c_uint16), ("n_forward_ops", ctypes.c_uint16),
        ("train", ctypes.c_void_p), ("n_state", ctypes.c_uint16), ("label_id", ctypes.c_uint16),
        ("result_id", ctypes.c_uint16), ("logits_id", ctypes.c_uint16),
    ]


class _Engine(ctypes.Structure):
    _fields_ = [("prog", ctypes.c_void_p), ("arena", ctypes.c_void_p), ("arena_size", ctypes.c_uint32),
                ("hook", ctypes.c_void_p), ("hook_ctx", ctypes.c_void_p)]


class _TrainResult(ctypes.Structure):
    _fields_ = [("loss", ctypes.c_float), ("predicted", ctypes.c_int32)]


class _Tensor(ctypes.Structure):
    _fields_ = [
        ("dtype", ctypes.c_uint8), ("storage", ctypes.c_uint8), ("rank", ctypes.c_uint8), ("flags", ctypes.c_uint8),
        ("dims", ctypes.c_uint16 * 4), ("zero_point", ctypes.c_int32), ("scale_bits", ctypes.c_uint32),
        ("offset", ctypes.c_uint32), ("nbytes", ctypes.c_uint32), ("init_off", ctypes.c_uint32),
    ]


_LIBS: dict[tuple[bool, bool], ctypes.CDLL] = {}


def library(sanitize: bool = False, arm_ops: bool = False) -> ctypes.CDLL:
    key = (sanitize, arm_ops)
    if key not in _LIBS:
        lib = ctypes.CDLL(str(build(sanitize, arm_ops=arm_ops)))
        P, E = ctypes.POINTER(_Program), ctypes.POINTER(_Engine)
        u32 = ctypes.c_uint32
        lib.mct_program_load.argtypes = [P, ctypes.c_void_p, u32]
        lib.mct_engine_init.argtypes = [E, P, ctypes.c_void_p, u32]
        lib.mct_engine_reset.argtypes = [E]
        lib.mct_engine_run.argtypes = [E, u32, u32]
        lib.mct_program_tensor.argtypes = [P, u32, ctypes.POINTER(_Tensor)]
        lib.mct_engine_tensor.argtypes = [E, u32, ctypes.POINTER(u32)]
        lib.mct_engine_tensor.restype = ctypes.c_void_p
        lib.mct_crc32.argtypes = [u32, ctypes.c_char_p, u32]
        lib.mct_crc32.restype = u32
        lib.mct_engine_train_step.argtypes = [E, ctypes.c_int32, ctypes.POINTER(_TrainResult)]
        lib.mct_engine_infer.argtypes = [E]
        lib.mct_program_forward_ops.argtypes = [P]
        lib.mct_program_forward_ops.restype = u32
        lib.mct_program_logits.argtypes = [P]
        lib.mct_program_logits.restype = ctypes.c_int32
        lib.mct_program_state_count.argtypes = [P]
        lib.mct_program_state_count.restype = u32
        lib.mct_program_state_region.argtypes = [P, u32, ctypes.POINTER(u32), ctypes.POINTER(u32)]
        _LIBS[key] = lib
    return _LIBS[key]


def _aligned_buffer(data: bytes | int) -> tuple[ctypes.Array, int]:
    """A ctypes buffer and a 16-byte aligned address inside it holding `data` (or that many zeros)."""
    n = data if isinstance(data, int) else len(data)
    raw = (ctypes.c_uint8 * (n + 16))()
    addr = (ctypes.addressof(raw) + 15) // 16 * 16
    if not isinstance(data, int):
        ctypes.memmove(addr, data, n)
    return raw, addr


def check_program(blob: bytes, sanitize: bool = False) -> int:
    """Status code of loading `blob` (0 = valid), without running it."""
    lib = library(sanitize)
    raw, addr = _aligned_buffer(blob)
    prog = _Program()
    return int(lib.mct_program_load(ctypes.byref(prog), ctypes.c_void_p(addr), len(blob)))


class Engine:
    """One loaded program over its own arena."""

    def __init__(self, blob: bytes, arena_size: int | None = None, sanitize: bool = False,
                 arm_ops: bool = False) -> None:
        self.lib = library(sanitize, arm_ops)
        self._blob_buf, addr = _aligned_buffer(bytes(blob))
        self._prog = _Program()
        s = self.lib.mct_program_load(ctypes.byref(self._prog), ctypes.c_void_p(addr), len(blob))
        if s != 0:
            bad = self._prog.first_bad_op
            raise EngineError("program rejected", s, None if bad == 0xFFFFFFFF else bad)
        n = self._prog.arena_size if arena_size is None else arena_size
        self._arena_buf, self._arena_addr = _aligned_buffer(max(n, 4))
        self._eng = _Engine()
        s = self.lib.mct_engine_init(ctypes.byref(self._eng), ctypes.byref(self._prog),
                                     ctypes.c_void_p(self._arena_addr), n)
        if s != 0:
            raise EngineError("engine init failed", s)

    @property
    def n_ops(self) -> int:
        return int(self._prog.n_ops)

    @property
    def n_tensors(self) -> int:
        return int(self._prog.n_tensors)

    @property
    def arena_size(self) -> int:
        return int(self._prog.arena_size)

    def input_ids(self) -> list[int]:
        return [self.lib.mct_program_input(ctypes.byref(self._prog), i) for i in range(self._prog.n_inputs)]

    def output_ids(self) -> list[int]:
        return [self.lib.mct_program_output(ctypes.byref(self._prog), i) for i in range(self._prog.n_outputs)]

    def tensor_info(self, tid: int) -> tuple[np.dtype, tuple[int, ...]]:
        t = _Tensor()
        if self.lib.mct_program_tensor(ctypes.byref(self._prog), tid, ctypes.byref(t)) != 0:
            raise IndexError(f"no tensor {tid}")
        return np.dtype(_DTYPES[t.dtype]), tuple(int(d) for d in t.dims[: t.rank])

    def _view(self, tid: int) -> np.ndarray:
        n = ctypes.c_uint32()
        addr = self.lib.mct_engine_tensor(ctypes.byref(self._eng), tid, ctypes.byref(n))
        if not addr:
            raise IndexError(f"no tensor {tid}")
        dtype, shape = self.tensor_info(tid)
        buf = (ctypes.c_uint8 * n.value).from_address(addr)
        return np.frombuffer(buf, dtype=dtype).reshape(shape)

    def read(self, tid: int) -> np.ndarray:
        return self._view(tid).copy()

    def write(self, tid: int, value: np.ndarray) -> None:
        dtype, shape = self.tensor_info(tid)
        v = np.asarray(value)
        if v.dtype != dtype or v.size != int(np.prod(shape)):
            raise ValueError(f"tensor {tid} is {dtype}{list(shape)}, got {v.dtype}{list(v.shape)}")
        self._view(tid)[...] = v.reshape(shape)

    def run(self, start_op: int = 0, end_op: int | None = None) -> None:
        end = self.n_ops if end_op is None else end_op
        s = self.lib.mct_engine_run(ctypes.byref(self._eng), start_op, end)
        if s != 0:
            raise EngineError(f"run ops [{start_op}, {end})", s)

    def reset(self) -> None:
        self.lib.mct_engine_reset(ctypes.byref(self._eng))


class Trainer:
    """A version-2 training program on the host engine: one SGD step per `train_step`, inference with the
    current weights, and the learned state as bytes (the same regions a device checkpoints)."""

    def __init__(self, blob: bytes, sanitize: bool = False, arena_size: int | None = None) -> None:
        self.engine = Engine(blob, arena_size=arena_size, sanitize=sanitize)
        self.lib = self.engine.lib
        prog = ctypes.byref(self.engine._prog)
        if not self.engine._prog.train:
            raise EngineError("not a training program", 1)
        self.n_forward_ops = int(self.lib.mct_program_forward_ops(prog))
        self.logits_id = int(self.lib.mct_program_logits(prog))
        self.input_id = self.engine.input_ids()[0]
        self.regions: list[tuple[int, int]] = []
        for i in range(int(self.lib.mct_program_state_count(prog))):
            off, n = ctypes.c_uint32(), ctypes.c_uint32()
            self.lib.mct_program_state_region(prog, i, ctypes.byref(off), ctypes.byref(n))
            self.regions.append((off.value, n.value))

    @property
    def arena_size(self) -> int:
        return self.engine.arena_size

    def _set_input(self, x: np.ndarray) -> None:
        self.engine.write(self.input_id, np.asarray(x, np.int8))

    def train_step(self, x: np.ndarray, label: int) -> tuple[float, int]:
        """One SGD step on (x, label); returns (loss, predicted) of the forward pass before the update."""
        self._set_input(x)
        res = _TrainResult()
        s = self.lib.mct_engine_train_step(ctypes.byref(self.engine._eng), int(label), ctypes.byref(res))
        if s != 0:
            raise EngineError("train step", s)
        return float(res.loss), int(res.predicted)

    def infer(self, x: np.ndarray) -> np.ndarray:
        """int8 logits with the current weights (runs the forward prefix only)."""
        self._set_input(x)
        s = self.lib.mct_engine_infer(ctypes.byref(self.engine._eng))
        if s != 0:
            raise EngineError("infer", s)
        return self.engine.read(self.logits_id)

    def _arena(self) -> np.ndarray:
        buf = (ctypes.c_uint8 * self.engine.arena_size).from_address(self.engine._arena_addr)
        return np.frombuffer(buf, np.uint8)

    def state(self) -> bytes:
        a = self._arena()
        return b"".join(a[o: o + n].tobytes() for o, n in self.regions)

    def set_state(self, data: bytes) -> None:
        if len(data) != sum(n for _, n in self.regions):
            raise ValueError(f"state is {sum(n for _, n in self.regions)} bytes, got {len(data)}")
        a = self._arena()
        pos = 0
        for o, n in self.regions:
            a[o: o + n] = np.frombuffer(data[pos: pos + n], np.uint8)
            pos += n

    def reset(self) -> None:
        self.engine.reset()

    def read(self, tid: int) -> np.ndarray:
        """Any program tensor (parameters, gradients of the last step, ...)."""
        return self.engine.read(tid)

    def exponent(self, tid: int) -> int:
        """int mode: the run-time power-of-two exponent of a gradient tensor (real = q * 2^exp)."""
        t = _Tensor()
        self.lib.mct_program_tensor(ctypes.byref(self.engine._prog), tid, ctypes.byref(t))
        if t.dtype not in (6, 7):
            raise ValueError(f"tensor {tid} has no exponent")
        return int(self._arena()[t.init_off: t.init_off + 4].view(np.int32)[0])

    def run(self, start: int, end: int) -> None:
        self.engine.run(start, end)
