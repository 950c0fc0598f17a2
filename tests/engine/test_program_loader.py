"""The program loader rejects corrupted programs with an error code and never crashes."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from _tfl_builder import ModelBuilder
from _tfl_samples import conv_pool_softmax

from mcutrain import hostlib
from mcutrain.compiler.emit import compile_graph
from mcutrain.ir import Graph, Tensor
from mcutrain.tflite_import import ModelError, parse_tflite

HERE = Path(__file__).parent


def _small_program() -> bytes:
    return compile_graph(parse_tflite(conv_pool_softmax()), "small").blob


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
@pytest.mark.parametrize("seed", [1234, 7, 99])  # 7 and 99 found strides whose window arithmetic overflowed
def test_fuzzed_programs_under_asan_ubsan(tmp_path: Path, seed: int) -> None:
    hostlib.build(sanitize=True)
    prog = tmp_path / "small.mctp"
    prog.write_bytes(_small_program())
    env = dict(os.environ, LD_PRELOAD=_asan_runtime() or "", ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1", PYTHONPATH=str(HERE))
    r = subprocess.run([sys.executable, str(HERE / "_fuzz_loader.py"), str(prog), "600", str(seed)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "accepted=" in r.stdout
    assert "ERROR: AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr[-3000:]


def _io_and_tensors(blob: bytes) -> tuple[int, int, list[int]]:
    """(io table offset, tensor table offset, storage of every tensor)"""
    n_t, t_off, io_off = struct.unpack_from("<H", blob, 20)[0], struct.unpack_from("<I", blob, 24)[0], \
        struct.unpack_from("<I", blob, 44)[0]
    return io_off, t_off, [blob[t_off + 32 * i + 1] for i in range(n_t)]


def _ops_at(b: bytes | bytearray) -> int:
    """Offset of the op table."""
    return struct.unpack_from("<I", b, 28)[0]


def _assert_unwritten_read(b: bytearray, op: int) -> None:
    """The resealed program is refused at `op`, which reads a tensor nothing wrote before it."""
    with pytest.raises(hostlib.EngineError) as e:
        hostlib.Engine(_reseal(b))
    assert e.value.code == 15 and e.value.op == op


@pytest.mark.parametrize("which", ["input", "output"])
def test_graph_io_in_constant_pool_refused(which: str) -> None:
    blob = _small_program()
    io_off, _, storage = _io_and_tensors(blob)
    b = bytearray(blob)
    struct.pack_into("<H", b, io_off + (0 if which == "input" else 2), storage.index(1))  # a constant
    assert hostlib.check_program(_reseal(b)) == 14  # MCT_E_IO


def test_graph_input_moved_to_intermediate_refused() -> None:
    """The first op would read the old input tensor, which nothing writes (stale arena bytes)."""
    blob = _small_program()
    io_off, _, _ = _io_and_tensors(blob)
    b = bytearray(blob)
    conv_out = struct.unpack_from("<H", b, _ops_at(b) + 4 + 2 * 3)[0]  # conv: x, w, b -> y
    struct.pack_into("<H", b, io_off, conv_out)
    _assert_unwritten_read(b, op=0)


def test_op_reading_a_later_tensor_refused() -> None:
    """An op whose input is only written by a later op."""
    blob = _small_program()
    b = bytearray(blob)
    o_off = _ops_at(b)
    n_ops = struct.unpack_from("<H", b, 22)[0]
    # the pool (op 1) reads the reshape's output (op 2) instead of the conv's: same dtype, not yet written
    pool_out = struct.unpack_from("<H", b, o_off + 32 + 4 + 2)[0]
    reshape_in = struct.unpack_from("<H", b, o_off + 64 + 4)[0]
    assert reshape_in == pool_out and n_ops == 4
    struct.pack_into("<H", b, o_off + 32 + 4, pool_out)  # pool reads its own output
    _assert_unwritten_read(b, op=1)


def test_unwritten_output_refused() -> None:
    """A graph output no op writes."""
    blob = _small_program()
    b = bytearray(blob)
    n_ops = struct.unpack_from("<H", b, 22)[0]
    struct.pack_into("<H", b, 22, n_ops - 1)  # drop the softmax: the output is never written
    assert hostlib.check_program(_reseal(b)) == 15


def test_tensor_count_limit() -> None:
    b = bytearray(_small_program())
    struct.pack_into("<H", b, 20, 2049)  # MCT_MAX_TENSORS + 1
    assert hostlib.check_program(_reseal(b)) == 16  # MCT_E_LIMIT


def _orphan_output(g: Graph) -> None:
    g.tensors.append(Tensor(name="orphan", dtype="int8", shape=(1, 3), quant=g.tensors[g.outputs[0]].quant))
    g.outputs = [*g.outputs, len(g.tensors) - 1]


def _bad_weight_shape(g: Graph) -> None:
    g.tensors[g.ops[1].inputs[1]].shape = (3, 5)  # depth 5 does not divide the 3 inputs


EDITS: dict[str, Callable[[Graph], None]] = {
    "is stored in the constant pool": lambda g: setattr(g, "inputs", [g.ops[0].inputs[1]]),
    "before any op writes it": lambda g: setattr(g, "inputs", [g.ops[0].outputs[0]]),
    "do not fit input": _bad_weight_shape,
    "is never written": _orphan_output,
}


@pytest.mark.parametrize("match", list(EDITS))
def test_emitter_refuses_what_the_loader_refuses(match: str) -> None:
    """IR graphs edited past the importer's checks: the emitter's own one-line errors, not a loader status."""
    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.tensor([1, 8], scale=0.05, zero_point=1)
    w = mb.tensor([3, 8], scale=[0.01] * 3, zero_point=[0] * 3, data=rng.integers(-127, 128, (3, 8)))
    y = mb.tensor([1, 3], scale=0.1, zero_point=-3)
    mb.fc(x, w, -1, y)
    w2 = mb.tensor([3, 3], scale=[0.01] * 3, zero_point=[0] * 3, data=rng.integers(-127, 128, (3, 3)))
    y2 = mb.tensor([1, 3], scale=0.2, zero_point=0)
    mb.fc(y, w2, -1, y2)
    buf = mb.build([x], [y2])
    assert hostlib.check_program(compile_graph(parse_tflite(buf), "ok").blob) == 0
    g = parse_tflite(buf)
    EDITS[match](g)
    with pytest.raises(ModelError, match=match) as e:
        compile_graph(g, "edited")
    assert "\n" not in str(e.value)
