"""Read a .tflite file (no TensorFlow): ops, int8 I/O, MACs, parameters, activation memory.

Two activation figures are reported for one forward pass in graph order:
  op_peak      max over ops of the bytes of that op's activation inputs + outputs
               ("the two largest simultaneous activations"; three for ADD)
  live_peak    max over ops of the bytes of every activation still needed at that op
               (adds residual skips kept alive across a block; what a naive planner needs)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tflite

ALLOWED_OPS = frozenset({
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "AVERAGE_POOL_2D", "MAX_POOL_2D",
    "MEAN", "PAD", "RESHAPE", "SOFTMAX", "QUANTIZE", "DEQUANTIZE",
})  # fmt: skip
_DTYPE_BYTES = {tflite.TensorType.INT8: 1, tflite.TensorType.UINT8: 1, tflite.TensorType.INT32: 4,
                tflite.TensorType.FLOAT32: 4, tflite.TensorType.INT16: 2, tflite.TensorType.INT64: 8}  # fmt: skip
_DTYPE_NAMES = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int
    constant: bool
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]


@dataclass
class OpInfo:
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    macs: int = 0
    stride: tuple[int, int] | None = None  # (h, w) for CONV_2D / DEPTHWISE_CONV_2D


@dataclass
class ModelInfo:
    tensors: list[TensorInfo]
    ops: list[OpInfo]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    flash_bytes: int
    op_counts: dict[str, int] = field(default_factory=dict)

    @property
    def macs(self) -> int:
        return sum(o.macs for o in self.ops)

    @property
    def params(self) -> int:
        return sum(int(np.prod(t.shape)) for t in self.tensors if t.constant and t.shape)

    @property
    def weight_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors if t.constant)

    @property
    def op_names(self) -> set[str]:
        return set(self.op_counts)

    def _activation(self, i: int) -> int:
        t = self.tensors[i]
        return 0 if t.constant else t.nbytes

    @property
    def op_peak(self) -> int:
        return max(sum(self._activation(i) for i in set(o.inputs + o.outputs) if i >= 0) for o in self.ops)

    @property
    def live_peak(self) -> int:
        last_use: dict[int, int] = {i: len(self.ops) for i in self.outputs}
        for k, o in enumerate(self.ops):
            for i in o.inputs:
                if i >= 0:
                    last_use[i] = max(last_use.get(i, k), k)
        born = {i: -1 for i in self.inputs}
        for k, o in enumerate(self.ops):
            for i in o.outputs:
                born[i] = k
        peak = 0
        for k in range(len(self.ops)):
            live = [i for i, b in born.items() if b <= k and last_use.get(i, b) >= k]
            peak = max(peak, sum(self._activation(i) for i in live))
        return peak


def _op_name(model: tflite.Model, op: tflite.Operator) -> str:
    code = model.OperatorCodes(op.OpcodeIndex())
    return tflite.opcode2name(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))


def _macs(name: str, tensors: list[TensorInfo], op: OpInfo) -> int:
    out = tensors[op.outputs[0]].shape
    if name == "CONV_2D":
        _, kh, kw, cin = tensors[op.inputs[1]].shape
        return int(np.prod(out)) * kh * kw * cin
    if name == "DEPTHWISE_CONV_2D":
        _, kh, kw, _ = tensors[op.inputs[1]].shape
        return int(np.prod(out)) * kh * kw
    if name == "FULLY_CONNECTED":
        nout, nin = tensors[op.inputs[1]].shape
        return int(np.prod(out)) // nout * nout * nin
    return 0


def _stride(name: str, op: tflite.Operator) -> tuple[int, int] | None:
    kinds = {"CONV_2D": tflite.Conv2DOptions, "DEPTHWISE_CONV_2D": tflite.DepthwiseConv2DOptions}
    if name not in kinds or op.BuiltinOptions() is None:
        return None
    opts = kinds[name]()
    opts.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
    return int(opts.StrideH()), int(opts.StrideW())


def read(path: str | Path) -> ModelInfo:
    buf = Path(path).read_bytes()
    model = tflite.Model.GetRootAsModel(buf, 0)
    if model.SubgraphsLength() != 1:
        raise ValueError(f"{path}: expected one subgraph, found {model.SubgraphsLength()}")
    g = model.Subgraphs(0)
    tensors = []
    for i in range(g.TensorsLength()):
        t = g.Tensors(i)
        shape = tuple(int(s) for s in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        b = model.Buffers(t.Buffer())
        q = t.Quantization()
        scales = tuple(float(s) for s in q.ScaleAsNumpy()) if q is not None and q.ScaleLength() else ()
        zps = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q is not None and q.ZeroPointLength() else ()
        nbytes = int(np.prod(shape)) * _DTYPE_BYTES.get(t.Type(), 4)
        name = t.Name().decode()
        tensors.append(TensorInfo(name, shape, _DTYPE_NAMES.get(t.Type(), "?"), nbytes,
                                  b is not None and b.DataLength() > 0, scales, zps))
    ops, counts = [], {}
    for k in range(g.OperatorsLength()):
        op = g.Operators(k)
        name = _op_name(model, op)
        info = OpInfo(name, tuple(int(i) for i in op.InputsAsNumpy()), tuple(int(i) for i in op.OutputsAsNumpy()))
        info.macs = _macs(name, tensors, info)
        info.stride = _stride(name, op)
        ops.append(info)
        counts[name] = counts.get(name, 0) + 1
    ins = tuple(int(i) for i in g.InputsAsNumpy())
    outs = tuple(int(i) for i in g.OutputsAsNumpy())
    return ModelInfo(tensors, ops, ins, outs, len(buf), counts)


def summary(info: ModelInfo) -> dict[str, object]:
    inp, out = info.tensors[info.inputs[0]], info.tensors[info.outputs[0]]
    return {
        "input": {"shape": inp.shape, "dtype": inp.dtype, "scale": inp.scales[0], "zero_point": inp.zero_points[0]},
        "output": {"shape": out.shape, "dtype": out.dtype, "scale": out.scales[0], "zero_point": out.zero_points[0]},
        "ops": dict(sorted(info.op_counts.items())),
        "macs": info.macs,
        "params": info.params,
        "weight_bytes": info.weight_bytes,
        "flash_bytes": info.flash_bytes,
        "op_peak_bytes": info.op_peak,
        "live_peak_bytes": info.live_peak,
    }
