"""Mutators for hostile-input testing: generic byte mutations, and structure-aware ones that know
where the fields of a `.tflite` flatbuffer and of a compiled program (docs/schedule-format.md) lie.

Structure-aware mutation works in place: `tflite_fields` walks the flatbuffer once with the
`tflite` accessors and records the absolute byte position, width and meaning of every field worth
attacking (shapes, tensor/buffer/opcode indices, quantization, op options, vector lengths);
`mutate_tflite` then overwrites a few of them with hostile values. The file stays a parsable
flatbuffer, so the mutation reaches the importer's and emitter's semantic checks instead of dying
in the flatbuffer reader. Every mutation is a pure function of the numpy Generator it is given.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import tflite

# ---- values ------------------------------------------------------------------------------------

INTERESTING_INT = [0, 1, -1, 2, 3, 4, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                   0x7FFFFFFF, -0x80000000, 0xFFFFFFFF, 1 << 20, 1 << 24]
INTERESTING_I64 = [0, -128, 127, 128, -129, 255, -255, (1 << 31) - 1, -(1 << 31), (1 << 63) - 1, -(1 << 63)]
INTERESTING_FLOAT = [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 1e-45, 1.17549435e-38, 3.4028235e38,
                     -3.4028235e38, 1e-30, 1e30, 2.0**-32, 2.0**-40, 65536.0, 1.0 / 256, 1e-7]
INTERESTING_BYTES = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE]

_UNSIGNED = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}


def put_int(b: bytearray, pos: int, width: int, value: int) -> None:
    """Write `value` (any sign) as a little-endian two's-complement integer of `width` bytes."""
    struct.pack_into(_UNSIGNED[width], b, pos, value & ((1 << (8 * width)) - 1))


@dataclass(frozen=True)
class Field:
    pos: int  # absolute byte offset in the file
    fmt: str  # struct format of the stored scalar ("<i", "<I", "<b", "<B", "<f", "<q", "<H")
    kind: str  # what it means, for the description of a case ("tensor.shape", "op.inputs", ...)

    @property
    def width(self) -> int:
        return struct.calcsize(self.fmt)


def hostile_value(rng: np.random.Generator, f: Field, current: Any, context: list[int]) -> int | float:
    """A value chosen to break assumptions: boundaries, signs, the table sizes (`context`) +- 1."""
    if f.fmt == "<f":
        pick = int(rng.integers(0, 3))
        if pick == 0 and math.isfinite(current) and current != 0.0:
            return float(current) * float(rng.choice([1e-12, 1e-6, 0.5, 2.0, 1e6, 1e12, -1.0]))
        return float(rng.choice(INTERESTING_FLOAT))
    if f.fmt == "<q":
        return int(rng.choice(INTERESTING_I64)) if rng.random() < 0.8 else int(current) + int(rng.integers(-3, 4))
    if f.width == 1:
        return int(rng.choice(INTERESTING_BYTES + [int(rng.integers(0, 256)), int(current) + 1, int(current) - 1]))
    pick = int(rng.integers(0, 4))
    if pick == 0 and context:
        return int(rng.choice(context)) + int(rng.integers(-1, 2))
    if pick == 1:
        return int(current) + int(rng.choice([-1, 1, -2, 2])) if rng.random() < 0.5 else int(current) * 2
    return int(rng.choice(INTERESTING_INT))


def write_field(b: bytearray, f: Field, value: int | float) -> None:
    if f.fmt == "<f":
        struct.pack_into("<f", b, f.pos, float(np.float32(value)) if math.isfinite(value) else value)
    else:
        put_int(b, f.pos, f.width, int(value))


def read_field(b: bytes | bytearray, f: Field) -> int | float:
    return struct.unpack_from(f.fmt, b, f.pos)[0]


# ---- generic byte mutations --------------------------------------------------------------------


def mutate_bytes(data: bytes, rng: np.random.Generator, lo: int = 0) -> tuple[bytes, str]:
    """One generic mutation at or after byte `lo`: bit flips, interesting bytes/ints, truncation,
    chunk duplication/deletion/random overwrite. Returns (new bytes, description)."""
    b = bytearray(data)
    n = len(b)
    if n <= lo + 8:
        return bytes(b[: max(0, n - 1)]), "truncate-1"
    kind = int(rng.integers(0, 7))
    if kind == 0:
        k = int(rng.integers(1, 9))
        for _ in range(k):
            pos = int(rng.integers(lo, n))
            b[pos] ^= 1 << int(rng.integers(0, 8))
        return bytes(b), f"bitflip x{k}"
    if kind == 1:
        pos = int(rng.integers(lo, n))
        b[pos] = int(rng.choice(INTERESTING_BYTES))
        return bytes(b), f"byte@{pos}={b[pos]:#x}"
    if kind == 2:
        width = int(rng.choice([2, 4, 8]))
        pos = int(rng.integers(lo, n - width))
        v = int(rng.choice(INTERESTING_I64 + INTERESTING_INT))
        put_int(b, pos, width, v)
        return bytes(b), f"int{8 * width}@{pos}={v}"
    if kind == 3:
        cut = int(rng.integers(0, n))
        return bytes(b[:cut]), f"truncate@{cut}"
    start = int(rng.integers(lo, n))
    size = int(min(n - start, rng.choice([1, 2, 4, 8, 16, 64, 256, 4096])))
    if kind == 4:
        at = int(rng.integers(lo, n))
        return bytes(b[:at] + b[start : start + size] + b[at:]), f"dup {size}B@{start}->{at}"
    if kind == 5:
        return bytes(b[:start] + b[start + size :]), f"delete {size}B@{start}"
    b[start : start + size] = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    return bytes(b), f"random {size}B@{start}"


# ---- .tflite structure ---------------------------------------------------------------------------

# Option tables: vtable slot -> struct format, per BuiltinOptions type (schema.fbs field order).
_OPTIONS: dict[int, dict[int, str]] = {
    tflite.BuiltinOptions.Conv2DOptions: {4: "<b", 6: "<i", 8: "<i", 10: "<b", 12: "<i", 14: "<i"},
    tflite.BuiltinOptions.DepthwiseConv2DOptions: {4: "<b", 6: "<i", 8: "<i", 10: "<i", 12: "<b", 14: "<i",
                                                   16: "<i"},
    tflite.BuiltinOptions.Pool2DOptions: {4: "<b", 6: "<i", 8: "<i", 10: "<i", 12: "<i", 14: "<b"},
    tflite.BuiltinOptions.FullyConnectedOptions: {4: "<b", 6: "<b", 8: "<B", 10: "<B"},
    tflite.BuiltinOptions.SoftmaxOptions: {4: "<f"},
    tflite.BuiltinOptions.AddOptions: {4: "<b", 6: "<B"},
    tflite.BuiltinOptions.ReducerOptions: {4: "<B"},
}
_OPTION_VECTORS = {tflite.BuiltinOptions.ReshapeOptions: {4: "<i"}}


def _scalar(tab: Any, slot: int) -> int | None:
    o = tab.Offset(slot)
    return tab.Pos + o if o else None


def _vector(tab: Any, slot: int) -> tuple[int, int] | None:
    """(position of the first element, element count) of a vector field, or None if absent."""
    o = tab.Offset(slot)
    return (tab.Vector(o), tab.VectorLen(o)) if o else None


class _Catalog:
    def __init__(self) -> None:
        self.fields: list[Field] = []

    def scalar(self, tab: Any, slot: int, fmt: str, kind: str) -> None:
        p = _scalar(tab, slot)
        if p is not None:
            self.fields.append(Field(p, fmt, kind))

    def vector(self, tab: Any, slot: int, fmt: str, kind: str, length: bool = True) -> None:
        v = _vector(tab, slot)
        if v is None:
            return
        start, n = v
        if length:
            self.fields.append(Field(start - 4, "<I", kind + ".len"))
        w = struct.calcsize(fmt)
        self.fields.extend(Field(start + i * w, fmt, kind) for i in range(n))


def tflite_fields(buf: bytes) -> list[Field]:
    """Every attackable field of a (valid) .tflite file, with its absolute position."""
    m = tflite.Model.GetRootAsModel(buf, 0)
    c = _Catalog()
    o = m._tab.Offset(6)
    if o:
        c.fields.append(Field(m._tab.Vector(o) - 4, "<I", "model.operator_codes.len"))
    for i in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(i)._tab
        c.scalar(oc, 4, "<b", "opcode.deprecated_builtin_code")
        c.scalar(oc, 10, "<i", "opcode.builtin_code")
    o = m._tab.Offset(8)
    if o:
        c.fields.append(Field(m._tab.Vector(o) - 4, "<I", "model.subgraphs.len"))
    o = m._tab.Offset(12)
    if o:
        c.fields.append(Field(m._tab.Vector(o) - 4, "<I", "model.buffers.len"))
    for i in range(m.BuffersLength()):
        bt = m.Buffers(i)._tab
        v = _vector(bt, 4)
        if v is not None:
            start, n = v
            c.fields.append(Field(start - 4, "<I", "buffer.data.len"))
            if n:  # a few weight/bias bytes: values at the extremes are legal and must not break anything
                c.fields.extend(Field(start + int(k), "<b", "buffer.data") for k in np.linspace(0, n - 1, 4))
    for s in range(m.SubgraphsLength()):
        sg = m.Subgraphs(s)
        c.vector(sg._tab, 6, "<i", "subgraph.inputs")
        c.vector(sg._tab, 8, "<i", "subgraph.outputs")
        for k, name in ((4, "subgraph.tensors.len"), (10, "subgraph.operators.len")):
            o = sg._tab.Offset(k)
            if o:
                c.fields.append(Field(sg._tab.Vector(o) - 4, "<I", name))
        for i in range(sg.TensorsLength()):
            t = sg.Tensors(i)
            c.vector(t._tab, 4, "<i", "tensor.shape")
            c.scalar(t._tab, 6, "<b", "tensor.type")
            c.scalar(t._tab, 8, "<I", "tensor.buffer")
            q = t.Quantization()
            if q is not None:
                c.vector(q._tab, 8, "<f", "quant.scale")
                c.vector(q._tab, 10, "<q", "quant.zero_point")
                c.scalar(q._tab, 16, "<i", "quant.quantized_dimension")
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            c.scalar(op._tab, 4, "<I", "op.opcode_index")
            c.vector(op._tab, 6, "<i", "op.inputs")
            c.vector(op._tab, 8, "<i", "op.outputs")
            c.scalar(op._tab, 10, "<B", "op.builtin_options_type")
            tab = op.BuiltinOptions()
            if tab is None:
                continue
            ot = op.BuiltinOptionsType()
            for slot, fmt in _OPTIONS.get(ot, {}).items():
                c.scalar(tab, slot, fmt, f"options{ot}.slot{slot}")
            for slot, fmt in _OPTION_VECTORS.get(ot, {}).items():
                c.vector(tab, slot, fmt, f"options{ot}.vec{slot}")
    return c.fields


@dataclass
class TfliteTarget:
    """A valid .tflite file prepared for mutation."""

    name: str
    buf: bytes
    fields: list[Field]
    context: list[int]  # table sizes: tensors, buffers, opcodes, ops

    @classmethod
    def from_bytes(cls, name: str, buf: bytes) -> TfliteTarget:
        m = tflite.Model.GetRootAsModel(buf, 0)
        sg = m.Subgraphs(0)
        ctx = [sg.TensorsLength(), m.BuffersLength(), m.OperatorCodesLength(), sg.OperatorsLength()]
        return cls(name, buf, tflite_fields(buf), ctx)


def pick_field(fields: list[Field], rng: np.random.Generator) -> Field:
    """A field of a uniformly chosen kind (per-channel scales must not crowd out the rest)."""
    kinds = sorted({f.kind for f in fields})
    kind = kinds[int(rng.integers(0, len(kinds)))]
    same = [f for f in fields if f.kind == kind]
    return same[int(rng.integers(0, len(same)))]


def mutate_tflite(t: TfliteTarget, rng: np.random.Generator) -> tuple[bytes, str]:
    """Structure-aware field mutations (70%) or a generic byte mutation after the identifier."""
    if rng.random() < 0.3 or not t.fields:
        return mutate_bytes(t.buf, rng, lo=8)
    b = bytearray(t.buf)
    what = []
    for _ in range(int(rng.choice([1, 1, 1, 2, 3]))):
        f = pick_field(t.fields, rng)
        v = hostile_value(rng, f, read_field(b, f), t.context)
        write_field(b, f, v)
        what.append(f"{f.kind}@{f.pos}={v}")
    return bytes(b), "; ".join(what)


# ---- compiled programs ---------------------------------------------------------------------------

HEADER_FIELDS = [(4, "<H"), (6, "<H"), (8, "<I"), (16, "<I"), (20, "<H"), (22, "<H"), (24, "<I"), (28, "<I"),
                 (32, "<I"), (36, "<I"), (40, "<I"), (44, "<I"), (48, "<H"), (50, "<H"), (52, "<I")]
TENSOR_FIELDS = [(0, "<B", "dtype"), (1, "<B", "storage"), (2, "<B", "rank"), (3, "<B", "flags"), (4, "<H", "dim0"),
                 (6, "<H", "dim1"), (8, "<H", "dim2"), (10, "<H", "dim3"), (12, "<i", "zero_point"),
                 (16, "<f", "scale"), (20, "<I", "offset"), (24, "<I", "nbytes"), (28, "<I", "init_off")]
OP_FIELDS = [(0, "<B", "opcode"), (1, "<B", "n_in"), (2, "<B", "n_out"), (3, "<B", "pad"),
             *[(4 + 2 * i, "<H", f"id{i}") for i in range(8)], (20, "<I", "param_off"), (24, "<I", "param_size"),
             (28, "<I", "reserved")]


def reseal(b: bytearray | bytes) -> bytes:
    """Recompute the program CRC (bytes [16, end)) so that only the structural checks can refuse it."""
    b = bytearray(b)
    if len(b) >= 16:
        struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


def program_fields(blob: bytes) -> tuple[list[Field], list[int]]:
    """Header, tensor-record, op-record, io-table and parameter-word fields of a valid program."""
    n_t, n_o = struct.unpack_from("<HH", blob, 20)
    t_off, o_off, c_off, c_size, arena, io_off = struct.unpack_from("<IIIIII", blob, 24)
    n_in, n_out = struct.unpack_from("<HH", blob, 48)
    fields = [Field(p, f, f"header@{p}") for p, f in HEADER_FIELDS]
    for i in range(n_t):
        fields += [Field(t_off + 32 * i + p, f, f"tensor.{k}") for p, f, k in TENSOR_FIELDS]
    for i in range(n_o):
        base = o_off + 32 * i
        fields += [Field(base + p, f, f"op.{k}") for p, f, k in OP_FIELDS]
        p_off, p_size = struct.unpack_from("<II", blob, base + 20)
        fields += [Field(c_off + p_off + 4 * w, "<i", f"op{blob[base]:#x}.param{w}") for w in range(p_size // 4)]
    fields += [Field(io_off + 2 * i, "<H", "io") for i in range(n_in + n_out)]
    return fields, [n_t, n_o, c_size, arena, len(blob), n_in + n_out]


@dataclass
class ProgramTarget:
    name: str
    blob: bytes
    fields: list[Field]
    context: list[int]

    @classmethod
    def from_blob(cls, name: str, blob: bytes) -> ProgramTarget:
        fields, ctx = program_fields(blob)
        return cls(name, blob, fields, ctx)


def mutate_program(t: ProgramTarget, rng: np.random.Generator) -> tuple[bytes, str]:
    """Field or byte mutations of a program; the CRC is recomputed in 85% of the cases (otherwise
    the loader must refuse on the CRC, or on something it checks before it)."""
    if rng.random() < 0.6:
        b = bytearray(t.blob)
        what = []
        for _ in range(int(rng.choice([1, 1, 2, 3]))):
            f = pick_field(t.fields, rng)
            v = hostile_value(rng, f, read_field(b, f), t.context)
            write_field(b, f, v)
            what.append(f"{f.kind}={v}")
        data, desc = bytes(b), "; ".join(what)
    else:
        data, desc = mutate_bytes(t.blob, rng, lo=4)
    if rng.random() < 0.85:
        return reseal(data), desc + " [crc resealed]"
    return data, desc + " [crc stale]"
