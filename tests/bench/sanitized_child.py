"""Runs host-kernel checks on the ASan/UBSan builds of the engine (both kernel sets) in a child process with
the sanitizer runtime preloaded; the child's ctypes loads pick the sanitized libraries from an environment
flag. No report from the sanitizers and "ok" as the child's last line = pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcutrain import hostlib


def run_sanitized(code: str, flag: str, cwd: Path) -> None:
    """Run `python -c code` with flag=1 in its environment; skip where gcc has no libasan."""
    r = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True)
    runtime = r.stdout.strip()
    if r.returncode != 0 or not os.path.isabs(runtime) or not os.path.exists(runtime):
        pytest.skip("no libasan")
    for arm in (False, True):  # built here: the child must not compile under ASan
        hostlib.build(sanitize=True, arm_ops=arm)
    env = dict(os.environ, LD_PRELOAD=runtime, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1", **{flag: "1"})
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600, cwd=cwd)
    assert "runtime error" not in r.stderr and "AddressSanitizer" not in r.stderr, r.stderr[-3000:]
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-3000:]
