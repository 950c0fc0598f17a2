"""The program loader rejects corrupted programs with an error code and never crashes."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from _tfl_builder import ModelBuilder

from mcutrain import hostlib
from mcutrain.compiler.emit import compile_graph
from mcutrain.tflite_import import parse_tflite

HERE = Path(__file__).parent


def _small_program() -> bytes:
    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.tensor([1, 5, 5, 2], scale=0.05, zero_point=1)
    w = mb.tensor([3, 3, 3, 2], scale=[0.01] * 3, zero_point=[0] * 3, data=rng.integers(-127, 128, (3, 3, 3, 2)))
    b = mb.tensor([3], "int32", scale=[0.0005] * 3, zero_point=[0] * 3, data=[1, -2, 3])
    y = mb.tensor([1, 3, 3, 3], scale=0.1, zero_point=-3)
    mb.conv(x, w, b, y, 2, "SAME", "RELU6")
    y2 = mb.tensor([1, 1, 1, 3], scale=0.1, zero_point=-3)
    mb.pool(y, y2, "max", 3, 1, "VALID")
    shp = mb.tensor([2], "int32", data=np.array([1, 3]))
    y3 = mb.tensor([1, 3], scale=0.1, zero_point=-3)
    mb.reshape(y2, shp, y3, [1, 3])
    y4 = mb.tensor([1, 3], scale=1 / 256, zero_point=-128)
    mb.softmax(y3, y4)
    return compile_graph(parse_tflite(mb.build([x], [y4])), "small").blob


def _reseal(b: bytearray) -> bytes:
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


def test_valid_program_loads() -> None:
    assert hostlib.check_program(_small_program()) == 0


def test_bit_flip_is_crc_error() -> None:
    blob = bytearray(_small_program())
    blob[len(blob) // 2] ^= 0x10
    with pytest.raises(hostlib.EngineError, match="CRC mismatch"):
        hostlib.Engine(bytes(blob))


@pytest.mark.parametrize(("cut", "code"), [(0, 2), (10, 2), (56, 2), (-1, 2)])
def test_truncation(cut: int, code: int) -> None:
    blob = _small_program()
    assert hostlib.check_program(blob[:cut]) == code


def test_bad_magic_and_version() -> None:
    blob = bytearray(_small_program())
    assert hostlib.check_program(b"XXXX" + bytes(blob[4:])) == 3
    blob[4] = 9
    assert hostlib.check_program(bytes(blob)) == 4


def test_bad_offsets_rejected_even_with_valid_crc() -> None:
    blob = _small_program()
    # tensor 0's arena offset far outside the arena
    b = bytearray(blob)
    t_off = struct.unpack_from("<I", b, 24)[0]
    struct.pack_into("<I", b, t_off + 20, 0x7FFFFFF0)
    assert hostlib.check_program(_reseal(b)) == 6
    # op table offset past the end
    b = bytearray(blob)
    struct.pack_into("<I", b, 28, len(b))
    assert hostlib.check_program(_reseal(b)) == 6
    # an op naming a tensor id that does not exist
    b = bytearray(blob)
    o_off = struct.unpack_from("<I", b, 28)[0]
    struct.pack_into("<H", b, o_off + 4, 999)
    assert hostlib.check_program(_reseal(b)) == 10
    # unknown opcode
    b = bytearray(blob)
    b[o_off] = 0x3F
    assert hostlib.check_program(_reseal(b)) == 9
    # parameter record shorter than the op needs
    b = bytearray(blob)
    struct.pack_into("<I", b, o_off + 24, 8)
    assert hostlib.check_program(_reseal(b)) == 11


def test_arena_too_small() -> None:
    blob = _small_program()
    with pytest.raises(hostlib.EngineError, match="arena too small"):
        hostlib.Engine(blob, arena_size=8)


def _asan_runtime() -> str | None:
    r = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True)
    p = r.stdout.strip()
    return p if r.returncode == 0 and os.path.isabs(p) and os.path.exists(p) else None


@pytest.mark.skipif(_asan_runtime() is None, reason="no libasan")
def test_fuzzed_programs_under_asan_ubsan(tmp_path: Path) -> None:
    hostlib.build(sanitize=True)
    prog = tmp_path / "small.mctp"
    prog.write_bytes(_small_program())
    env = dict(os.environ, LD_PRELOAD=_asan_runtime() or "", ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1", PYTHONPATH=str(HERE))
    r = subprocess.run([sys.executable, str(HERE / "_fuzz_loader.py"), str(prog), "600"], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "accepted=" in r.stdout
    assert "ERROR: AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr[-3000:]
