"""int8 SOFTMAX exactly as TFLite Micro's reference kernel (gemmlowp fixed point)."""

from __future__ import annotations

import math

import numpy as np

from .fixedpoint import INT32_MAX, quantize_multiplier, rdbpot, sat_shift_left, srdhm

_SCALED_DIFF_INT_BITS = 5
_ACCUM_INT_BITS = 12


def softmax_params(input_scale: float, beta: float = 1.0) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling + CalculateInputRadius -> (multiplier, left_shift, diff_min)."""
    real = min(beta * float(input_scale) * (1 << (31 - _SCALED_DIFF_INT_BITS)), (1 << 31) - 1.0)
    mult, shift = quantize_multiplier(real)
    assert shift >= 0
    max_rescaled = ((1 << _SCALED_DIFF_INT_BITS) - 1) * (1 << (31 - _SCALED_DIFF_INT_BITS)) / (1 << shift)
    return mult, shift, -math.floor(max_rescaled)


def _exp_quarter(a: np.ndarray) -> np.ndarray:
    """exp on [-1/4, 0): Q0.31 in, Q0.31 out."""
    const_term = 1895147668
    one_third = 715827883
    x = a + (1 << 28)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_4 = rdbpot(x4, 2)
    inner = rdbpot(srdhm(x4_4 + x3, one_third) + x2, 1)
    return const_term + srdhm(const_term, x + inner)


def exp_on_negative_values(a: np.ndarray) -> np.ndarray:
    """gemmlowp exp_on_negative_values: Q5.26 (<= 0) in, Q0.31 out."""
    frac_bits = 31 - _SCALED_DIFF_INT_BITS
    quarter = 1 << (frac_bits - 2)
    a_mod = (a & (quarter - 1)) - quarter
    result = _exp_quarter(sat_shift_left(a_mod, _SCALED_DIFF_INT_BITS))
    remainder = a_mod - a
    barrel = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
              (2, 39332535), (3, 720401), (4, 242))
    for exponent, mult in barrel:
        if exponent < _SCALED_DIFF_INT_BITS:
            bit = 1 << (frac_bits + exponent)
            result = np.where((remainder & bit) != 0, srdhm(result, mult), result)
    return np.where(a == 0, INT32_MAX, result)


def _one_over_one_plus_x(a: np.ndarray) -> np.ndarray:
    """gemmlowp one_over_one_plus_x_for_x_in_0_1: Q0.31 in, Q0.31 out."""
    s = a + np.int64(INT32_MAX)
    half_den = np.where(s >= 0, (s + 1) // 2, -((-(s - 1)) // 2))  # RoundingHalfSum, C truncation
    x = 1515870810 + srdhm(half_den, -1010580540)  # Q2.29
    one_q2 = 1 << 29
    for _ in range(3):
        hdx = srdhm(half_den, x)
        x = x + sat_shift_left(srdhm(x, one_q2 - hdx), 2)
    return sat_shift_left(x, 1)


def softmax_int8(x: np.ndarray, input_scale: float, beta: float = 1.0, out_bits: int = 8) -> np.ndarray:
    """Softmax over the last axis; int8 output (scale 1/256, zp -128) or int16 (1/65536, zp -32768)."""
    mult, shift, diff_min = softmax_params(input_scale, beta)
    xi = np.asarray(x, np.int64)
    diff = xi - xi.max(axis=-1, keepdims=True)
    valid = diff >= diff_min
    scaled = srdhm(diff * (1 << shift), mult)
    exps = exp_on_negative_values(scaled)
    sum_exps = np.sum(np.where(valid, rdbpot(exps, _ACCUM_INT_BITS), 0), axis=-1, keepdims=True)
    # GetReciprocal
    headroom_plus_one = 32 - np.vectorize(lambda v: int(v).bit_length())(sum_exps)  # clz of uint32
    num_bits_over_unit = _ACCUM_INT_BITS - headroom_plus_one
    shifted_minus_one = ((sum_exps << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31)
    shifted_scale = _one_over_one_plus_x(shifted_minus_one)
    out = rdbpot(srdhm(shifted_scale, exps), num_bits_over_unit + 31 - out_bits)
    lo, hi = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    out = np.clip(out + lo, lo, hi)
    return np.where(valid, out, lo).astype(np.int8 if out_bits == 8 else np.int16)
