"""ctypes mirrors of the engine's kernel argument structs (firmware/engine/ops/ops.h, train_ops.h), for the
tests that call single kernels of the host builds directly."""

from __future__ import annotations

import ctypes

import numpy as np

I32 = ctypes.c_int32
P = ctypes.c_void_p


class ConvParams(ctypes.Structure):
    _fields_ = [(n, I32) for n in ("stride_h", "stride_w", "pad_h", "pad_w", "depth_multiplier", "input_offset",
                                   "output_offset", "act_min", "act_max")]


class FcParams(ctypes.Structure):
    _fields_ = [(n, I32) for n in ("input_offset", "filter_offset", "output_offset", "act_min", "act_max")]


class ChannelQuant(ctypes.Structure):
    _fields_ = [("multiplier", P), ("shift", P)]


class Geom(ctypes.Structure):
    _fields_ = [(n, I32) for n in ("stride_h", "stride_w", "pad_h", "pad_w", "depth_multiplier")]


class Dims(ctypes.Structure):
    _fields_ = [("n", I32), ("h", I32), ("w", I32), ("c", I32)]


class Filter(ctypes.Structure):
    _fields_ = [("flash", P), ("ram", P), ("k", I32)]


def ptr(a: np.ndarray | None) -> int | None:
    return None if a is None else a.ctypes.data
