"""IR pass: the same network at another input resolution.

    g128 = resize_input(graph, 128, 128)   # a copy; weights shared by value, activation shapes re-propagated

Only shapes change: weights, biases and quantization stay as they are, so the result is the graph a
converter would give for the same weights at H x W (what the compiler needs to cost memory and MACs at
that size). Ops walk in execution order; each output shape follows from its inputs:

  CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D   SAME: ceil(n / s); VALID: (n - k_eff) // s + 1
  MEAN (reduce axes, keep_dims), FULLY_CONNECTED (input must still hold a multiple of the weight depth),
  ADD (both inputs broadcast), PAD (+ before + after), RESHAPE (kept when the element count still matches,
  else a [batch, -1] flatten or a single -1 is re-solved), SOFTMAX / QUANTIZE / DEQUANTIZE (same shape).

Anything that cannot follow (a VALID window larger than its input, a classifier whose input size changes,
a reshape with fixed sizes) raises `ResizeError` with one line naming the op.
"""

from __future__ import annotations

import copy

import numpy as np

from ..ir import Graph, Op

SAME_SHAPE = ("SOFTMAX", "QUANTIZE", "DEQUANTIZE")


class ResizeError(ValueError):
    """The graph cannot be re-shaped to the requested input; one line for the user."""


def _window(n: int, k: int, stride: int, dilation: int, padding: str, where: str) -> int:
    if padding == "SAME":
        return -(-n // stride)
    eff = (k - 1) * dilation + 1
    if n < eff:
        raise ResizeError(f"{where}: VALID window {eff} is larger than its {n}-pixel input")
    return (n - eff) // stride + 1


def _spatial(g: Graph, op: Op, where: str) -> tuple[int, int, int, int]:
    """(batch, H, W, C_out) of a conv / depthwise / pool output."""
    n, h, w, c = g.tensors[op.inputs[0]].shape
    o = op.options
    if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        ws = g.tensors[op.inputs[1]].shape
        kh, kw = ws[1], ws[2]
        c = ws[0] if op.kind == "CONV_2D" else ws[3]
    else:
        kh, kw = o["filter_h"], o["filter_w"]
    pad = o.get("padding", "SAME")
    oh = _window(h, kh, o["stride_h"], o.get("dilation_h", 1), pad, where)
    ow = _window(w, kw, o["stride_w"], o.get("dilation_w", 1), pad, where)
    return n, oh, ow, c


def _mean(g: Graph, op: Op) -> tuple[int, ...]:
    shape = g.tensors[op.inputs[0]].shape
    axes = {int(a) % len(shape) for a in np.ravel(g.tensors[op.inputs[1]].data)}
    if op.options.get("keep_dims", False):
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _fully_connected(g: Graph, op: Op, where: str) -> tuple[int, ...]:
    shape = g.tensors[op.inputs[0]].shape
    units, depth = g.tensors[op.inputs[1]].shape
    size = int(np.prod(shape))
    if size % depth:
        raise ResizeError(f"{where}: input of {size} elements no longer fits the {depth}-deep weights")
    if op.options.get("keep_num_dims", False):
        if shape[-1] != depth:
            raise ResizeError(f"{where}: last input dim {shape[-1]} != weight depth {depth}")
        return (*shape[:-1], units)
    batch = size // depth
    old_batch = int(np.prod(g.tensors[op.outputs[0]].shape)) // units
    if batch != old_batch:
        raise ResizeError(
            f"{where}: the classifier would see {batch} rows instead of {old_batch}: its input size "
            "depends on the resolution (no global pooling before it)"
        )
    return (batch, units)


def _reshape(g: Graph, op: Op, where: str) -> tuple[int, ...]:
    size = int(np.prod(g.tensors[op.inputs[0]].shape))
    old = g.tensors[op.outputs[0]].shape
    if int(np.prod(old)) == size:
        return old
    const = op.input(1)
    target = [int(v) for v in np.ravel(g.tensors[const].data)] if const >= 0 else list(op.options.get("new_shape", old))
    if target.count(-1) == 1:
        known = int(np.prod([d for d in target if d != -1]))
        new = [size // known if d == -1 else d for d in target]
    elif len(old) == 2:  # [batch, features] flatten
        new = [old[0], size // old[0]]
    else:
        raise ResizeError(f"{where}: reshape to fixed shape {list(old)} cannot hold {size} elements")
    if int(np.prod(new)) != size:
        raise ResizeError(f"{where}: reshape to {new} cannot hold {size} elements")
    return tuple(new)


def _set_reshape_target(g: Graph, op: Op, shape: tuple[int, ...]) -> None:
    const = op.input(1)
    if const >= 0 and g.tensors[const].data is not None and -1 not in np.ravel(g.tensors[const].data):
        t = g.tensors[const]
        t.data = np.array(shape, dtype=t.data.dtype)
        t.shape = t.data.shape
    if "new_shape" in op.options and -1 not in op.options["new_shape"]:
        op.options = dict(op.options, new_shape=list(shape))


def _out_shape(g: Graph, i: int, op: Op) -> tuple[int, ...]:
    where = f"op {i} {op.kind} '{op.name}'"
    if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return _spatial(g, op, where)
    if op.kind == "MEAN":
        return _mean(g, op)
    if op.kind == "FULLY_CONNECTED":
        return _fully_connected(g, op, where)
    if op.kind == "ADD":
        a, b = (g.tensors[t].shape for t in op.inputs[:2])
        try:
            return tuple(np.broadcast_shapes(a, b))
        except ValueError:
            raise ResizeError(f"{where}: inputs {list(a)} and {list(b)} no longer match") from None
    if op.kind == "PAD":
        shape = g.tensors[op.inputs[0]].shape
        pads = np.asarray(g.tensors[op.inputs[1]].data).reshape(len(shape), 2)
        return tuple(int(d + p[0] + p[1]) for d, p in zip(shape, pads, strict=True))
    if op.kind == "RESHAPE":
        return _reshape(g, op, where)
    if op.kind in SAME_SHAPE:
        return g.tensors[op.inputs[0]].shape
    raise ResizeError(f"{where}: no shape rule for {op.kind}")


def resize_input(graph: Graph, height: int, width: int) -> Graph:
    """A copy of `graph` with input H x W = height x width and every activation shape re-propagated."""
    if height < 1 or width < 1:
        raise ResizeError(f"input size must be positive, got {height}x{width}")
    g = copy.deepcopy(graph)
    if len(g.inputs) != 1 or len(g.tensors[g.inputs[0]].shape) != 4:
        raise ResizeError("resize_input needs one NHWC image input")
    inp = g.tensors[g.inputs[0]]
    n, _, _, c = inp.shape
    inp.shape = (n, height, width, c)
    for i, op in enumerate(g.ops):
        shape = _out_shape(g, i, op)
        if op.kind == "RESHAPE":
            _set_reshape_target(g, op, shape)
        if any(d < 1 for d in shape):
            raise ResizeError(f"op {i} {op.kind} '{op.name}': output shape {list(shape)} is empty")
        g.tensors[op.outputs[0]].shape = tuple(int(d) for d in shape)
    g.name = f"{graph.name}@{height}x{width}"
    return g
