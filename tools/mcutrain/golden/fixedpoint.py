"""Integer primitives, vectorised over numpy int64 arrays holding int32 values.

Two families:
- TFLite's (forward, bit-exact with TFLite Micro's reference kernels): `quantize_multiplier`,
  `srdhm` (SaturatingRoundingDoublingHighMul), `rdbpot` (RoundingDivideByPOT),
  `mbqm` (MultiplyByQuantizedMultiplier, the double-rounding form TFLM uses by default).
- The training math's (backward, update): `round_shift` (add half, arithmetic shift right),
  `mul_shift` (one 64-bit product, one rounding), `normalize16` (dynamic power-of-two rescale).
All of them are specified in docs/training-math.md.
"""

from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def tfl_round(x: float) -> int:
    """std::round: half away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(m: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: m ~= mult * 2^(shift - 31), mult in [2^30, 2^31)."""
    if m == 0.0:
        return 0, 0
    frac, shift = math.frexp(m)
    q = tfl_round(frac * (1 << 31))
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def trunc_div_pow2(v: np.ndarray, n: int) -> np.ndarray:
    """C integer division by 2^n (truncation toward zero)."""
    return np.where(v >= 0, v >> n, -((-v) >> n))


def srdhm(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    res = trunc_div_pow2(ab + nudge, 31)
    overflow = (a == b) & (a == INT32_MIN)
    return np.where(overflow, np.int64(INT32_MAX), res)


def rdbpot(x: np.ndarray | int, e: np.ndarray | int) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: round half away from zero."""
    x = np.asarray(x, np.int64)
    e = np.asarray(e, np.int64)
    mask = (np.int64(1) << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (x < 0)
    return (x >> e) + (rem > thr)


def mbqm(x: np.ndarray, mult: np.ndarray | int, shift: np.ndarray | int) -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier (non single-rounding)."""
    x = np.asarray(x, np.int64)
    shift = np.asarray(shift, np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    return rdbpot(srdhm(x * (np.int64(1) << left), mult), right)


def sat_shift_left(x: np.ndarray, e: int) -> np.ndarray:
    """gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent."""
    thr = (1 << (31 - e)) - 1
    r = np.asarray(x, np.int64) << e
    r = np.where(x > thr, INT32_MAX, r)
    return np.where(x < -thr, INT32_MIN, r)


# ---------------------------------------------------------------- training-math primitives


def round_shift(x: np.ndarray | int, n: int) -> np.ndarray:
    """(x + 2^(n-1)) >> n with an arithmetic shift (round half up); n <= 0 shifts left."""
    x = np.asarray(x, np.int64)
    if n <= 0:
        return x << (-n)
    return (x + (np.int64(1) << (n - 1))) >> n


def mul_shift(x: np.ndarray, mult: np.ndarray | int, shift: np.ndarray | int) -> np.ndarray:
    """round(x * mult * 2^(shift-31)): one int64 product, one round_shift, saturated to int32.

    With n = 31 - shift: n > 0 -> (x*mult + 2^(n-1)) >> n; n <= 0 -> (x*mult) << -n.
    Used by the training math (backward scaling, update) — not by the TFLite forward.
    """
    x = np.asarray(x, np.int64)
    n = 31 - np.asarray(shift, np.int64)
    p = x * np.asarray(mult, np.int64)
    pos = np.maximum(n, 1)
    down = (p + (np.int64(1) << (pos - 1))) >> pos
    up = p << np.clip(-n, 0, 62)
    return np.clip(np.where(n > 0, down, up), INT32_MIN, INT32_MAX)


def bitlen(v: int) -> int:
    return int(v).bit_length()


def normalize16(acc: np.ndarray) -> tuple[np.ndarray, int]:
    """Rescale an int32/int64 accumulator to int16: n = max(0, bitlen(max|acc|) - 15);
    q = clamp(round_shift(acc, n), -32767, 32767). Returns (q, n): real(q) = real(acc) * 2^n."""
    m = int(np.max(np.abs(acc))) if acc.size else 0
    n = max(0, bitlen(m) - 15)
    q = np.clip(round_shift(acc, n), -32767, 32767)
    return q.astype(np.int16), n


def ceil_log2(v: int) -> int:
    return max(0, (int(v) - 1).bit_length())


class XorShift32:
    """Marsaglia xorshift32 (13, 17, 5) on a uint32 state; the state must be non-zero."""

    def __init__(self, seed: int) -> None:
        self.state = (int(seed) & 0xFFFFFFFF) or 0x9E3779B9

    def next(self) -> int:
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return x

    def draw(self, n: int) -> np.ndarray:
        """n successive outputs as a uint32-valued int64 array."""
        out = np.empty(n, np.int64)
        x = self.state
        for i in range(n):
            x ^= (x << 13) & 0xFFFFFFFF
            x ^= x >> 17
            x ^= (x << 5) & 0xFFFFFFFF
            out[i] = x
        self.state = x
        return out
