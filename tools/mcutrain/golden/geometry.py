"""Output sizes and padding exactly as TFLite computes them (ComputePaddingHeightWidth)."""

from __future__ import annotations


def out_size(padding: str, in_size: int, filt: int, stride: int) -> int:
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size - filt + stride) // stride


def pad_before(padding: str, in_size: int, filt: int, stride: int) -> int:
    """Rows/columns of padding before the data (the extra odd one, if any, goes after)."""
    out = out_size(padding, in_size, filt, stride)
    total = max((out - 1) * stride + filt - in_size, 0)
    return total // 2 if padding == "SAME" else 0


def conv_geometry(op_options: dict, in_hw: tuple[int, int], k_hw: tuple[int, int]) -> dict[str, int]:
    sh, sw = op_options["stride_h"], op_options["stride_w"]
    pad = op_options["padding"]
    h, w = in_hw
    kh, kw = k_hw
    oh, ow = out_size(pad, h, kh, sh), out_size(pad, w, kw, sw)
    return {
        "sh": sh, "sw": sw, "kh": kh, "kw": kw, "oh": oh, "ow": ow,
        "ph": pad_before(pad, h, kh, sh), "pw": pad_before(pad, w, kw, sw),
    }
