"""The Cortex-M split-weight forward kernels (firmware/engine/ops/arm/conv2d_split_s8.c, DSP instructions
emulated on the host) against the reference ones (ops/conv2d_split_s8.c), byte for byte, called directly
through the two host builds of the engine: random shapes, strides, paddings, depth multipliers, channel
splits k (0, all, odd, not a multiple of 4), offsets, left-shift multipliers, narrow clamps, no bias. The
project model's split layers are checked too. The RAM channels hold different weights from the flash
rows they replace, so reading the wrong copy shows. On the board the same C runs with the real
instructions; tests/hil and the bench (device_speed --ops) compare it with the host op by op."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np
import pytest
from engine_structs import I32, ChannelQuant, ConvParams, Dims, FcParams, Filter, P, ptr
from sanitized_child import run_sanitized

from mcutrain import hostlib

# set (with the sanitizer runtime preloaded) by test_split_kernels_under_sanitizers for its child process
SANITIZE = os.environ.get("MCUTRAIN_SPLIT_SANITIZE") == "1"


def _lib(arm: bool) -> ctypes.CDLL:
    lib = hostlib.library(sanitize=SANITIZE, arm_ops=arm)
    for name in ("mct_conv2d_split_s8", "mct_depthwise_conv2d_split_s8"):
        getattr(lib, name).argtypes = [P] * 9
        getattr(lib, name).restype = None
    lib.mct_fully_connected_split_s8.argtypes = [P, P, I32, I32, I32, P, P, P, P]
    lib.mct_fully_connected_split_s8.restype = None
    return lib


def _quant(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    mult = rng.integers(1 << 30, (1 << 31) - 1, n, dtype=np.int64).astype(np.int32)
    # mostly right shifts (multiplier < 1); sometimes a channel with a left shift or none (GENERAL path)
    shift = rng.integers(-14, -3, n).astype(np.int32)
    if rng.random() < 0.3:
        shift[rng.integers(0, n)] = int(rng.integers(0, 3))
    return mult, shift


def _clamp(rng: np.random.Generator) -> tuple[int, int]:
    return [(-128, 127), (-128, 127), (int(rng.integers(-128, 0)), int(rng.integers(0, 128)))][int(rng.integers(3))]


def _offset(rng: np.random.Generator) -> int:
    # an int8 zero point negated, or (rarely) anything the loader accepts (|offset| <= 255)
    return int(rng.integers(-127, 129)) if rng.random() < 0.8 else int(rng.integers(-255, 256))


def _conv_case(rng: np.random.Generator, depthwise: bool, shape: dict | None = None) -> dict:
    s = dict(shape or {})
    if depthwise:
        cin = s.get("cin", int(rng.integers(1, 23)))
        dm = s.get("dm", [1, 1, 1, 2, 3][int(rng.integers(5))])
        cout = cin * dm
        kh = kw = s.get("ksize", [3, 3, 3, 1, 2, 5][int(rng.integers(6))])
    else:
        cin, cout, dm = s.get("cin", int(rng.integers(1, 41))), s.get("cout", int(rng.integers(1, 21))), 1
        kh = kw = s.get("ksize", [1, 1, 1, 3, 2][int(rng.integers(5))])
    h, w = s.get("h", int(rng.integers(1, 10))), s.get("w", int(rng.integers(1, 10)))
    stride = s.get("stride", [1, 1, 2, 3][int(rng.integers(4))])
    pad = s.get("pad", int(rng.integers(0, kh)))
    pad_after = s.get("pad_after", int(rng.integers(0, kh)))
    oh = max((h + pad + pad_after - kh) // stride + 1, 1)
    ow = max((w + pad + pad_after - kw) // stride + 1, 1)
    k = s.get("k", int(rng.choice([0, cout, int(rng.integers(0, cout + 1)), int(rng.integers(0, cout + 1))])))
    lo, hi = s.get("clamp", _clamp(rng))
    mult, shift = _quant(rng, cout)
    fshape = (1, kh, kw, cout) if depthwise else (cout, kh, kw, cin)
    rshape = (1, kh, kw, k) if depthwise else (k, kh, kw, cin)
    return {
        "params": ConvParams(stride, stride, pad, pad, dm, _offset(rng), int(rng.integers(-128, 128)), lo, hi),
        "mult": mult,
        "shift": shift,
        "in_dims": Dims(1, h, w, cin),
        "x": rng.integers(-128, 128, (1, h, w, cin)).astype(np.int8),
        "f_dims": Dims(*fshape),
        "flash": rng.integers(-127, 128, fshape).astype(np.int8),
        "ram": rng.integers(-128, 128, rshape).astype(np.int8) if k else None,
        "k": k,
        "bias": rng.integers(-30000, 30000, cout).astype(np.int32) if rng.random() < 0.85 else None,
        "out_dims": Dims(1, oh, ow, cout),
    }


def _run_conv(lib: ctypes.CDLL, c: dict, depthwise: bool) -> np.ndarray:
    d = c["out_dims"]
    out = np.zeros((d.n, d.h, d.w, d.c), np.int8)
    q = ChannelQuant(ptr(c["mult"]), ptr(c["shift"]))
    f = Filter(ptr(c["flash"]), ptr(c["ram"]), c["k"])
    fn = lib.mct_depthwise_conv2d_split_s8 if depthwise else lib.mct_conv2d_split_s8
    fn(ctypes.addressof(c["params"]), ctypes.addressof(q), ctypes.addressof(c["in_dims"]), ptr(c["x"]),
       ctypes.addressof(c["f_dims"]), ctypes.addressof(f), ptr(c["bias"]), ctypes.addressof(d), ptr(out))
    return out


def _describe(c: dict) -> str:
    p, i, f, o = c["params"], c["in_dims"], c["f_dims"], c["out_dims"]
    return (f"in {i.h}x{i.w}x{i.c} filter {f.n}x{f.h}x{f.w}x{f.c} k={c['k']} out {o.h}x{o.w}x{o.c} "
            f"stride {p.stride_h} pad {p.pad_h} dm {p.depth_multiplier} off {p.input_offset} "
            f"clamp [{p.act_min}, {p.act_max}] bias {c['bias'] is not None} shifts {c['shift'].tolist()}")


def _check_conv(rng: np.random.Generator, depthwise: bool, shape: dict | None = None) -> None:
    c = _conv_case(rng, depthwise, shape)
    ref, arm = _run_conv(_lib(False), c, depthwise), _run_conv(_lib(True), c, depthwise)
    diff = np.flatnonzero(ref.ravel() != arm.ravel())
    assert diff.size == 0, f"{diff.size} bytes differ (first at {diff[0]}): {_describe(c)}"


@pytest.mark.parametrize("seed", range(8))
def test_conv2d_split_arm_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    for _ in range(60):
        _check_conv(rng, False)


@pytest.mark.parametrize("seed", range(8))
def test_depthwise_split_arm_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(2000 + seed)
    for _ in range(60):
        _check_conv(rng, True)


# the split layers of mcunet_s_person_96x96x1 under its 96K scheme (6x6 maps; k = trained channels)
MODEL_LAYERS = [
    (False, {"h": 6, "w": 6, "cin": 160, "cout": 40, "ksize": 1, "stride": 1, "pad": 0, "pad_after": 0, "k": 20}),
    (False, {"h": 6, "w": 6, "cin": 40, "cout": 160, "ksize": 1, "stride": 1, "pad": 0, "pad_after": 0, "k": 80}),
    (False, {"h": 6, "w": 6, "cin": 48, "cout": 192, "ksize": 1, "stride": 1, "pad": 0, "pad_after": 0, "k": 24}),
    (True, {"h": 6, "w": 6, "cin": 160, "dm": 1, "ksize": 3, "stride": 1, "pad": 1, "pad_after": 1, "k": 80}),
    (True, {"h": 6, "w": 6, "cin": 192, "dm": 1, "ksize": 3, "stride": 2, "pad": 0, "pad_after": 1, "k": 48}),
]


@pytest.mark.parametrize("depthwise,shape", MODEL_LAYERS)
def test_model_split_layers(depthwise: bool, shape: dict) -> None:
    rng = np.random.default_rng(7)
    for clamp in ((-128, 127), (-128, 100)):
        _check_conv(rng, depthwise, {**shape, "clamp": clamp})


def _run_fc(lib: ctypes.CDLL, c: dict) -> np.ndarray:
    out = np.zeros((c["batches"], c["units"]), np.int8)
    q = ChannelQuant(ptr(c["mult"]), ptr(c["shift"]))
    f = Filter(ptr(c["flash"]), ptr(c["ram"]), c["k"])
    lib.mct_fully_connected_split_s8(ctypes.addressof(c["params"]), ctypes.addressof(q), c["batches"], c["depth"],
                                     c["units"], ptr(c["x"]), ctypes.addressof(f), ptr(c["bias"]), ptr(out))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_fully_connected_split_arm_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(3000 + seed)
    for _ in range(60):
        batches, depth, units = int(rng.integers(1, 4)), int(rng.integers(1, 71)), int(rng.integers(1, 10))
        k = int(rng.integers(0, units + 1))
        lo, hi = _clamp(rng)
        mult, shift = _quant(rng, units)
        c = {
            "params": FcParams(_offset(rng), 0 if rng.random() < 0.5 else int(rng.integers(-128, 128)),
                               int(rng.integers(-128, 128)), lo, hi),
            "mult": mult, "shift": shift, "batches": batches, "depth": depth, "units": units, "k": k,
            "x": rng.integers(-128, 128, (batches, depth)).astype(np.int8),
            "flash": rng.integers(-127, 128, (units, depth)).astype(np.int8),
            "ram": rng.integers(-128, 128, (k, depth)).astype(np.int8) if k else None,
            "bias": rng.integers(-2000, 2000, units).astype(np.int32) if rng.random() < 0.85 else None,
        }
        ref, arm = _run_fc(_lib(False), c), _run_fc(_lib(True), c)
        assert np.array_equal(ref, arm), f"batches {batches} depth {depth} units {units} k {k}"


def _sanitized_cases() -> None:
    """Child process: a share of every check above on the ASan/UBSan builds (no report = pass)."""
    for seed in range(2):
        test_conv2d_split_arm_equals_reference(seed)
        test_depthwise_split_arm_equals_reference(seed)
        test_fully_connected_split_arm_equals_reference(seed)
    for depthwise, shape in MODEL_LAYERS:
        test_model_split_layers(depthwise, shape)
    print("ok")


def test_split_kernels_under_sanitizers() -> None:
    here = Path(__file__).resolve().parent
    code = f"import sys; sys.path.insert(0, {str(here)!r}); import test_split_kernels_exact as t; t._sanitized_cases()"
    run_sanitized(code, "MCUTRAIN_SPLIT_SANITIZE", here.parents[1])

if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
