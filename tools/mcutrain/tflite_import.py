"""Import an int8 `.tflite` flatbuffer into the IR, refusing what the engine cannot run.

Every refusal is one `ModelError` line naming the file, the op and the layer, and what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import tflite

from .ir import SUPPORTED_OPS, Graph, Op, Quant, Tensor

_OPNAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
_TYPES = {
    tflite.TensorType.FLOAT32: "float32",
    tflite.TensorType.INT32: "int32",
    tflite.TensorType.INT8: "int8",
    tflite.TensorType.INT16: "int16",
    tflite.TensorType.INT64: "int64",
    tflite.TensorType.UINT8: "uint8",
}
_ACT = {
    tflite.ActivationFunctionType.NONE: "NONE",
    tflite.ActivationFunctionType.RELU: "RELU",
    tflite.ActivationFunctionType.RELU6: "RELU6",
}
_PAD = {tflite.Padding.SAME: "SAME", tflite.Padding.VALID: "VALID"}


class ModelError(ValueError):
    """A model the engine cannot take; the message is one line for the user."""


def _printable(text: str, limit: int = 200) -> str:
    """One line of printable text (names in a corrupt file can hold anything), cut at `limit`."""
    out = "".join(c if c.isprintable() else "?" for c in text)
    return out if len(out) <= limit else out[:limit] + "..."


def load_tflite(path: str | Path) -> Graph:
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read model file ({e.strerror})") from None
    return parse_tflite(buf, str(path))


def parse_tflite(buf: bytes, source: str = "<bytes>") -> Graph:
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelError(f"{source}: not a TFLite flatbuffer (missing 'TFL3' identifier); pass a .tflite file")
    try:
        return _Importer(buf, source).run()
    except ModelError:
        raise
    except Exception as e:  # a corrupt flatbuffer raises anything from struct/index errors
        why = _printable(f"{type(e).__name__}: {e}")
        raise ModelError(f"{source}: corrupt TFLite flatbuffer ({why}); re-export the model") from None


class _Importer:
    def __init__(self, buf: bytes, source: str) -> None:
        self.buf = buf
        self.source = source
        self.model = tflite.Model.GetRootAsModel(buf, 0)

    def fail(self, msg: str) -> ModelError:
        return ModelError(_printable(f"{self.source}: {msg}", 1000))

    def run(self) -> Graph:
        m = self.model
        if m.SubgraphsLength() != 1:
            raise self.fail(f"{m.SubgraphsLength()} subgraphs; only single-subgraph models are supported")
        sg = m.Subgraphs(0)
        tensors = [self.tensor(sg.Tensors(i), i) for i in range(sg.TensorsLength())]
        ops = [self.op(sg.Operators(i), i, tensors) for i in range(sg.OperatorsLength())]
        inputs = [int(x) for x in sg.InputsAsNumpy()] if sg.InputsLength() else []
        outputs = [int(x) for x in sg.OutputsAsNumpy()] if sg.OutputsLength() else []
        for what, ids in (("input", inputs), ("output", outputs)):
            if not ids:
                raise self.fail(f"the model has no {what}s; re-export the model")
            for t in ids:
                if not 0 <= t < len(tensors):
                    raise self.fail(f"model {what} refers to tensor {t}, which does not exist")
                if tensors[t].data is not None:
                    raise self.fail(f"model {what} '{tensors[t].name}' is a constant; re-export the model")
        name = _printable(sg.Name().decode(errors="replace"), 100_000) if sg.Name() else ""
        graph = Graph(tensors=tensors, ops=ops, inputs=inputs, outputs=outputs, name=name)
        self.check(graph)
        return graph

    def tensor(self, t: Any, idx: int) -> Tensor:
        name = _printable(t.Name().decode(errors="replace"), 100_000) if t.Name() else f"t{idx}"
        dtype = _TYPES.get(t.Type())
        if dtype is None:
            raise self.fail(f"tensor {idx} '{name}' has unsupported type {t.Type()}")
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        if any(d < 0 for d in shape):
            raise self.fail(f"tensor '{name}' has a dynamic shape {shape}; export with a fixed batch size 1")
        quant = None
        q = t.Quantization()
        if q is not None and q.ScaleLength() > 0:
            scale = q.ScaleAsNumpy().astype(np.float32)
            zp = q.ZeroPointAsNumpy().astype(np.int64) if q.ZeroPointLength() else np.zeros_like(scale, np.int64)
            if zp.size not in (1, scale.size):
                raise self.fail(f"tensor '{name}' has {scale.size} scales but {zp.size} zero points")
            if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
                raise self.fail(f"tensor '{name}' has a scale that is not a positive finite number; re-export it")
            lo, hi = (-128, 127) if dtype == "int8" else (-(1 << 31), (1 << 31) - 1)
            if np.any(zp < lo) or np.any(zp > hi):
                raise self.fail(f"tensor '{name}' ({dtype}) has a zero point outside [{lo}, {hi}]")
            quant = Quant(scale=scale, zero_point=np.broadcast_to(zp, scale.shape).copy(), axis=q.QuantizedDimension())
        data = None
        buf = self.model.Buffers(t.Buffer()) if t.Buffer() < self.model.BuffersLength() else None
        if buf is not None and buf.DataLength() > 0:
            raw = buf.DataAsNumpy().tobytes()
            want = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            if len(raw) != want:
                raise self.fail(f"constant '{name}' holds {len(raw)} bytes, its shape {shape} needs {want}")
            data = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return Tensor(name=name, shape=shape, dtype=dtype, quant=quant, data=data)

    def op(self, o: Any, idx: int, tensors: list[Tensor]) -> Op:
        code_idx = o.OpcodeIndex()
        if code_idx >= self.model.OperatorCodesLength():
            raise self.fail(f"op {idx} refers to opcode {code_idx}, which does not exist")
        oc = self.model.OperatorCodes(code_idx)
        # Old files store the code in deprecated_builtin_code; new ones in builtin_code.
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        kind = _OPNAMES.get(code, f"builtin#{code}")
        inputs = [int(x) for x in o.InputsAsNumpy()] if o.InputsLength() else []
        outputs = [int(x) for x in o.OutputsAsNumpy()] if o.OutputsLength() else []
        for t in inputs + outputs:
            if t >= len(tensors) or t < -1:
                raise self.fail(f"op {idx} ({kind}) refers to tensor {t}, which does not exist")
        layer = tensors[outputs[0]].name if outputs else f"op{idx}"
        if kind not in SUPPORTED_OPS:
            raise self.fail(f"unsupported op {kind} at layer {idx} '{layer}'; supported: {', '.join(SUPPORTED_OPS)}")
        if not outputs or any(t < 0 or tensors[t].data is not None for t in outputs):
            raise self.fail(f"op {kind} at layer {idx} '{layer}' has a missing or constant output tensor")
        if not inputs or inputs[0] < 0:
            raise self.fail(f"op {kind} at layer {idx} '{layer}' has no input tensor")
        options = self.options(o, kind, idx, layer)
        for key in ("stride_h", "stride_w", "filter_h", "filter_w", "depth_multiplier"):
            if key in options and options[key] < 1:
                raise self.fail(f"op {kind} at layer {idx} '{layer}' has {key} {options[key]}; it must be >= 1")
        return Op(kind=kind, inputs=inputs, outputs=outputs, options=options, name=layer)

    def options(self, o: Any, kind: str, idx: int, layer: str) -> dict[str, Any]:
        tab = o.BuiltinOptions()

        def read(cls: type) -> Any:
            opt = cls()
            if tab is not None:
                opt.Init(tab.Bytes, tab.Pos)
            return opt

        def act(code: int) -> str:
            if code not in _ACT:
                raise self.fail(f"op {kind} at layer {idx} '{layer}' has unsupported fused activation {code}")
            return _ACT[code]

        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            cls = tflite.Conv2DOptions if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions
            opt = read(cls)
            out = {
                "padding": _PAD[opt.Padding()],
                "stride_h": opt.StrideH(),
                "stride_w": opt.StrideW(),
                "activation": act(opt.FusedActivationFunction()),
            }
            if tab is not None and (opt.DilationHFactor() != 1 or opt.DilationWFactor() != 1):
                raise self.fail(f"op {kind} at layer {idx} '{layer}' uses dilation; only dilation 1 is supported")
            if kind == "DEPTHWISE_CONV_2D":
                out["depth_multiplier"] = opt.DepthMultiplier()
            return out
        if kind == "FULLY_CONNECTED":
            opt = read(tflite.FullyConnectedOptions)
            if opt.WeightsFormat() != 0:
                raise self.fail(f"op {kind} at layer {idx} '{layer}' uses shuffled weights; re-export default")
            return {"activation": act(opt.FusedActivationFunction()), "keep_num_dims": bool(opt.KeepNumDims())}
        if kind == "ADD":
            return {"activation": act(read(tflite.AddOptions).FusedActivationFunction())}
        if kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            opt = read(tflite.Pool2DOptions)
            return {
                "padding": _PAD[opt.Padding()],
                "stride_h": opt.StrideH(),
                "stride_w": opt.StrideW(),
                "filter_h": opt.FilterHeight(),
                "filter_w": opt.FilterWidth(),
                "activation": act(opt.FusedActivationFunction()),
            }
        if kind == "MEAN":
            return {"keep_dims": bool(read(tflite.ReducerOptions).KeepDims())}
        if kind == "SOFTMAX":
            return {"beta": float(read(tflite.SoftmaxOptions).Beta())}
        return {}

    def check(self, g: Graph) -> None:
        """Types the int8 engine can run: int8 activations, int8 weights, int32 bias."""
        self.check_dataflow(g)
        for i, op in enumerate(g.ops):
            where = f"op {op.kind} at layer {i} '{op.name}'"
            ins = [g.tensors[t] for t in op.inputs if t >= 0]
            outs = [g.tensors[t] for t in op.outputs]
            if op.kind == "QUANTIZE":
                if outs[0].dtype != "int8":
                    raise self.fail(f"{where} quantizes to {outs[0].dtype}; only int8 is supported")
                for t in (ins[0], outs[0]) if ins[0].dtype == "int8" else (outs[0],):
                    if t.quant is None:
                        raise self.fail(f"{where}: tensor '{t.name}' has no quantization parameters")
                continue
            if op.kind == "DEQUANTIZE":
                if ins[0].dtype != "int8":
                    raise self.fail(f"{where} dequantizes {ins[0].dtype}; only int8 is supported")
                if ins[0].quant is None:
                    raise self.fail(f"{where}: tensor '{ins[0].name}' has no quantization parameters")
                continue
            act_in = ins[0]
            if act_in.dtype != "int8" or outs[0].dtype != "int8":
                raise self.fail(
                    f"{where} has {act_in.dtype} -> {outs[0].dtype} activations; only int8 models are supported "
                    "(convert with full-integer quantization)"
                )
            for t in [act_in, *outs]:
                if t.quant is None:
                    raise self.fail(f"{where}: tensor '{t.name}' has no quantization parameters")
            if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
                w = g.tensors[op.inputs[1]]
                if w.dtype != "int8" or w.data is None or w.quant is None:
                    raise self.fail(f"{where}: weights must be constant int8 with quantization (got {w.dtype})")
                if np.any(w.quant.zero_point != 0):
                    raise self.fail(f"{where}: weights must be symmetric (zero point 0)")
                b = op.input(2)
                if b >= 0 and (g.tensors[b].dtype != "int32" or g.tensors[b].data is None):
                    raise self.fail(f"{where}: bias must be a constant int32 tensor")
            if op.kind == "ADD" and (ins[1].dtype != "int8" or ins[1].quant is None):
                raise self.fail(f"{where}: both ADD inputs must be quantized int8")
            if op.kind in ("MEAN", "PAD") and (len(op.inputs) < 2 or g.tensors[op.inputs[1]].data is None):
                raise self.fail(f"{where}: its axis/paddings input must be a constant")

    def check_dataflow(self, g: Graph) -> None:
        """Every tensor an op reads is a constant, a model input or written by an earlier op; model
        inputs and outputs are activations, each written by at most one op (inputs by none)."""
        written = set(g.inputs)
        for i, op in enumerate(g.ops):
            where = f"op {op.kind} at layer {i} '{op.name}'"
            for t in op.inputs:
                if t >= 0 and g.tensors[t].data is None and t not in written:
                    raise self.fail(f"{where} reads tensor '{g.tensors[t].name}' before any op writes it")
            for t in op.outputs:
                if t in written:
                    what = "a model input" if t in g.inputs else "already written by an earlier op"
                    raise self.fail(f"{where} writes tensor '{g.tensors[t].name}', which is {what}")
                written.add(t)
        for t in g.outputs:
            if t not in written:
                raise self.fail(f"model output '{g.tensors[t].name}' is never written")
