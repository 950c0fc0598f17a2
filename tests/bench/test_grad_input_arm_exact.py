"""The Cortex-M CONV_2D input gradient (firmware/engine/ops/arm/conv2d_backward_arm.c, int mode, DSP
instructions emulated on the host) against the reference (ops/conv2d_backward.c), bit for bit:

- called directly through the two host builds of the engine on random shapes (kernel 1/2/3/5, strides 1-3,
  paddings, output extents that do not match the input, channel counts not multiples of 4, more channels than
  one chunk, RAM channels k), sparse and dense gradients (whole channels and positions zero), realistic
  headroom multipliers and hostile ones (gradients that leave int16 after scaling, zero multipliers);
- the project model's CONV_GRAD_INPUT layers with their shapes;
- the compiled training programs (int and fp32 gradients): every CONV_GRAD_INPUT op of real training steps
  runs on both engines from the same arena, and the whole arena must match afterwards.
On the board the same C runs with the real instructions; the bench (device_speed --ops) CRC-checks every op
against the host engine."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np
import pytest
from engine_structs import Dims, Filter, Geom, P, ptr
from sanitized_child import run_sanitized

from mcutrain import hostlib

SANITIZE = os.environ.get("MCUTRAIN_GIN_SANITIZE") == "1"


def _lib(arm: bool) -> ctypes.CDLL:
    lib = hostlib.library(sanitize=SANITIZE, arm_ops=arm)
    lib.mct_conv2d_grad_input_int.argtypes = [P] * 9
    lib.mct_conv2d_grad_input_int.restype = None
    return lib


def _headroom(rng: np.random.Generator, co: int, kh: int, kw: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """(mult, shift) as the compiler forms them (docs/training-math.md section 4): QuantizeMultiplier of s_w[o]
    plus the headroom shift k = B - 15 - E."""
    e = rng.integers(-9, -5, co)  # s_w[o] = m * 2^e, m in [0.5, 1)
    fan = co * -(-kh // stride) * -(-kw // stride)
    b = min(15, 23 - int(fan - 1).bit_length())
    mult = rng.integers(1 << 30, (1 << 31) - 1, co, dtype=np.int64).astype(np.int32)
    return mult, (e + (b - 15 - int(e.max()))).astype(np.int32)


def _case(rng: np.random.Generator, shape: dict | None = None, hostile: bool = False) -> dict:
    s = dict(shape or {})
    kh = kw = s.get("ksize", int(rng.choice([1, 1, 1, 3, 3, 2, 5])))
    ci, co = s.get("cin", int(rng.integers(1, 45))), s.get("cout", int(rng.integers(1, 80)))
    h, w = s.get("h", int(rng.integers(1, 12))), s.get("w", int(rng.integers(1, 12)))
    stride = s.get("stride", int(rng.choice([1, 1, 2, 3])))
    pad = s.get("pad", int(rng.integers(0, kh)))
    oh = s.get("oh", max((h + 2 * pad - kh) // stride + 1, 1))
    ow = s.get("ow", max((w + 2 * pad - kw) // stride + 1, 1))
    if hostile and rng.random() < 0.5:  # the loader does not tie the extents together: windows off the input
        oh, ow = oh + int(rng.integers(0, 4)), ow + int(rng.integers(0, 4))
    k = s.get("k", int(rng.choice([0, co, int(rng.integers(0, co + 1))])))
    mult, shift = _headroom(rng, co, kh, kw, stride)
    if hostile:  # loader-accepted words (mult >= 0, shift in [-62, 62]) off the headroom rule: g2 leaves int16;
        # shift <= 8 keeps |g2| < 2^24, where the reference's int8 * g2 product is still defined behaviour
        bad = rng.random(co) < 0.3
        shift[bad] = rng.integers(-62, 9, int(bad.sum()))
        mult[rng.random(co) < 0.1] = 0
    gy = rng.integers(-32768 if hostile else -32767, 32768, (1, oh, ow, co)).astype(np.int16)
    density = s.get("density", float(rng.choice([1.0, 0.5, 0.3, 0.05])))
    gy[rng.random(gy.shape) >= density] = 0
    if rng.random() < 0.3:
        gy[..., rng.random(co) < 0.3] = 0  # whole channels masked
    if rng.random() < 0.3:
        gy[:, rng.random(oh) < 0.3] = 0  # whole rows of positions
    return {
        "geom": Geom(stride, stride, pad, pad, 1),
        "gy_dims": Dims(1, oh, ow, co), "gy": gy,
        "f_dims": Dims(co, kh, kw, ci),
        "flash": rng.integers(-127, 128, (co, kh, kw, ci)).astype(np.int8),
        # the RAM copy differs from the flash rows it replaces, so reading the wrong one shows
        "ram": rng.integers(-128, 128, (k, kh, kw, ci)).astype(np.int8) if k else None,
        "k": k, "mult": mult, "shift": shift,
        "x_dims": Dims(1, h, w, ci),
    }


def _run(lib: ctypes.CDLL, c: dict) -> np.ndarray:
    d = c["x_dims"]
    acc = np.full((d.n, d.h, d.w, d.c), 0x5A5A5A5A, np.int32)  # must be overwritten, not added to
    f = Filter(ptr(c["flash"]), ptr(c["ram"]), c["k"])
    lib.mct_conv2d_grad_input_int(ctypes.addressof(c["geom"]), ctypes.addressof(c["gy_dims"]), ptr(c["gy"]),
                                  ctypes.addressof(c["f_dims"]), ctypes.addressof(f), ptr(c["mult"]),
                                  ptr(c["shift"]), ctypes.addressof(d), ptr(acc))
    return acc


def _describe(c: dict) -> str:
    g, y, f, x = c["geom"], c["gy_dims"], c["f_dims"], c["x_dims"]
    return (f"gy {y.h}x{y.w}x{y.c} filter {f.n}x{f.h}x{f.w}x{f.c} k={c['k']} x {x.h}x{x.w}x{x.c} "
            f"stride {g.stride_h} pad {g.pad_h} nonzero {np.count_nonzero(c['gy'])}/{c['gy'].size} "
            f"shifts {c['shift'].tolist()}")


def _check(rng: np.random.Generator, shape: dict | None = None, hostile: bool = False) -> None:
    c = _case(rng, shape, hostile)
    ref, arm = _run(_lib(False), c), _run(_lib(True), c)
    diff = np.flatnonzero(ref.ravel() != arm.ravel())
    assert diff.size == 0, f"{diff.size} of {ref.size} sums differ (first at {diff[0]}): {_describe(c)}"


@pytest.mark.parametrize("seed", range(8))
def test_grad_input_arm_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(4000 + seed)
    for _ in range(60):
        _check(rng)


@pytest.mark.parametrize("seed", range(4))
def test_grad_input_arm_hostile_parameters(seed: int) -> None:
    rng = np.random.default_rng(5000 + seed)
    for _ in range(40):
        _check(rng, hostile=True)


# CONV_GRAD_INPUT of mcunet_s_person_96x96x1 under its 96K scheme (device_speed --ops): all 1x1 stride 1;
# k = the layer's RAM channels
MODEL_LAYERS = [
    {"h": 3, "w": 3, "cout": 160, "cin": 96, "k": 0},
    {"h": 3, "w": 3, "cout": 96, "cin": 384, "k": 0},
    {"h": 3, "w": 3, "cout": 384, "cin": 96, "k": 0},
    {"h": 3, "w": 3, "cout": 96, "cin": 192, "k": 0},
    {"h": 6, "w": 6, "cout": 192, "cin": 48, "k": 24},
    {"h": 6, "w": 6, "cout": 48, "cin": 160, "k": 20},
    {"h": 6, "w": 6, "cout": 160, "cin": 40, "k": 80},
    {"h": 6, "w": 6, "cout": 40, "cin": 160, "k": 20},
]


@pytest.mark.parametrize("shape", MODEL_LAYERS, ids=lambda s: f"{s['h']}x{s['w']}x{s['cout']}to{s['cin']}")
def test_model_layers(shape: dict) -> None:
    rng = np.random.default_rng(11)
    for density in (1.0, 0.5, 0.0):
        _check(rng, {**shape, "ksize": 1, "stride": 1, "pad": 0, "density": density})


def _grad_input_ops(blob: bytes) -> tuple[int, list[int]]:
    import struct

    o_off, n_ops = struct.unpack_from("<I", blob, 28)[0], struct.unpack_from("<H", blob, 22)[0]
    return n_ops, [i for i in range(n_ops) if blob[o_off + 32 * i] == 0x41]


@pytest.mark.parametrize("mode", ["int", "fp32"])
def test_training_program_grad_input_ops(mode: str) -> None:
    """Real layers, real gradients: the project model's training program on the reference engine; each
    CONV_GRAD_INPUT also runs on the arm engine from a copy of the same arena (so the forward kernels of the
    two builds play no part), and the arena must be identical afterwards (the sums, nothing written outside)."""
    from mcutrain.bench.memory import LR, PROJECT, SEED, sample_inputs, training_graph
    from mcutrain.compiler.compile import compile_model
    from mcutrain.compiler.emit_train import TrainConfig, emit_training

    g = training_graph(PROJECT)
    res = compile_model(g, PROJECT.sparse_scheme, None, mode=mode)
    prog = emit_training(res, TrainConfig(lr=LR, seed=SEED + 1))
    n_ops, gin = _grad_input_ops(prog.blob)
    assert len(gin) == 8
    ref, arm = hostlib.Engine(prog.blob), hostlib.Engine(prog.blob, arm_ops=True)
    size = ref.arena_size
    assert arm.arena_size == size
    for step, x in enumerate(sample_inputs(g, 3, seed=2)):  # the updates change the RAM channels between steps
        ref.write(prog.input_id, x)
        ref.write(prog.label_id, np.array([step % 2], np.int32))
        for i in range(n_ops):
            if i in gin:
                ctypes.memmove(arm._arena_addr, ref._arena_addr, size)
                arm.run(i, i + 1)
            ref.run(i, i + 1)
            if i in gin:
                a = np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(ref._arena_addr))
                b = np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(arm._arena_addr))
                diff = np.flatnonzero(a != b)
                assert diff.size == 0, f"step {step} op {i}: {diff.size} arena bytes differ, first at {diff[0]}"


def _sanitized_cases() -> None:
    """Child process: a share of the checks above on the ASan/UBSan builds (no report = pass)."""
    for seed in range(2):
        test_grad_input_arm_equals_reference(seed)
        test_grad_input_arm_hostile_parameters(seed)
    for shape in MODEL_LAYERS:
        test_model_layers(shape)
    print("ok")


def test_grad_input_under_sanitizers() -> None:
    here = Path(__file__).resolve().parent
    code = f"import sys; sys.path.insert(0, {str(here)!r}); import test_grad_input_arm_exact as t; t._sanitized_cases()"
    run_sanitized(code, "MCUTRAIN_GIN_SANITIZE", here.parents[1])

if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
