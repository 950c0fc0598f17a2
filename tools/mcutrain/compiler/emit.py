"""IR (forward int8 graph) -> engine program bytes (format: docs/schedule-format.md).

`ProgramBuilder` is the generic writer (tensor table, op table, constant pool, CRC); the training
compiler reuses it to add backward/loss/update ops. `compile_graph` lowers a forward `Graph`:
constants go to the pool, activations get arena offsets from `memplan.plan`, and every op gets
a parameter record of int32 words with host-precomputed multipliers and shifts.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..ir import Graph, Op, Tensor
from ..quantize_params import (
    activation_range,
    add_params,
    conv_channel_multipliers,
    mean_multiplier,
    quantize_multiplier,
    same_padding,
    softmax_params,
)
from ..tflite_import import ModelError
from .memplan import Buffer, Plan, plan

FORMAT_VERSION = 1  # inference programs; training programs (emit_train.py) are version 2
TRAIN_FORMAT_VERSION = 2
MAGIC = b"MCTP"
HEADER_SIZE = 56
TENSOR_REC = 32
OP_REC = 32
OP_MAX_IDS = 8
NO_TENSOR = 0xFFFF
CRC_START = 16

# g16 / g32: int-mode gradients (int16 elements / int32 accumulators) with a run-time power-of-two exponent kept
# in the arena at `init_off`; bits: 1-bit activation masks. See docs/schedule-format.md.
DTYPES = {"int8": 1, "int32": 2, "float32": 3, "int16": 4, "bits": 5, "g16": 6, "g32": 7}
_ITEMSIZE = {"int8": 1, "int32": 4, "float32": 4, "int16": 2, "g16": 2, "g32": 4}
OPF_SPLIT_W = 0x01  # op flag (v2): CONV/DW/FC with a 4th input, the RAM copy of the first k output channels
STORE_ARENA, STORE_CONST, STORE_ARENA_INIT = 0, 1, 2
FLAG_INPUT, FLAG_OUTPUT = 1, 2

OPCODES = {
    "CONV_2D": 0x01,
    "DEPTHWISE_CONV_2D": 0x02,
    "FULLY_CONNECTED": 0x03,
    "ADD": 0x04,
    "AVERAGE_POOL_2D": 0x05,
    "MAX_POOL_2D": 0x06,
    "MEAN": 0x07,
    "PAD": 0x08,
    "SOFTMAX": 0x09,
    "RESHAPE": 0x0A,
    "QUANTIZE": 0x0B,
    "DEQUANTIZE": 0x0C,
    "REQUANTIZE": 0x0D,
}
# Reserved opcode ranges for the training compiler (see docs/schedule-format.md).
BACKWARD_OPCODES = range(0x40, 0x80)
LOSS_OPCODES = range(0x80, 0xA0)
UPDATE_OPCODES = range(0xA0, 0xC0)
MAX_TENSORS = 2048  # MCT_MAX_TENSORS (firmware/engine/engine.h): the loader's dataflow bitset

# Training ops that also read an output (firmware/engine/program_train.c mct_op_reads): the fp32
# accumulate flag's word index per output, or True for the in-place updates.
_READS_OUTPUT: dict[int, tuple[int | bool, ...]] = {
    0x41: (5,), 0x42: (5,), 0x43: (0,), 0x48: (0, 1), 0x49: (7,), 0x4A: (7,), 0x4B: (3,), 0x4C: (4,),
    0xA0: (True, True), 0xA1: (True,),
}
NORMALIZE = 0x4D  # inputs (acc, g) -> g: reads g only when word 0 (sum into g) is set

# program_internal.h MCT_MAX_STRIDE: the loader refuses larger strides (window index products stay in int32).
MAX_STRIDE = 255


def _align(x: int, a: int = 4) -> int:
    return (x + a - 1) // a * a


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", float(np.float32(x))))[0]


@dataclass
class TensorRec:
    name: str
    dtype: str
    shape: tuple[int, ...]
    storage: int
    zero_point: int = 0
    scale: float = 0.0
    offset: int = 0  # arena offset (arena storages) or const-pool offset (const)
    init_off: int = 0
    flags: int = 0

    @property
    def nbytes(self) -> int:
        n = int(np.prod(self.shape, dtype=np.int64))
        return (n + 7) // 8 if self.dtype == "bits" else n * _ITEMSIZE[self.dtype]


@dataclass
class OpRec:
    opcode: int
    inputs: list[int]
    outputs: list[int]
    param_off: int
    param_size: int
    name: str = ""
    flags: int = 0


@dataclass
class ProgramBuilder:
    """Accumulates tensors, ops and constants; `build()` lays them out and seals them with a CRC."""

    tensors: list[TensorRec] = field(default_factory=list)
    ops: list[OpRec] = field(default_factory=list)
    pool: bytearray = field(default_factory=bytearray)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)

    def add_const_bytes(self, data: bytes, alignment: int = 4) -> int:
        self.pool.extend(b"\0" * (_align(len(self.pool), alignment) - len(self.pool)))
        off = len(self.pool)
        self.pool.extend(data)
        return off

    def add_tensor(self, rec: TensorRec) -> int:
        if rec.dtype not in DTYPES:
            raise ValueError(f"tensor {rec.name}: dtype {rec.dtype} has no program encoding")
        if len(rec.shape) > 4 or any(not 1 <= d <= 0xFFFF for d in rec.shape):
            raise ValueError(f"tensor {rec.name}: shape {rec.shape} is not 1..4 dims of 1..65535")
        self.tensors.append(rec)
        return len(self.tensors) - 1

    def add_op(self, opcode: int, inputs: list[int], outputs: list[int], params: list[int], name: str = "") -> int:
        if len(inputs) + len(outputs) > OP_MAX_IDS:
            raise ValueError(f"op {name}: more than {OP_MAX_IDS} tensor ids")
        raw = np.asarray(params, dtype=np.int64)
        if raw.size and (raw.min() < -(1 << 31) or raw.max() >= 1 << 32):
            raise ValueError(f"op {name}: parameter out of 32-bit range")
        words = (raw & 0xFFFFFFFF).astype("<u4").tobytes()
        off = self.add_const_bytes(words) if words else _align(len(self.pool))
        self.ops.append(OpRec(opcode, list(inputs), list(outputs), off, len(words), name))
        return len(self.ops) - 1

    def params(self, op: OpRec) -> list[int]:
        return list(struct.unpack_from(f"<{op.param_size // 4}i", self.pool, op.param_off))

    def check_ops(self) -> None:
        """The loader's per-op checks of the forward ops (firmware/engine/program.c check_op): dtypes, shape
        relations and parameter ranges, so a graph the engine would refuse fails here, naming the op."""
        for i, op in enumerate(self.ops):
            if op.opcode in _FORWARD_CHECKS:
                ins = [self.tensors[p] if p >= 0 else None for p in op.inputs]
                outs = [self.tensors[p] for p in op.outputs]
                why = _FORWARD_CHECKS[op.opcode](ins, outs, self.params(op))
                if why:
                    raise ValueError(f"op {i} '{op.name}': {why}")

    def check_dataflow(self, label: int | None = None) -> None:
        """What the loader checks beyond single ops (MCT_E_IO, MCT_E_DATAFLOW): graph inputs and outputs are
        plain arena tensors, ops write only arena tensors, and every tensor an op reads (an input, or an output
        it accumulates into / updates in place) holds a value by then: a constant, an arena-initialised
        parameter, a graph input, the training label, or the output of an earlier op."""
        for kind, ids in (("input", self.inputs), ("output", self.outputs)):
            for pid in ids:
                if self.tensors[pid].storage != STORE_ARENA:
                    where = "the constant pool" if self.tensors[pid].storage == STORE_CONST else "a parameter"
                    raise ValueError(f"graph {kind} '{self.tensors[pid].name}' is stored in {where}, not the arena")
        has_value = {i for i, t in enumerate(self.tensors) if t.storage != STORE_ARENA} | set(self.inputs)
        if label is not None:
            has_value.add(label)
        for i, op in enumerate(self.ops):
            reads_out = _READS_OUTPUT.get(op.opcode, ())
            words = self.params(op) if reads_out or op.opcode == NORMALIZE else []
            for pid in op.outputs:
                if pid >= 0 and self.tensors[pid].storage == STORE_CONST:
                    raise ValueError(f"op {i} '{op.name}' writes '{self.tensors[pid].name}', a constant")
            read = [p for k, p in enumerate(op.inputs) if p >= 0 and not (op.opcode == NORMALIZE and k == 1
                                                                           and words[:1] == [0])]
            read += [p for k, p in enumerate(op.outputs) if p >= 0 and k < len(reads_out)
                     and (reads_out[k] is True or words[int(reads_out[k])] != 0)]
            for pid in read:
                if pid not in has_value:
                    raise ValueError(f"op {i} '{op.name}' reads '{self.tensors[pid].name}' before any op writes it")
            has_value.update(p for p in op.outputs if p >= 0)
        for pid in self.outputs:
            if pid not in has_value:
                raise ValueError(f"graph output '{self.tensors[pid].name}' is never written")

    def build(self, arena_size: int, version: int = FORMAT_VERSION, train_pool_off: int | None = None,
              label: int | None = None) -> bytes:
        """`train_pool_off`: constant-pool offset of a version-2 training section (header field train_off);
        `label`: its label tensor (written by the train step). Refuses what the loader would refuse for
        dataflow (`check_dataflow`) with a one-line ValueError."""
        n_t, n_o = len(self.tensors), len(self.ops)
        if n_t > MAX_TENSORS or n_o > 0xFFFF:
            raise ValueError(f"{n_t} tensors and {n_o} ops; the engine takes at most {MAX_TENSORS} tensors "
                             f"and 65535 ops")
        self.check_ops()
        self.check_dataflow(label)
        t_off = HEADER_SIZE
        o_off = t_off + n_t * TENSOR_REC
        io_off = o_off + n_o * OP_REC
        c_off = _align(io_off + 2 * (len(self.inputs) + len(self.outputs)), 16)
        arena_size = _align(arena_size)
        body = bytearray(c_off - HEADER_SIZE)
        for i, t in enumerate(self.tensors):
            dims = list(t.shape) + [0] * (4 - len(t.shape))
            struct.pack_into(
                "<BBBB4HiIIII", body, t_off - HEADER_SIZE + i * TENSOR_REC, DTYPES[t.dtype], t.storage,
                len(t.shape), t.flags, *dims, int(t.zero_point), f32_bits(t.scale), t.offset, t.nbytes, t.init_off,
            )
        for i, op in enumerate(self.ops):
            ids = op.inputs + op.outputs
            ids = [NO_TENSOR if x < 0 else x for x in ids] + [NO_TENSOR] * (OP_MAX_IDS - len(ids))
            struct.pack_into(
                "<BBBB8HIII", body, o_off - HEADER_SIZE + i * OP_REC, op.opcode, len(op.inputs), len(op.outputs),
                op.flags,
                *ids, op.param_off, op.param_size, 0,
            )
        struct.pack_into(f"<{len(self.inputs) + len(self.outputs)}H", body, io_off - HEADER_SIZE,
                         *(self.inputs + self.outputs))
        body += self.pool
        total = HEADER_SIZE + len(body)
        header = bytearray(HEADER_SIZE)
        train_off = 0 if train_pool_off is None else c_off + train_pool_off
        struct.pack_into(
            "<4sHHIIIHHIIIIIIHHI", header, 0, MAGIC, version, HEADER_SIZE, total, 0, 0, n_t, n_o, t_off, o_off,
            c_off, len(self.pool), arena_size, io_off, len(self.inputs), len(self.outputs), train_off,
        )
        blob = bytes(header) + bytes(body)
        crc = zlib.crc32(blob[CRC_START:]) & 0xFFFFFFFF
        return blob[:12] + struct.pack("<I", crc) + blob[16:]


# ---- the loader's forward-op checks (firmware/engine/program.c), mirrored ------------------------------------
_Ins = list[TensorRec | None]


def _elems(t: TensorRec) -> int:
    return int(np.prod(t.shape, dtype=np.int64))


def _ext4(t: TensorRec) -> list[int]:
    return [1] * (4 - len(t.shape)) + list(t.shape)


def _offsets_ok(*v: int) -> bool:
    return all(-255 <= x <= 255 for x in v)


def _act_ok(lo: int, hi: int) -> bool:
    return -128 <= lo <= hi <= 127


def _mults_ok(mults: list[int], shifts: list[int]) -> bool:
    return all(m >= 0 for m in mults) and all(-31 <= s <= 31 for s in shifts)


def _int8(*ts: TensorRec | None) -> bool:
    return all(t is not None and t.dtype == "int8" for t in ts)


def _check_conv(ins: _Ins, outs: list[TensorRec], w: list[int], depthwise: bool) -> str | None:
    x, f, b, y = ins[0], ins[1], ins[2], outs[0]
    if not _int8(x, f, y):
        return "input, filter and output must be int8"
    assert x is not None and f is not None
    if len(x.shape) != 4 or len(f.shape) != 4 or len(y.shape) != 4:
        return "input, filter and output must be 4-D"
    cin, cout = x.shape[3], y.shape[3]
    if y.shape[0] != x.shape[0]:
        return f"output batch {y.shape[0]} differs from input batch {x.shape[0]}"
    want = (1, f.shape[1], f.shape[2], cout) if depthwise else (cout, f.shape[1], f.shape[2], cin)
    if tuple(f.shape) != want:
        return f"filter shape {list(f.shape)} does not fit input {list(x.shape)} and output {list(y.shape)}"
    if f.shape[1] * f.shape[2] * (1 if depthwise else cin) > 65536:
        return "more than 65536 taps per output"
    if b is not None and (b.dtype != "int32" or _elems(b) != cout):
        return f"bias must be int32 with {cout} elements, got {b.dtype}{list(b.shape)}"
    if len(w) != 10 + 2 * cout or w[9] != cout:
        return "parameter record does not match the output channels"
    if not (1 <= w[0] <= MAX_STRIDE and 1 <= w[1] <= MAX_STRIDE and 0 <= w[2] <= 65535 and 0 <= w[3] <= 65535):
        return f"stride {w[0]}x{w[1]} / padding {w[2]}x{w[3]} out of range (stride 1..{MAX_STRIDE})"
    if (w[4] < 1 or cin * w[4] != cout) if depthwise else w[4] != 1:
        return f"depth multiplier {w[4]} does not map {cin} input to {cout} output channels"
    if not _offsets_ok(w[5], w[6]) or not _act_ok(w[7], w[8]):
        return "zero points or activation range out of range"
    return None if _mults_ok(w[10:10 + cout], w[10 + cout:]) else "multiplier or shift out of range"


def _check_fc(ins: _Ins, outs: list[TensorRec], w: list[int]) -> str | None:
    x, f, b, y = ins[0], ins[1], ins[2], outs[0]
    if not _int8(x, f, y):
        return "input, weights and output must be int8"
    assert x is not None and f is not None
    if len(f.shape) != 2:
        return f"weights must be 2-D, got {list(f.shape)}"
    units, depth = f.shape
    n_in = _elems(x)
    if depth > 65536 or n_in % depth or _elems(y) != n_in // depth * units:
        return f"weights {list(f.shape)} do not fit input {list(x.shape)} and output {list(y.shape)}"
    if b is not None and (b.dtype != "int32" or _elems(b) != units):
        return f"bias must be int32 with {units} elements, got {b.dtype}{list(b.shape)}"
    if len(w) != 6 + 2 * units or w[5] != units:
        return "parameter record does not match the units"
    if not _offsets_ok(w[0], w[1], w[2]) or not _act_ok(w[3], w[4]):
        return "zero points or activation range out of range"
    return None if _mults_ok(w[6:6 + units], w[6 + units:]) else "multiplier or shift out of range"


def _check_add(ins: _Ins, outs: list[TensorRec], w: list[int]) -> str | None:
    a, b, y = ins[0], ins[1], outs[0]
    if not _int8(a, b, y) or _elems(a) != _elems(y) or _elems(b) != _elems(y):  # type: ignore[arg-type]
        return "inputs and output must be int8 with the same element count"
    ok = (len(w) == 12 and _offsets_ok(w[0], w[1], w[9]) and 0 <= w[2] <= 22 and _act_ok(w[10], w[11])
          and _mults_ok([w[3], w[5], w[7]], [w[4], w[6], w[8]]))
    return None if ok else "parameters out of range"


def _check_pool(ins: _Ins, outs: list[TensorRec], w: list[int]) -> str | None:
    x, y = ins[0], outs[0]
    if not _int8(x, y):
        return "input and output must be int8"
    assert x is not None
    if len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != y.shape[0] or x.shape[3] != y.shape[3]:
        return f"output {list(y.shape)} does not keep the batch and channels of input {list(x.shape)}"
    ok = (len(w) == 8 and all(1 <= v <= MAX_STRIDE for v in w[:2]) and all(0 <= v <= 65535 for v in w[2:4])
          and all(1 <= v <= 65535 for v in w[4:6]) and _act_ok(w[6], w[7]))
    return None if ok else "stride, padding, filter size or activation range out of range"


def _check_mean(ins: _Ins, outs: list[TensorRec], w: list[int]) -> str | None:
    x, y = ins[0], outs[0]
    if not _int8(x, y):
        return "input and output must be int8"
    assert x is not None
    if len(w) != 6 or not 0 <= w[0] <= 15 or w[1] != 0 or not _offsets_ok(w[2], w[3]) or not _mults_ok([w[4]], [w[5]]):
        return "parameters out of range"
    kept = int(np.prod([1 if (w[0] >> i) & 1 else d for i, d in enumerate(_ext4(x))]))
    return None if _elems(y) == kept else f"output {list(y.shape)} has not {kept} elements"


def _check_pad(ins: _Ins, outs: list[TensorRec], w: list[int]) -> str | None:
    x, y = ins[0], outs[0]
    if not _int8(x, y):
        return "input and output must be int8"
    assert x is not None
    if len(x.shape) != len(y.shape):
        return "input and output ranks differ"
    if len(w) != 9 or not all(0 <= v <= 65535 for v in w[:8]) or not -128 <= w[8] <= 127:
        return "paddings or pad value out of range"
    if any(d + w[i] + w[4 + i] != o for i, (d, o) in enumerate(zip(_ext4(x), _ext4(y), strict=True))):
        return f"input {list(x.shape)} padded by {w[:8]} is not output {list(y.shape)}"
    return None


def _check_softmax(ins: _Ins, outs: list[TensorRec], w: list[int]) -> str | None:
    x, y = ins[0], outs[0]
    if not _int8(x, y) or _elems(x) != _elems(y):  # type: ignore[arg-type]
        return "input and output must be int8 with the same element count"
    return None if len(w) == 3 and w[0] >= 0 and 0 <= w[1] <= 31 and w[2] <= 0 else "parameters out of range"


def _check_reshape(ins: _Ins, outs: list[TensorRec], w: list[int]) -> str | None:
    x, y = ins[0], outs[0]
    assert x is not None
    if x.dtype != y.dtype or x.nbytes != y.nbytes:
        return f"{x.dtype}{list(x.shape)} cannot be reshaped to {y.dtype}{list(y.shape)}"
    return None if not w else "takes no parameters"


def _check_unary(din: str, dout: str) -> Callable[[_Ins, list[TensorRec], list[int]], str | None]:
    def check(ins: _Ins, outs: list[TensorRec], w: list[int]) -> str | None:
        x, y = ins[0], outs[0]
        assert x is not None
        if x.dtype != din or y.dtype != dout or _elems(x) != _elems(y):
            return f"needs {din} -> {dout} with the same element count, got {x.dtype}{list(x.shape)} -> " \
                   f"{y.dtype}{list(y.shape)}"
        if din == dout:  # REQUANTIZE: input_zp, output_zp, mult, shift
            return None if len(w) == 4 and _offsets_ok(w[0], w[1]) and _mults_ok([w[2]], [w[3]]) else \
                "parameters out of range"
        return None if len(w) == 2 and _offsets_ok(w[1]) else "zero point out of range"
    return check


_FORWARD_CHECKS: dict[int, Callable[[_Ins, list[TensorRec], list[int]], str | None]] = {
    OPCODES["CONV_2D"]: lambda i, o, w: _check_conv(i, o, w, False),
    OPCODES["DEPTHWISE_CONV_2D"]: lambda i, o, w: _check_conv(i, o, w, True),
    OPCODES["FULLY_CONNECTED"]: _check_fc,
    OPCODES["ADD"]: _check_add,
    OPCODES["AVERAGE_POOL_2D"]: _check_pool,
    OPCODES["MAX_POOL_2D"]: _check_pool,
    OPCODES["MEAN"]: _check_mean,
    OPCODES["PAD"]: _check_pad,
    OPCODES["SOFTMAX"]: _check_softmax,
    OPCODES["RESHAPE"]: _check_reshape,
    OPCODES["QUANTIZE"]: _check_unary("float32", "int8"),
    OPCODES["DEQUANTIZE"]: _check_unary("int8", "float32"),
    OPCODES["REQUANTIZE"]: _check_unary("int8", "int8"),
}


@dataclass
class Program:
    blob: bytes
    arena_size: int
    tensors: list[TensorRec]
    tensor_ids: dict[int, int]  # IR tensor id -> program tensor id
    inputs: list[int]  # program tensor ids
    outputs: list[int]
    op_names: list[str]
    plan: Plan


# ---------------------------------------------------------------------------------------------


class _Lowering:
    def __init__(self, g: Graph, source: str) -> None:
        self.g = g
        self.source = source
        self.b = ProgramBuilder()
        self.ids: dict[int, int] = {}

    def fail(self, i: int, op: Op, msg: str) -> ModelError:
        return ModelError(f"{self.source}: op {op.kind} at layer {i} '{op.name}': {msg}")

    def tensor(self, tid: int) -> int:
        if tid < 0:
            return -1
        if tid in self.ids:
            return self.ids[tid]
        t = self.g.tensors[tid]
        zp = int(t.quant.zero_point[0]) if t.quant is not None else 0
        scale = float(t.quant.scale[0]) if t.quant is not None else 0.0
        rec = TensorRec(name=t.name, dtype=t.dtype, shape=tuple(t.shape) or (1,), storage=STORE_ARENA,
                        zero_point=zp, scale=scale)
        if t.data is not None:
            rec.storage = STORE_CONST
            rec.offset = self.b.add_const_bytes(np.ascontiguousarray(t.data).astype(t.data.dtype.newbyteorder("<"))
                                                .tobytes())
        self.ids[tid] = self.b.add_tensor(rec)
        return self.ids[tid]

    def run(self) -> Program:
        g = self.g
        for tid in g.inputs:
            self.tensor(tid)
        for i, op in enumerate(g.ops):
            self.lower(i, op)
        for tid in g.outputs:
            self.tensor(tid)
        self.b.inputs = [self.ids[t] for t in g.inputs]
        self.b.outputs = [self.ids[t] for t in g.outputs]
        for pid in self.b.inputs:
            self.b.tensors[pid].flags |= FLAG_INPUT
        for pid in self.b.outputs:
            self.b.tensors[pid].flags |= FLAG_OUTPUT
        mp = self.place()
        blob = self.b.build(mp.peak_bytes)
        return Program(blob=blob, arena_size=_align(mp.peak_bytes), tensors=self.b.tensors, tensor_ids=dict(self.ids),
                       inputs=self.b.inputs, outputs=self.b.outputs, op_names=[o.name for o in self.b.ops], plan=mp)

    def place(self) -> Plan:
        n_ops = len(self.b.ops)
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for i, op in enumerate(self.b.ops):
            for pid in op.inputs + op.outputs:
                if pid >= 0 and self.b.tensors[pid].storage != STORE_CONST:
                    first.setdefault(pid, i)
                    last[pid] = i
        for pid in self.b.inputs:
            first[pid] = 0
            last.setdefault(pid, 0)
        for pid in self.b.outputs:
            first.setdefault(pid, 0)
            last[pid] = max(n_ops - 1, 0)
        bufs = [Buffer(str(pid), self.b.tensors[pid].nbytes, first[pid], last[pid], 4) for pid in first]
        mp = plan(bufs)
        for pid in first:
            self.b.tensors[pid].offset = mp.offsets[str(pid)]
        return mp

    def q(self, tid: int) -> tuple[float, int]:
        t = self.g.tensors[tid]
        return float(np.float32(t.scale)), t.zero_point

    def lower(self, i: int, op: Op) -> None:
        g, kind = self.g, op.kind
        x, y = op.inputs[0], op.outputs[0]
        tx, ty = g.tensors[x], g.tensors[y]
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            self.lower_conv(i, op, tx, ty)
        elif kind == "FULLY_CONNECTED":
            self.lower_fc(i, op, tx, ty)
        elif kind == "ADD":
            x2 = op.inputs[1]
            if int(np.prod(g.tensors[x2].shape)) != int(np.prod(ty.shape)) or int(np.prod(tx.shape)) != int(
                np.prod(ty.shape)
            ):
                raise self.fail(i, op, f"broadcasting {tx.shape} + {g.tensors[x2].shape} is not supported")
            (s1, z1), (s2, z2), (so, zo) = self.q(x), self.q(x2), self.q(y)
            a = add_params(s1, s2, so)
            lo, hi = activation_range(op.options.get("activation", "NONE"), so, zo)
            words = [-z1, -z2, a["left_shift"], a["m1"], a["s1"], a["m2"], a["s2"], a["mo"], a["so"], zo, lo, hi]
            self.b.add_op(OPCODES[kind], [self.tensor(x), self.tensor(x2)], [self.tensor(y)], words, op.name)
        elif kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            o = op.options
            if len(tx.shape) != 4:
                raise self.fail(i, op, f"input must be 4-D NHWC, got {tx.shape}")
            self.check_out_hw(i, op, tx, ty, o["filter_h"], o["filter_w"])
            ph = same_padding(tx.shape[1], o["filter_h"], o["stride_h"], ty.shape[1])
            pw = same_padding(tx.shape[2], o["filter_w"], o["stride_w"], ty.shape[2])
            lo, hi = activation_range(o.get("activation", "NONE"), *self.q(y))
            words = [o["stride_h"], o["stride_w"], ph, pw, o["filter_h"], o["filter_w"], lo, hi]
            self.b.add_op(OPCODES[kind], [self.tensor(x)], [self.tensor(y)], words, op.name)
        elif kind == "MEAN":
            self.lower_mean(i, op, tx, ty)
        elif kind == "PAD":
            pads = np.asarray(g.tensors[op.inputs[1]].data, dtype=np.int64).reshape(-1, 2)
            r = len(tx.shape)
            if pads.shape[0] != r or r > 4 or np.any(pads < 0):
                raise self.fail(i, op, f"paddings {pads.tolist()} do not fit input rank {r}")
            full = np.zeros((4, 2), np.int64)
            full[4 - r:] = pads
            _, zo = self.q(y)
            words = [*full[:, 0].tolist(), *full[:, 1].tolist(), zo]
            self.b.add_op(OPCODES[kind], [self.tensor(x)], [self.tensor(y)], words, op.name)
        elif kind == "SOFTMAX":
            so, zo = self.q(y)
            if zo != -128 or abs(so - 1.0 / 256) > 1e-6:
                raise self.fail(i, op, f"int8 softmax output needs scale 1/256, zero point -128 (got {so}, {zo})")
            m, s, dmin = softmax_params(op.options.get("beta", 1.0), self.q(x)[0])
            self.b.add_op(OPCODES[kind], [self.tensor(x)], [self.tensor(y)], [m, s, dmin], op.name)
        elif kind == "RESHAPE":
            self.b.add_op(OPCODES[kind], [self.tensor(x)], [self.tensor(y)], [], op.name)
        elif kind == "QUANTIZE":
            if tx.dtype == "float32":
                so, zo = self.q(y)
                self.b.add_op(OPCODES["QUANTIZE"], [self.tensor(x)], [self.tensor(y)], [f32_bits(so), zo], op.name)
            elif tx.dtype == "int8":
                (si, zi), (so, zo) = self.q(x), self.q(y)
                m, s = quantize_multiplier(float(si) / float(so))
                self.b.add_op(OPCODES["REQUANTIZE"], [self.tensor(x)], [self.tensor(y)], [zi, zo, m, s], op.name)
            else:
                raise self.fail(i, op, f"quantizing from {tx.dtype} is not supported")
        elif kind == "DEQUANTIZE":
            si, zi = self.q(x)
            self.b.add_op(OPCODES[kind], [self.tensor(x)], [self.tensor(y)], [f32_bits(si), zi], op.name)
        else:
            raise self.fail(i, op, "no lowering for this op")

    def check_out_hw(self, i: int, op: Op, tx: Tensor, ty: Tensor, kh: int, kw: int) -> None:
        """The declared output size must be what TFLite computes from padding and stride."""
        o = op.options
        want = []
        for n, k, s in ((tx.shape[1], kh, o["stride_h"]), (tx.shape[2], kw, o["stride_w"])):
            want.append((n + s - 1) // s if o["padding"] == "SAME" else (n - k + s) // s)
        if list(ty.shape[1:3]) != want or ty.shape[0] != tx.shape[0]:
            raise self.fail(i, op, f"output shape {list(ty.shape)} does not match {o['padding']} padding, "
                                   f"stride {o['stride_h']}x{o['stride_w']} (expected H, W = {want})")

    def lower_conv(self, i: int, op: Op, tx: Tensor, ty: Tensor) -> None:
        g, o = self.g, op.options
        w = g.tensors[op.inputs[1]]
        if len(tx.shape) != 4 or len(w.shape) != 4 or len(ty.shape) != 4:
            raise self.fail(i, op, "input, filter and output must be 4-D")
        depthwise = op.kind == "DEPTHWISE_CONV_2D"
        cin, cout = tx.shape[3], ty.shape[3]
        dm = 1
        if depthwise:
            dm = cout // cin if cin else 0
            if dm < 1 or cin * dm != cout:
                raise self.fail(i, op, f"output channels {cout} are not a multiple of input channels {cin}")
        kh, kw = w.shape[1], w.shape[2]
        self.check_out_hw(i, op, tx, ty, kh, kw)
        ph = same_padding(tx.shape[1], kh, o["stride_h"], ty.shape[1])
        pw = same_padding(tx.shape[2], kw, o["stride_w"], ty.shape[2])
        (si, zi), (so, zo) = self.q(op.inputs[0]), self.q(op.outputs[0])
        mults, shifts = conv_channel_multipliers(si, w.quant.scale, so, cout)
        lo, hi = activation_range(o.get("activation", "NONE"), so, zo)
        words = [o["stride_h"], o["stride_w"], ph, pw, dm, -zi, zo, lo, hi, cout, *mults, *shifts]
        ins = [self.tensor(op.inputs[0]), self.tensor(op.inputs[1]), self.tensor(op.input(2))]
        self.b.add_op(OPCODES[op.kind], ins, [self.tensor(op.outputs[0])], words, op.name)

    def lower_fc(self, i: int, op: Op, tx: Tensor, ty: Tensor) -> None:
        w = self.g.tensors[op.inputs[1]]
        if len(w.shape) != 2:
            raise self.fail(i, op, f"weights must be 2-D, got {w.shape}")
        units = w.shape[0]
        (si, zi), (so, zo) = self.q(op.inputs[0]), self.q(op.outputs[0])
        mults, shifts = conv_channel_multipliers(si, w.quant.scale, so, units)
        lo, hi = activation_range(op.options.get("activation", "NONE"), so, zo)
        words = [-zi, -int(w.quant.zero_point[0]), zo, lo, hi, units, *mults, *shifts]
        ins = [self.tensor(op.inputs[0]), self.tensor(op.inputs[1]), self.tensor(op.input(2))]
        self.b.add_op(OPCODES[op.kind], ins, [self.tensor(op.outputs[0])], words, op.name)

    def lower_mean(self, i: int, op: Op, tx: Tensor, ty: Tensor) -> None:
        r = len(tx.shape)
        if r > 4:
            raise self.fail(i, op, f"input rank {r} > 4")
        axes = np.asarray(self.g.tensors[op.inputs[1]].data, dtype=np.int64).reshape(-1)
        mask = 0
        count = 1
        for a in axes.tolist():
            a = a + r if a < 0 else a
            if not 0 <= a < r:
                raise self.fail(i, op, f"axis {a} out of range for rank {r}")
            if not mask & (1 << (4 - r + a)):
                count *= tx.shape[a]
            mask |= 1 << (4 - r + a)
        (si, zi), (so, zo) = self.q(op.inputs[0]), self.q(op.outputs[0])
        # TFLite Micro requantizes even when input and output quantization agree (rounds, not truncates).
        m, s = mean_multiplier(si, so, count)
        words = [mask, 0, zi, zo, m, s]
        self.b.add_op(OPCODES[op.kind], [self.tensor(op.inputs[0])], [self.tensor(op.outputs[0])], words, op.name)


def compile_graph(g: Graph, source: str = "<graph>") -> Program:
    """Lower a forward int8 graph to a program. Raises ModelError (one line) for what cannot run."""
    try:
        return _Lowering(g, source).run()
    except ValueError as e:
        if isinstance(e, ModelError):
            raise
        raise ModelError(f"{source}: {e}") from None
