"""End to end: the kernel benchmark builds both bench firmwares, runs the person-detection program
on the emulated STM32F405 with each kernel set, and every op's outputs equal the host engine's
(the bench raises otherwise); the Cortex-M kernels must use fewer instructions. ~15 s."""

from __future__ import annotations

import shutil

import pytest

from mcutrain.bench import kernels

pytestmark = [
    pytest.mark.hil,
    pytest.mark.skipif(not kernels.MODEL.exists(), reason="shared person-detection model not present"),
    pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed"),
    pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed"),
]


def test_bench_ref_vs_opt_on_qemu() -> None:
    res = kernels.run(host_runs=0, verbose=False)
    assert res["output"] == [-113, 113]  # the person image, as TFLite Micro gives it
    assert res["instructions_opt"] < res["instructions_ref"]
    assert res["instr_per_mac_conv_opt"] < res["instr_per_mac_conv_ref"]
    assert res["instr_per_mac_dw_opt"] < res["instr_per_mac_dw_ref"]
    for row in res["layers"]:
        if row["macs"]:
            assert row["instr_opt"] < row["instr_ref"], row
