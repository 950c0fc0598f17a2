"""Gradient containers for the two numeric modes.

fp32 mode: a gradient is a float32 array in real units (d loss / d real value).
int mode:  `IntGrad(q, exp, base)`: real = q * base * 2^exp. Activation gradients are int16 with
base 1.0 (a pure power-of-two scale); weight gradients are int32 accumulators whose base is the
input activation scale s_x (float metadata only: it never enters element arithmetic).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fixedpoint import normalize16, round_shift


@dataclass
class IntGrad:
    q: np.ndarray  # int16 (activations) or int32 (weight / bias accumulators)
    exp: int
    base: float = 1.0

    def real(self) -> np.ndarray:
        return (self.q.astype(np.float64) * self.base * 2.0**self.exp).astype(np.float32)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.q.shape

    def reshape(self, shape: tuple[int, ...]) -> IntGrad:
        return IntGrad(self.q.reshape(shape), self.exp, self.base)


Grad = np.ndarray | IntGrad


def real(g: Grad) -> np.ndarray:
    return g.real() if isinstance(g, IntGrad) else g


def from_acc(acc: np.ndarray, exp: int) -> IntGrad:
    """int32/int64 accumulator with scale 2^exp -> normalized int16 IntGrad."""
    q, n = normalize16(acc)
    return IntGrad(q, exp + n)


def add_grads(a: Grad, b: Grad) -> Grad:
    """Sum of two gradients of one tensor (a tensor read by two ops). int mode: align to the larger
    exponent with round_shift, add in int32, renormalize to int16."""
    if not isinstance(a, IntGrad):
        return a + real(b)
    assert isinstance(b, IntGrad)
    e = max(a.exp, b.exp)
    acc = round_shift(a.q, e - a.exp) + round_shift(b.q, e - b.exp)
    return from_acc(acc, e)
