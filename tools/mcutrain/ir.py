"""The intermediate representation: plain dataclasses, no behaviour beyond lookups.

One graph = tensors + ops in execution order. Tensor ids are indices into `Graph.tensors`.
Quantization follows TFLite's int8 scheme: real = scale * (q - zero_point), per tensor or
per channel along `axis` (weights).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Ops the engine implements (TFLite builtin names). Anything else is refused at import.
SUPPORTED_OPS = (
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "ADD",
    "AVERAGE_POOL_2D",
    "MAX_POOL_2D",
    "MEAN",
    "PAD",
    "RESHAPE",
    "SOFTMAX",
    "QUANTIZE",
    "DEQUANTIZE",
)

ACTIVATIONS = ("NONE", "RELU", "RELU6")
# Ops with trainable weights (input 1) and bias (input 2).
PARAM_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


@dataclass
class Quant:
    scale: np.ndarray  # float32, shape (1,) per tensor or (C,) per channel
    zero_point: np.ndarray  # int64, same length as scale
    axis: int = 0  # channel axis when per channel

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str  # "int8" | "int32" | "float32" | "int64" ...
    quant: Quant | None = None
    data: np.ndarray | None = None  # set for constants (weights, bias, shapes)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize

    @property
    def scale(self) -> float:
        assert self.quant is not None, f"tensor {self.name} has no quantization"
        return float(self.quant.scale[0])

    @property
    def zero_point(self) -> int:
        assert self.quant is not None, f"tensor {self.name} has no quantization"
        return int(self.quant.zero_point[0])


@dataclass
class Op:
    kind: str  # one of SUPPORTED_OPS
    inputs: list[int]  # tensor ids; -1 marks an absent optional input (e.g. no bias)
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)
    name: str = ""  # layer name, for messages and tables

    def input(self, i: int) -> int:
        return self.inputs[i] if i < len(self.inputs) else -1


@dataclass
class Graph:
    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    name: str = ""

    def producer(self, tensor_id: int) -> int | None:
        for i, op in enumerate(self.ops):
            if tensor_id in op.outputs:
                return i
        return None

    def consumers(self, tensor_id: int) -> list[int]:
        return [i for i, op in enumerate(self.ops) if tensor_id in op.inputs]

    def macs(self) -> int:
        """Multiply-accumulates of one forward pass (conv, depthwise, fully connected)."""
        total = 0
        for op in self.ops:
            if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
                out = self.tensors[op.outputs[0]].shape
                w = self.tensors[op.inputs[1]].shape
                if op.kind == "CONV_2D":
                    total += int(np.prod(out)) * w[1] * w[2] * w[3]
                elif op.kind == "DEPTHWISE_CONV_2D":
                    total += int(np.prod(out)) * w[1] * w[2]
                else:
                    total += int(np.prod(out)) * w[1]
        return total


def logits_tensor(graph: Graph) -> int:
    """The tensor holding the logits: the input of a final SOFTMAX, else the graph output."""
    last = graph.producer(graph.outputs[0])
    if last is not None and graph.ops[last].kind == "SOFTMAX":
        return graph.ops[last].inputs[0]
    return graph.outputs[0]
