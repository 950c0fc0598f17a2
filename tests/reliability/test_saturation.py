"""Arithmetic saturation under UBSan: extreme quantization parameters through builder -> importer ->
emitter -> the ASan/UBSan engine (in a subprocess, the sanitizer runtime preloaded). Each case must
run without a sanitizer report and give int8 outputs: the expected saturated value where one is
obvious (TFLite Micro is no oracle here: it aborts or casts out-of-range floats)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mcutrain.paths import ROOT

from .hostile import asan_runtime
from .saturation import CASES


def _run(name: str, kernels: str) -> subprocess.CompletedProcess[str]:
    lib = asan_runtime()
    if lib is None:
        pytest.skip("no libasan")
    env = dict(os.environ, LD_PRELOAD=lib, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1", PYTHONPATH=str(ROOT / "tools"),
               MCUTRAIN_SAT_KERNELS=kernels)
    return subprocess.run([sys.executable, "-m", "tests.reliability.saturation", name], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


# fc_max_multiplier_zp127 / zp-128 used to overflow adding the output offset to a near-INT32_MAX rescaled
# accumulator (reproducer: cases/fc_max_multiplier_zp127.tflite); quant.h's mct_requant saturates it now.
# the Cortex-M kernel set (ops/arm/) has its own conv / depthwise / FC: those cases run through both
KERNEL_CASES = [(n, "ref") for n in CASES] + [(n, "arm") for n in CASES if n.startswith(("fc_", "conv_", "depthwise_"))]


@pytest.mark.parametrize(("name", "kernels"), KERNEL_CASES)
def test_extreme_quantization(name: str, kernels: str) -> None:
    r = _run(name, kernels)
    assert "runtime error" not in r.stderr and "AddressSanitizer" not in r.stderr, r.stderr[-2000:]
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    if res["status"] != "ran":
        assert "\n" not in res["status"]  # a one-line refusal is an acceptable answer
        return
    assert res["dtypes"] == ["int8"]
    assert all(-128 <= v <= 127 for v in res["out"])
    if isinstance(res["want"], list):
        assert res["out"] == res["want"]
    elif res["want"] is not None:
        assert set(res["out"]) == {res["want"]}
