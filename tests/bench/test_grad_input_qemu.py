"""The Cortex-M CONV_2D input gradient (ops/arm/conv2d_backward_arm.c) as the board runs it: inline asm
included, which the host build replaces by C. A small model whose convolutions cover the kernel's cases (3x3
stride 1 and 2 with padding, 5x5 stride 2, 2x2 VALID, 1x1; input channel counts that are not multiples of 4;
more output channels than one chunk; positions over several blocks; layers training only their first k
channels, so filter rows come from RAM and flash) trains one step op by op on the emulated STM32F405 with the
optimised kernels (the kernels bench firmware); every op's outputs must equal the host engine's (reference
kernels) by CRC. The project model's layers are checked the same way by test_train_bench_qemu.py."""

from __future__ import annotations

import ctypes
import shutil
import struct
import zlib

import numpy as np
import pytest

from mcutrain.bench import kernels
from mcutrain.compiler.compile import compile_model
from mcutrain.compiler.emit_train import TrainConfig, emit_training
from mcutrain.compiler.scheme import LayerUpdate, Scheme
from mcutrain.hostlib import Engine
from mcutrain.ir import Graph, Op, Quant, Tensor

pytestmark = [
    pytest.mark.hil,
    pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed"),
    pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed"),
]

CONV_GRAD_INPUT = 0x41
# (kernel, stride, padding, output channels, activation, trained channels k (None: all))
LAYERS = [
    (3, 2, "SAME", 12, "RELU6", None),  # first layer: no input gradient
    (3, 1, "SAME", 10, "NONE", 6),      # 3x3 stride 1, padded; Ci 12
    (1, 1, "SAME", 70, "RELU", 33),     # 1x1, Ci 10 (2 channels by the 1-channel loop), Co 70: 3 chunks
    (5, 2, "SAME", 9, "NONE", None),    # 5x5 stride 2; Ci 70
    (2, 1, "VALID", 37, "RELU6", 5),    # 2x2 VALID; Ci 9
    (1, 1, "SAME", 40, "NONE", None),   # 1x1, Ci 37
    (3, 2, "SAME", 33, "RELU", 17),     # 3x3 stride 2; Ci 40
]
INPUT = (1, 13, 11, 3)


def _conv_real(x: np.ndarray, w: np.ndarray, stride: int, padding: str) -> np.ndarray:
    """Float NHWC convolution with TFLite's padding (to pick output scales that keep activations in range)."""
    _, h, wd, _ = x.shape
    k = w.shape[1]
    if padding == "SAME":
        oh, ow = -(-h // stride), -(-wd // stride)
        ph, pw = max((oh - 1) * stride + k - h, 0), max((ow - 1) * stride + k - wd, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    else:
        oh, ow = (h - k) // stride + 1, (wd - k) // stride + 1
    y = np.zeros((1, oh, ow, w.shape[0]))
    for ky in range(k):
        for kx in range(k):
            y += x[:, ky: ky + (oh - 1) * stride + 1: stride, kx: kx + (ow - 1) * stride + 1: stride] @ w[:, ky, kx].T
    return y


def _graph(seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    tensors: list[Tensor] = []

    def add(name: str, shape: tuple[int, ...], dtype: str, quant: Quant | None, data: np.ndarray | None = None) -> int:
        tensors.append(Tensor(name, shape, dtype, quant, data))
        return len(tensors) - 1

    def q(scale: float | np.ndarray, n: int = 1, axis: int = 0) -> Quant:
        return Quant(np.broadcast_to(np.float32(scale), (n,)).astype(np.float32), np.zeros(n, np.int64), axis)

    s_x = 0.05
    x = add("input", INPUT, "int8", q(s_x))
    real = rng.integers(-128, 128, INPUT) * s_x  # a typical input, real units
    cur, ops = x, []
    for i, (k, stride, padding, co, act, _) in enumerate(LAYERS):
        ci = real.shape[3]
        # real weights of spread ~1/sqrt(fan-in): activations keep their scale from layer to layer
        s_w = (rng.uniform(0.5, 1.5, co) / (73 * np.sqrt(k * k * ci))).astype(np.float32)
        wq = rng.integers(-127, 128, (co, k, k, ci)).astype(np.int8)
        w = add(f"w{i}", (co, k, k, ci), "int8", q(s_w, co), wq)
        b = add(f"b{i}", (co,), "int32", q(s_x * s_w, co), rng.integers(-2000, 2000, co).astype(np.int32))
        real = _conv_real(real, wq * s_w[:, None, None, None], stride, padding)
        s_y = float(real.std()) / 30  # the pre-activation spread at ~30 LSBs: few clamped, few zero
        real = np.maximum(real, 0) if act == "RELU" else np.clip(real, 0, 6) if act == "RELU6" else real
        y = add(f"y{i}", real.shape, "int8", q(s_y))
        ops.append(Op("CONV_2D", [cur, w, b], [y],
                      {"padding": padding, "stride_h": stride, "stride_w": stride, "activation": act}, f"conv{i}"))
        cur, s_x = y, s_y
    c = real.shape[3]
    axes = add("axes", (2,), "int32", None, np.array([1, 2], np.int32))
    mean = add("mean", (1, c), "int8", q(s_x))
    ops.append(Op("MEAN", [cur, axes], [mean], {"keep_dims": False}, "mean"))
    s_w = np.full(3, 1 / (73 * np.sqrt(c)), np.float32)
    wfq = rng.integers(-127, 128, (3, c)).astype(np.int8)
    wf = add("wf", (3, c), "int8", q(s_w, 3), wfq)
    bf = add("bf", (3,), "int32", q(s_x * s_w, 3), np.zeros(3, np.int32))
    z = real.mean(axis=(1, 2)) @ (wfq * s_w[:, None]).T
    logits = add("logits", (1, 3), "int8", q(float(np.abs(z).max()) / 40 + 1e-3))
    probs = add("probs", (1, 3), "int8", Quant(np.array([1 / 256], np.float32), np.array([-128]), 0))
    ops.append(Op("FULLY_CONNECTED", [mean, wf, bf], [logits], {"activation": "NONE", "keep_num_dims": False}, "fc"))
    ops.append(Op("SOFTMAX", [logits], [probs], {"beta": 1.0}, "softmax"))
    return Graph(tensors, ops, [x], [probs], "grad_input_shapes")


def _scheme(g: Graph) -> Scheme:
    layers = {}
    for i, (_, _, _, co, _, k) in enumerate(LAYERS):
        layers[i] = LayerUpdate(i, True, co if k is None else k)
    fc = len(LAYERS) + 1
    layers[fc] = LayerUpdate(fc, True, 3)
    return Scheme("grad_input_shapes", layers)


def _host_crcs(blob: bytes, input_id: int, label_id: int, x: np.ndarray, label: int) -> tuple[list[int], dict]:
    """CRC-32 of every op's outputs on the host engine (reference kernels), as the bench firmware forms them,
    and the number of nonzero sums of each CONV_GRAD_INPUT."""
    o_off, n_ops = struct.unpack_from("<I", blob, 28)[0], struct.unpack_from("<H", blob, 22)[0]
    eng = Engine(blob)
    eng.write(input_id, x)
    eng.write(label_id, np.array([label], np.int32))
    crcs, nonzero = [], {}
    for i in range(n_ops):
        r = o_off + 32 * i
        ids = struct.unpack_from("<8H", blob, r + 4)
        outs = [t for t in ids[blob[r + 1]: blob[r + 1] + blob[r + 2]] if t != 0xFFFF]
        eng.run(i, i + 1)
        crc = 0
        for t in outs:
            n = ctypes.c_uint32()
            addr = eng.lib.mct_engine_tensor(ctypes.byref(eng._eng), t, ctypes.byref(n))
            crc = zlib.crc32(ctypes.string_at(addr, n.value), crc)
        crcs.append(crc & 0xFFFFFFFF)
        if blob[r] == CONV_GRAD_INPUT:
            nonzero[i] = int(np.count_nonzero(eng.read(outs[0])))
    return crcs, nonzero


def test_grad_input_shapes_on_qemu() -> None:
    g = _graph()
    res = compile_model(g, _scheme(g), None, mode="int")
    prog = emit_training(res, TrainConfig(lr=0.05, seed=3))
    elf = kernels.build_bench("opt")
    rng = np.random.default_rng(5)
    for label in (0, 2):
        x = rng.integers(-128, 128, INPUT, dtype=np.int8)
        want, nonzero = _host_crcs(prog.blob, prog.input_id, prog.label_id, x, label)
        assert len(nonzero) == len(LAYERS) - 1  # every conv but the first passes the gradient on
        assert all(v > 0 for v in nonzero.values()), nonzero  # real gradients, not all-zero sums
        dev = kernels.run_device(elf, kernels.bench_image(prog.blob, x, label))
        assert dev.kernels == "arm" and len(dev.crcs) == len(want)
        bad = [i for i, (a, b) in enumerate(zip(dev.crcs, want, strict=True)) if a != b]
        assert not bad, f"label {label}: the board differs from the host engine at ops {bad}"
