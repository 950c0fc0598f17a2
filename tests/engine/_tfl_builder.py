"""Test-only writer of real .tflite flatbuffers (the schema module shipped in the tflite-micro wheel),
so property tests can feed the same file to TFLite Micro and to our importer/engine."""

from __future__ import annotations

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

_TYPES = {"int8": s.TensorType.INT8, "int32": s.TensorType.INT32, "float32": s.TensorType.FLOAT32}
_ACT = {"NONE": 0, "RELU": 1, "RELU6": 3, "TANH": 4}
_PAD = {"SAME": s.Padding.SAME, "VALID": s.Padding.VALID}


class ModelBuilder:
    def __init__(self) -> None:
        self.buffers: list[s.BufferT] = [s.BufferT()]
        self.tensors: list[s.TensorT] = []
        self.ops: list[s.OperatorT] = []
        self.codes: list[int] = []

    def tensor(self, shape, dtype: str = "int8", scale=None, zero_point=None, data=None, name: str | None = None,
               axis: int = 0) -> int:
        t = s.TensorT()
        t.shape = list(shape)
        t.type = _TYPES[dtype]
        t.name = name or f"t{len(self.tensors)}"
        t.buffer = 0
        if data is not None:
            b = s.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(np.asarray(data, dtype=dtype)).tobytes(), np.uint8)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        if scale is not None:
            q = s.QuantizationParametersT()
            q.scale = [float(v) for v in np.atleast_1d(scale)]
            zp = np.atleast_1d(zero_point if zero_point is not None else 0)
            q.zeroPoint = [int(v) for v in (zp if zp.size == len(q.scale) else np.repeat(zp, len(q.scale)))]
            q.quantizedDimension = axis
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, code: int, inputs, outputs, options_type: int = 0, options=None) -> None:
        if code not in self.codes:
            self.codes.append(code)
        o = s.OperatorT()
        o.opcodeIndex = self.codes.index(code)
        o.inputs = list(inputs)
        o.outputs = list(outputs)
        if options is not None:
            o.builtinOptionsType = options_type
            o.builtinOptions = options
        self.ops.append(o)

    # ---- op helpers -------------------------------------------------------------------------
    def conv(self, x, w, b, y, stride, padding, act="NONE", depthwise=False, dm=1):
        if depthwise:
            opt = s.DepthwiseConv2DOptionsT()
            opt.depthMultiplier = dm
            code, ot = s.BuiltinOperator.DEPTHWISE_CONV_2D, s.BuiltinOptions.DepthwiseConv2DOptions
        else:
            opt = s.Conv2DOptionsT()
            code, ot = s.BuiltinOperator.CONV_2D, s.BuiltinOptions.Conv2DOptions
        opt.padding = _PAD[padding]
        opt.strideH = opt.strideW = stride
        opt.dilationHFactor = opt.dilationWFactor = 1
        opt.fusedActivationFunction = _ACT[act]
        self.op(code, [x, w, b], [y], ot, opt)

    def fc(self, x, w, b, y, act="NONE"):
        opt = s.FullyConnectedOptionsT()
        opt.fusedActivationFunction = _ACT[act]
        self.op(s.BuiltinOperator.FULLY_CONNECTED, [x, w, b], [y], s.BuiltinOptions.FullyConnectedOptions, opt)

    def add(self, a, b, y, act="NONE"):
        opt = s.AddOptionsT()
        opt.fusedActivationFunction = _ACT[act]
        self.op(s.BuiltinOperator.ADD, [a, b], [y], s.BuiltinOptions.AddOptions, opt)

    def pool(self, x, y, kind, filt, stride, padding, act="NONE"):
        opt = s.Pool2DOptionsT()
        opt.padding = _PAD[padding]
        opt.strideH = opt.strideW = stride
        opt.filterHeight = opt.filterWidth = filt
        opt.fusedActivationFunction = _ACT[act]
        code = s.BuiltinOperator.AVERAGE_POOL_2D if kind == "avg" else s.BuiltinOperator.MAX_POOL_2D
        self.op(code, [x], [y], s.BuiltinOptions.Pool2DOptions, opt)

    def mean(self, x, axes_t, y, keep_dims):
        opt = s.ReducerOptionsT()
        opt.keepDims = keep_dims
        self.op(s.BuiltinOperator.MEAN, [x, axes_t], [y], s.BuiltinOptions.ReducerOptions, opt)

    def pad(self, x, pads_t, y):
        self.op(s.BuiltinOperator.PAD, [x, pads_t], [y], s.BuiltinOptions.PadOptions, s.PadOptionsT())

    def softmax(self, x, y, beta=1.0):
        opt = s.SoftmaxOptionsT()
        opt.beta = beta
        self.op(s.BuiltinOperator.SOFTMAX, [x], [y], s.BuiltinOptions.SoftmaxOptions, opt)

    def reshape(self, x, shape_t, y, new_shape):
        opt = s.ReshapeOptionsT()
        opt.newShape = list(new_shape)
        self.op(s.BuiltinOperator.RESHAPE, [x, shape_t], [y], s.BuiltinOptions.ReshapeOptions, opt)

    def build(self, inputs, outputs) -> bytes:
        sg = s.SubGraphT()
        sg.tensors = self.tensors
        sg.inputs = list(inputs)
        sg.outputs = list(outputs)
        sg.operators = self.ops
        sg.name = "main"
        m = s.ModelT()
        m.version = 3
        m.description = "mcutrain test model"
        m.subgraphs = [sg]
        m.buffers = self.buffers
        codes = []
        for c in self.codes:
            oc = s.OperatorCodeT()
            oc.builtinCode = c
            oc.deprecatedBuiltinCode = min(c, 127)
            oc.version = 1
            codes.append(oc)
        m.operatorCodes = codes
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())
