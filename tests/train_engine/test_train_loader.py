"""The loader refuses corrupted training programs with an error code and never crashes (ASan/UBSan)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from helpers import build, toy

from mcutrain import hostlib
from mcutrain.compiler.emit_train import TrainConfig
from mcutrain.compiler.scheme import LayerUpdate, Scheme

ENGINE_TESTS = Path(__file__).resolve().parents[1] / "engine"
SCHEME = Scheme("toy", {0: LayerUpdate(0, True, 3), 1: LayerUpdate(1, True, 5), 7: LayerUpdate(7, True, 2)})


def program(mode: str = "int") -> bytes:
    return build(toy(), SCHEME, mode, TrainConfig(lr=0.05))[1].blob


def reseal(b: bytearray) -> bytes:
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


def op_offset(blob: bytes, opcode: int) -> int:
    o_off, n_ops = struct.unpack_from("<I", blob, 28)[0], struct.unpack_from("<H", blob, 22)[0]
    return next(o_off + 32 * i for i in range(n_ops) if blob[o_off + 32 * i] == opcode)


def test_valid_training_programs_load() -> None:
    assert hostlib.check_program(program("int")) == 0
    assert hostlib.check_program(program("fp32")) == 0


def test_targeted_corruptions() -> None:
    blob = program()
    train_off = struct.unpack_from("<I", blob, 52)[0]
    cases = []
    b = bytearray(blob)  # training section outside the blob
    struct.pack_into("<I", b, 52, len(b) - 8)
    cases.append((b, 6))
    b = bytearray(blob)  # more forward ops than ops
    struct.pack_into("<H", b, train_off, 0xFFFF)
    cases.append((b, 11))
    b = bytearray(blob)  # more state regions than MCT_MAX_STATE (64)
    struct.pack_into("<H", b, train_off + 2, 65)
    cases.append((b, 11))
    b = bytearray(blob)  # a state region past the arena
    struct.pack_into("<I", b, train_off + 32, 0x7FFFFFF0)
    cases.append((b, 6))
    b = bytearray(blob)  # version 1 may not carry a training section
    struct.pack_into("<H", b, 4, 1)
    cases.append((b, 4))
    b = bytearray(blob)  # update with k * per != gradient size
    off = op_offset(blob, 0xA0)
    p_off = struct.unpack_from("<I", blob, 32)[0] + struct.unpack_from("<I", b, off + 20)[0]
    struct.pack_into("<i", b, p_off + 8, 1000)
    cases.append((b, 11))
    b = bytearray(blob)  # in-place ACT_GRAD whose output is another tensor
    off = op_offset(blob, 0x40)
    struct.pack_into("<H", b, off + 8, (struct.unpack_from("<H", b, off + 8)[0] + 1))
    cases.append((b, 10))
    for i, (b, code) in enumerate(cases):
        assert hostlib.check_program(reseal(b)) == code, i


def _asan_runtime() -> str | None:
    r = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True)
    p = r.stdout.strip()
    return p if r.returncode == 0 and os.path.isabs(p) and os.path.exists(p) else None


@pytest.mark.skipif(_asan_runtime() is None, reason="no libasan")
@pytest.mark.parametrize("mode", ["int", "fp32"])
def test_fuzzed_training_programs_under_asan_ubsan(tmp_path: Path, mode: str) -> None:
    hostlib.build(sanitize=True)
    prog = tmp_path / "train.mctp"
    prog.write_bytes(program(mode))
    env = dict(os.environ, LD_PRELOAD=_asan_runtime() or "", ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1", PYTHONPATH=str(ENGINE_TESTS))
    r = subprocess.run([sys.executable, str(ENGINE_TESTS / "_fuzz_loader.py"), str(prog), "400"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "accepted=" in r.stdout
    assert "ERROR: AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr[-3000:]
