"""`mcutrain bench` quick mode end to end: every part measures for real (QEMU board, host build, PyTorch,
compiler) on one model with a few samples; the JSON has the headline keys with sane values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mcutrain.bench import kernels

pytest.importorskip("torch", reason="torch not installed (pip install -e .[torch]); the bench compares against it")

pytestmark = [
    pytest.mark.hil,
    pytest.mark.slow,
    pytest.mark.skipif(not kernels.MODEL.exists(), reason="shared person-detection model not present"),
    pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed"),
    pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed"),
]

KEYS = (
    "pytorch_peak_bytes",
    "sparse_peak_bytes",
    "memory_ratio_vs_pytorch",
    "instr_per_mac_conv_ref",
    "instr_per_mac_conv_opt",
    "host_step_speedup_vs_pytorch",
    "heldout_accuracy",
)


def test_quick_bench_writes_sane_results(tmp_path: Path) -> None:
    from mcutrain.bench.run import run_bench

    assert run_bench(quick=True, out_dir=tmp_path) == 0
    res = json.loads((tmp_path / "results.json").read_text())
    for k in KEYS:
        assert k in res, k
    assert 10 * 2**20 < res["pytorch_peak_bytes"] < 4 * 2**30
    assert 16 * 1024 < res["sparse_peak_bytes"] <= 114_688 + 16 * 1024  # arena high-water + stack on the F405
    assert res["memory_ratio_vs_pytorch"] == pytest.approx(res["pytorch_peak_bytes"] / res["sparse_peak_bytes"])
    assert res["memory_ratio_vs_pytorch"] > 100
    assert 0 < res["instr_per_mac_conv_opt"] < res["instr_per_mac_conv_ref"] < 50
    assert res["host_step_speedup_vs_pytorch"] > 0
    assert 0.0 <= res["heldout_accuracy"] <= 1.0
    # same program, same C code: the emulated board and the host build learn identically
    acc = res["accuracy"]
    curves = [[e["heldout_accuracy"] for e in acc[t]["evals"]] for t in ("qemu", "host")]
    assert curves[0] == curves[1]
    dev = res["device_speed"]
    assert dev["instructions_step"] > dev["instructions_forward"] > 0
    sparse = next(r for r in res["memory"]["rows"] if r["scheme"] == "sparse")
    assert sparse["measured_arena_bytes"] <= sparse["planned_arena_bytes"]
    md = (tmp_path / "results.md").read_text()
    assert "invoke bench" in md and "quick mode" in md
    for png in ("memory.png", "accuracy.png", "growth.png"):
        assert (tmp_path / "img" / png).stat().st_size > 1000
