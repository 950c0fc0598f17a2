"""The Cortex-M int8 ADD (firmware/engine/ops/arm/add_s8.c, DSP instructions emulated on the host) against the
reference kernel (ops/add_s8.c, itself checked against TFLite Micro in tests/engine and tests/golden), byte for
byte, called directly through the two host builds of the engine: parameters as the compiler makes them from
random scales (the closed forms: one input exact, the other rounded, or both exact), the project model's five
ADDs, and hand-made ones the loader accepts (left shifts, shifts down to -31, any left_shift, zero multipliers:
the general loop), with every activation range kind. Each case runs all 65,536 input pairs, then random
lengths (the unrolled loops' tails) and the output written over an input."""

from __future__ import annotations

import ctypes
import os

import numpy as np
import pytest

from mcutrain import hostlib
from mcutrain.quantize_params import activation_range, add_params

# set (with the sanitizer runtime preloaded) by test_arm_sanitized.py for its child process
SANITIZE = os.environ.get("MCUTRAIN_ARM_SANITIZE") == "1"

I32 = ctypes.c_int32
P = ctypes.c_void_p

FIELDS = ("input1_offset", "input2_offset", "left_shift", "input1_multiplier", "input1_shift", "input2_multiplier",
          "input2_shift", "output_multiplier", "output_shift", "output_offset", "act_min", "act_max")


class AddParams(ctypes.Structure):
    _fields_ = [(n, I32) for n in FIELDS]


# the words of the five ADDs of mcunet_s_person_96x96x1 (compiled program), as the engine receives them
MODEL_ADDS = [
    (128, 6, 20, 1137677024, -2, 1073741824, 0, 1115097411, -18, -11, -128, 127),
    (2, 3, 20, 1515017075, -1, 1073741824, 0, 1073741824, -18, -3, -128, 127),
    (-7, -3, 20, 1565123143, -1, 1073741824, 0, 1073741824, -18, 3, -128, 127),
    (16, 10, 20, 1673344588, -1, 1073741824, 0, 1073741824, -18, -10, -128, 127),
    (-6, 6, 20, 1504054108, -1, 1073741824, 0, 1073741824, -18, -6, -128, 127),
]

ALL_PAIRS = (np.repeat(np.arange(-128, 128), 256).astype(np.int8), np.tile(np.arange(-128, 128), 256).astype(np.int8))


def _lib(arm: bool) -> ctypes.CDLL:
    lib = hostlib.library(sanitize=SANITIZE, arm_ops=arm)
    lib.mct_add_s8.argtypes = [P, ctypes.c_uint32, P, P, P]
    lib.mct_add_s8.restype = None
    return lib


def _run(arm: bool, words: tuple[int, ...], a: np.ndarray, b: np.ndarray, in_place: bool = False) -> np.ndarray:
    p = AddParams(*words)
    a, b = a.copy(), b.copy()
    out = a if in_place else np.zeros_like(a)
    _lib(arm).mct_add_s8(ctypes.addressof(p), a.size, a.ctypes.data, b.ctypes.data, out.ctypes.data)
    return out


def _check(words: tuple[int, ...], rng: np.random.Generator) -> None:
    cases = [ALL_PAIRS]
    for n in (0, 1, 2, 3, 5, 7, int(rng.integers(8, 300))):
        cases.append((rng.integers(-128, 128, n).astype(np.int8), rng.integers(-128, 128, n).astype(np.int8)))
    for a, b in cases:
        ref, arm = _run(False, words, a, b), _run(True, words, a, b)
        diff = np.flatnonzero(ref != arm)
        assert diff.size == 0, f"{diff.size} of {a.size} differ, first x1={a[diff[0]]} x2={b[diff[0]]}: {words}"
    a, b = cases[-1]
    assert np.array_equal(_run(False, words, a, b, in_place=True), _run(True, words, a, b, in_place=True)), words


def _compiled(rng: np.random.Generator) -> tuple[int, ...]:
    """Words as mcutrain.compiler.emit makes them from (random) scales, zero points and activation."""
    s1, s2 = rng.uniform(0.002, 0.2), rng.uniform(0.002, 0.2)
    if rng.random() < 0.25:
        s2 = s1  # equal scales: both inputs exact
    so = max(s1, s2) * rng.uniform(0.5, 4.0)
    z1, z2, zo = (int(v) for v in rng.integers(-128, 128, 3))
    a = add_params(s1, s2, so)
    act = ["NONE", "NONE", "RELU", "RELU6"][int(rng.integers(4))]
    lo, hi = activation_range(act, so, zo)
    return (-z1, -z2, a["left_shift"], a["m1"], a["s1"], a["m2"], a["s2"], a["mo"], a["so"], zo, lo, hi)


def _hand_made(rng: np.random.Generator) -> tuple[int, ...]:
    """Anything the loader accepts: offsets |.| <= 255, left_shift 0..22, multipliers >= 0, shifts -31..31."""

    def mult() -> tuple[int, int]:
        m = int(rng.integers(0, 1 << 31)) if rng.random() < 0.8 else int(rng.choice([0, 1 << 30, (1 << 31) - 1]))
        if rng.random() < 0.3:  # a multiple of a power of two: the exact form where the shifts allow it
            m &= ~((1 << int(rng.integers(1, 31))) - 1)
        return m, int(rng.integers(-31, 32)) if rng.random() < 0.3 else int(rng.integers(-20, 1))

    (m1, s1), (m2, s2), (mo, so) = mult(), mult(), mult()
    if rng.random() < 0.5:
        so = int(rng.integers(-31, -10))
    lo = int(rng.integers(-128, 128))
    hi = int(rng.integers(lo, 128))
    if rng.random() < 0.5:
        lo, hi = -128, 127
    off = [int(v) for v in rng.integers(-255, 256, 3)]
    ls = int(rng.integers(0, 23)) if rng.random() < 0.5 else 20
    return (off[0], off[1], ls, m1, s1, m2, s2, mo, so, off[2], lo, hi)


@pytest.mark.parametrize("words", MODEL_ADDS)
def test_model_adds(words: tuple[int, ...]) -> None:
    rng = np.random.default_rng(11)
    _check(words, rng)
    # the same scales with a RELU / narrow clamp (the general clamp of the fast form) and swapped inputs
    _check(words[:10] + (-20, 100), rng)
    swapped = (words[1], words[0], words[2], words[5], words[6], words[3], words[4]) + words[7:]
    _check(swapped, rng)


@pytest.mark.parametrize("seed", range(6))
def test_compiled_params(seed: int) -> None:
    rng = np.random.default_rng(4000 + seed)
    for _ in range(25):
        _check(_compiled(rng), rng)


@pytest.mark.parametrize("seed", range(6))
def test_hand_made_params(seed: int) -> None:
    rng = np.random.default_rng(5000 + seed)
    for _ in range(25):
        _check(_hand_made(rng), rng)
