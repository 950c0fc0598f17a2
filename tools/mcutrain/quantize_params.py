"""Host-side integer quantization parameters, computed exactly as TFLite (Micro) computes them.

The device never sees a float scale on the int8 path: every real multiplier is turned here into
(multiplier, shift) with `quantize_multiplier`, TFLite's QuantizeMultiplier, so the engine's
`mct_mbqm` (firmware/engine/quant.h) reproduces TFLite bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real = m * 2^(shift - 31), m in [2^30, 2^31), round half away."""
    if real == 0.0:
        return 0, 0
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"multiplier {real} is not a finite non-negative number")
    q, shift = math.frexp(real)  # real = q * 2^shift, q in [0.5, 1)
    q_fixed = math.floor(q * (1 << 31) + 0.5)  # q*2^31 is exact in a double; ties away from zero (q > 0)
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 31:
        raise ValueError(f"multiplier {real} too large for int32 fixed point")
    return int(q_fixed), int(shift)


def f32(x: float) -> np.float32:
    return np.float32(x)


def activation_range(act: str, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for int8 (round(f / scale) computed in float32)."""

    def q(v: float) -> int:
        r = float(np.float32(v) / np.float32(scale))  # float32 division, as TFLite
        return zero_point + int(math.copysign(math.floor(abs(r) + 0.5), r))  # exact in double

    if act == "NONE":
        return INT8_MIN, INT8_MAX
    if act == "RELU":
        return max(INT8_MIN, q(0.0)), INT8_MAX
    if act == "RELU6":
        return max(INT8_MIN, q(0.0)), min(INT8_MAX, q(6.0))
    raise ValueError(f"unsupported fused activation {act}")


def conv_channel_multipliers(input_scale: float, filter_scales: np.ndarray, output_scale: float,
                             channels: int) -> tuple[list[int], list[int]]:
    """Per-channel (multiplier, shift) for conv/depthwise/fully connected (TFLite
    PopulateConvolutionQuantizationParams: effective scale in double from float32 scales)."""
    fs = np.asarray(filter_scales, dtype=np.float32).reshape(-1)
    if fs.size == 1:
        fs = np.repeat(fs, channels)
    if fs.size != channels:
        raise ValueError(f"{fs.size} filter scales for {channels} output channels")
    mults, shifts = [], []
    for c in range(channels):
        eff = float(np.float32(input_scale)) * float(fs[c]) / float(np.float32(output_scale))
        m, s = quantize_multiplier(eff)
        mults.append(m)
        shifts.append(s)
    return mults, shifts


def add_params(s1: float, s2: float, s_out: float) -> dict[str, int]:
    """TFLite int8 ADD: inputs rescaled to 2*max(s1, s2) with 20 bits of headroom."""
    left_shift = 20
    twice_max = 2.0 * float(max(np.float32(s1), np.float32(s2)))
    m1, sh1 = quantize_multiplier(float(np.float32(s1)) / twice_max)
    m2, sh2 = quantize_multiplier(float(np.float32(s2)) / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * float(np.float32(s_out))))
    return {"left_shift": left_shift, "m1": m1, "s1": sh1, "m2": m2, "s2": sh2, "mo": mo, "so": sho}


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """TFLite PreprocessSoftmaxScaling + CalculateInputRadius for int8 (5 integer bits)."""
    int_bits = 5
    real = min(float(beta) * float(np.float32(input_scale)) * (1 << (31 - int_bits)), (1 << 31) - 1.0)
    mult, shift = quantize_multiplier(real)
    if shift < 0:
        raise ValueError("softmax input multiplier below one; input scale too small")
    max_input_rescaled = 1.0 * ((1 << int_bits) - 1) * (1 << (31 - int_bits)) / (1 << shift)
    diff_min = -int(math.floor(max_input_rescaled))
    return mult, shift, diff_min


def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """TFLite Micro QuantizedMeanOrSum: multiplier for in/out scale, then 1/count folded in."""
    mult, shift = quantize_multiplier(float(np.float32(input_scale)) / float(np.float32(output_scale)))
    nshift = 63 - _clz64(count)
    nshift = min(nshift, 32)
    nshift = min(nshift, 31 + shift)
    mult = int((mult << nshift) // count) if nshift >= 0 else int(mult // count)
    return _to_i32(mult), shift - nshift


def _clz64(x: int) -> int:
    return 64 - x.bit_length()


def _to_i32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= 1 << 31 else x


def same_padding(in_size: int, filt: int, stride: int, out_size: int) -> int:
    """Padding before, TFLite ComputePaddingHeightWidth (dilation 1); the odd remainder goes after."""
    total = (out_size - 1) * stride + filt - in_size
    return max(total // 2, 0)
