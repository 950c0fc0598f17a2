"""Softmax cross-entropy on the dequantized logits and its gradient w.r.t. the (real) logits.

The logits are the tensor feeding the graph's final SOFTMAX, or the graph output if it has none.
fp32 mode: g = softmax(z) - onehot(label), z = s * (q - zp), float32.
int mode:  p = TFLM integer softmax of the int8 logits with int16 output (p_u = p16 + 32768 = p * 2^16),
           acc = p_u - 2^16 * onehot, g = normalize16(acc) with exponent -16 (no float, no exp()).
The loss value itself (for reporting) is always computed in float64.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, logits_tensor
from .grads import Grad, from_acc
from .tflm_softmax import softmax_int8


def dequantize_logits(graph: Graph, q: np.ndarray, tid: int) -> np.ndarray:
    t = graph.tensors[tid]
    return (np.float32(t.scale) * (q.astype(np.float32) - np.float32(t.zero_point))).reshape(-1)


def softmax_xent(z: np.ndarray, label: int) -> tuple[float, np.ndarray]:
    z64 = z.astype(np.float64) - np.max(z)
    p = np.exp(z64) / np.sum(np.exp(z64))
    return float(-np.log(max(p[label], 1e-30))), p


def loss_and_grad(graph: Graph, logits_q: np.ndarray, label: int, mode: str = "fp32") -> tuple[float, Grad]:
    tid = logits_tensor(graph)
    z = dequantize_logits(graph, logits_q, tid)
    loss, p = softmax_xent(z, label)
    shape = graph.tensors[tid].shape
    if mode == "fp32":
        g = p.astype(np.float32)
        g[label] -= 1.0
        return loss, g.reshape(shape)
    p16 = softmax_int8(logits_q.reshape(1, -1), graph.tensors[tid].scale, 1.0, out_bits=16).reshape(-1)
    acc = p16.astype(np.int64) + 32768
    acc[label] -= 1 << 16
    return loss, from_acc(acc, -16).reshape(shape)
