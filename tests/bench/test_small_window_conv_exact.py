"""The small-window path of the Cortex-M conv (firmware/engine/ops/arm/conv2d_s8.c: few taps per output, e.g. a
first layer 3x3 over 1-4 input channels; DSP instructions emulated on the host) against the reference kernel
(ops/conv2d_s8.c), byte for byte, called directly through the two host builds of the engine. The project
model's first conv (96x96x1 -> 48x48x8, 3x3 stride 2, SAME padding all after) with its own parameters, then
random windows of up to 18 lane words (kh x kw x cin, strides, paddings before and after), offsets the loader
accepts (|.| <= 255, not only int8 zero points: the padded taps load -off), narrow clamps, no bias, and
parameters the path must refuse (multipliers >= 1, huge biases: the general loop then runs). On the board
the same C runs with the real instructions (and the inline-asm channel loop); the bench (device_speed --ops)
checks it against the host op by op."""

from __future__ import annotations

import ctypes
import os

import numpy as np
import pytest
from engine_structs import ChannelQuant, ConvParams, Dims, P, ptr

from mcutrain import hostlib

# set (with the sanitizer runtime preloaded) by test_arm_sanitized.py for its child process
SANITIZE = os.environ.get("MCUTRAIN_ARM_SANITIZE") == "1"


def _lib(arm: bool) -> ctypes.CDLL:
    lib = hostlib.library(sanitize=SANITIZE, arm_ops=arm)
    lib.mct_conv2d_s8.argtypes = [P] * 9
    lib.mct_conv2d_s8.restype = None
    return lib


def _run(arm: bool, c: dict) -> np.ndarray:
    d = c["out_dims"]
    out = np.zeros((d.n, d.h, d.w, d.c), np.int8)
    q = ChannelQuant(ptr(c["mult"]), ptr(c["shift"]))
    _lib(arm).mct_conv2d_s8(ctypes.addressof(c["params"]), ctypes.addressof(q), ctypes.addressof(c["in_dims"]),
                            ptr(c["x"]), ctypes.addressof(c["f_dims"]), ptr(c["w"]), ptr(c["bias"]),
                            ctypes.addressof(d), ptr(out))
    return out


def _check(c: dict) -> None:
    ref, arm = _run(False, c), _run(True, c)
    diff = np.flatnonzero(ref.ravel() != arm.ravel())
    p, i, f = c["params"], c["in_dims"], c["f_dims"]
    assert diff.size == 0, (f"{diff.size} bytes differ (first at {diff[0]}): in {i.n}x{i.h}x{i.w}x{i.c} filter "
                            f"{f.n}x{f.h}x{f.w}x{f.c} stride {p.stride_h},{p.stride_w} pad {p.pad_h},{p.pad_w} "
                            f"off {p.input_offset} clamp [{p.act_min}, {p.act_max}] shifts {c['shift'].tolist()}")


def _case(rng: np.random.Generator, s: dict) -> dict:
    n, h, w, cin, cout = s["n"], s["h"], s["w"], s["cin"], s["cout"]
    kh, kw, sh, sw = s["kh"], s["kw"], s["sh"], s["sw"]
    ph, pw = s["ph"], s["pw"]
    oh = max((h + ph + s["ph_after"] - kh) // sh + 1, 1)
    ow = max((w + pw + s["pw_after"] - kw) // sw + 1, 1)
    mult = s.get("mult", rng.integers(1 << 30, (1 << 31) - 1, cout, dtype=np.int64).astype(np.int32))
    shift = s.get("shift", rng.integers(-12, -2, cout).astype(np.int32))
    return {
        "params": ConvParams(sh, sw, ph, pw, 1, s["off"], s["out_off"], *s["clamp"]),
        "mult": np.asarray(mult, np.int32),
        "shift": np.asarray(shift, np.int32),
        "in_dims": Dims(n, h, w, cin),
        "x": rng.integers(-128, 128, (n, h, w, cin)).astype(np.int8),
        "f_dims": Dims(cout, kh, kw, cin),
        "w": rng.integers(-127, 128, (cout, kh, kw, cin)).astype(np.int8),
        "bias": s.get("bias", rng.integers(-30000, 30000, cout).astype(np.int32)),
        "out_dims": Dims(n, oh, ow, cout),
    }


# the first conv of mcunet_s_person_96x96x1 as compiled (stride 2, SAME: pad 0 before, 1 after, RELU6 mapped
# onto the whole int8 range), and the same with a narrower clamp
FIRST_CONV = {"n": 1, "h": 96, "w": 96, "cin": 1, "cout": 8, "kh": 3, "kw": 3, "sh": 2, "sw": 2, "ph": 0, "pw": 0,
              "ph_after": 1, "pw_after": 1, "off": 128, "out_off": -128, "clamp": (-128, 127),
              "mult": [1378527891, 1799517845, 1339902159, 2046069281, 1761557020, 1111763034, 1327450400,
                       1555548658],
              "shift": [-7, -7, -7, -7, -7, -8, -8, -9]}


@pytest.mark.parametrize("clamp", [(-128, 127), (-128, 80)])
def test_model_first_conv(clamp: tuple[int, int]) -> None:
    rng = np.random.default_rng(21)
    _check(_case(rng, {**FIRST_CONV, "clamp": clamp}))
    _check(_case(rng, {**FIRST_CONV, "clamp": clamp, "bias": None}))


def _random_shape(rng: np.random.Generator) -> dict:
    while True:
        kh, kw, cin = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 5))
        if kh * 2 * ((kw * cin + 3) // 4) <= 18 and (kh, kw) != (1, 1):
            break
    kh, kw = (kh, kw) if rng.random() < 0.6 else (3, 3 if cin == 1 else kw)
    sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    clamp = [(-128, 127), (-128, 127), (int(rng.integers(-128, 0)), int(rng.integers(0, 128)))][int(rng.integers(3))]
    off = int(rng.integers(-127, 129)) if rng.random() < 0.8 else int(rng.integers(-255, 256))
    return {"n": int(rng.integers(1, 3)), "h": int(rng.integers(1, 14)), "w": int(rng.integers(1, 14)), "cin": cin,
            "cout": int(rng.integers(1, 20)), "kh": kh, "kw": kw, "sh": sh, "sw": sw,
            "ph": int(rng.integers(0, kh)), "pw": int(rng.integers(0, kw)), "ph_after": int(rng.integers(0, kh)),
            "pw_after": int(rng.integers(0, kw)), "off": off, "out_off": int(rng.integers(-128, 128)),
            "clamp": clamp}


@pytest.mark.parametrize("seed", range(8))
def test_small_windows(seed: int) -> None:
    rng = np.random.default_rng(6000 + seed)
    for _ in range(60):
        s = _random_shape(rng)
        if rng.random() < 0.15:
            s["bias"] = None
        _check(_case(rng, s))


@pytest.mark.parametrize("seed", range(2))
def test_small_windows_refused(seed: int) -> None:
    """Parameters outside the doubled requantization's range: a multiplier >= 1 (shift >= 0) on one channel, or a
    bias near the int32 limit (the general loop must run the whole conv, wrapping as the reference does)."""
    rng = np.random.default_rng(7000 + seed)
    for _ in range(20):
        s = _random_shape(rng)
        c = _case(rng, s)
        if rng.random() < 0.5:
            c["shift"][int(rng.integers(0, s["cout"]))] = int(rng.integers(0, 3))
        else:
            c["bias"][int(rng.integers(0, s["cout"]))] = int(rng.choice([2**31 - 5, -(2**31) + 5, 2**30]))
        _check(c)
