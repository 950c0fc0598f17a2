"""End to end: one training step of the project program (sparse 96K scheme, int gradients) op by op on the
emulated STM32F405 with the Cortex-M kernels (`device_speed.op_profile`, the kernels bench firmware). Every
op's outputs must equal the host engine's (reference kernels): op_profile raises otherwise. This is what
checks the split-weight kernels' board build (ops/arm/conv2d_split_s8.c, inline asm included) on the real
program; their per-MAC cost is bounded so a fallback to the reference loops (~7-9 / ~31 instr/MAC) shows."""

from __future__ import annotations

import shutil

import pytest

from mcutrain.bench import device_speed, memory

pytestmark = [
    pytest.mark.hil,
    pytest.mark.skipif(not memory.PROJECT.sparse_scheme.exists(), reason="project model/scheme not present"),
    pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed"),
    pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed"),
]


def test_training_step_op_by_op_on_qemu() -> None:
    d = device_speed.op_profile()
    assert d["kernels"] == "arm"
    ops = d["ops"]
    assert d["instructions_step"] == sum(r["instructions"] for r in ops)
    assert 0 < d["instructions_forward"] < d["instructions_step"]
    split = [r for r in ops if r["kernel"] == "split"]
    assert {r["kind"] for r in split} == {"CONV_2D", "DEPTHWISE_CONV_2D"}  # the scheme's split layers
    for r in split:
        limit = 3.0 if r["kind"] == "CONV_2D" else 12.0
        assert r["instructions"] < limit * r["macs"], r
