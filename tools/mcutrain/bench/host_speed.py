"""One training step on the host: our engine's host build vs a PyTorch CPU fp32 SGD step, same architecture.

Ours: `HostTarget.train_step` (the device's C engine and program bytes, compiled for this machine), int
gradients, the shipped sparse scheme and the full scheme. PyTorch: `compiler.pytorch_peak.build_torch_model`
of the same graph (fresh 2-class head), every parameter trainable, forward + cross-entropy + backward + SGD
step at batch 1, `torch.set_num_threads(1)`, in a child process (torch is imported nowhere else).
Median of N after one warm-up step; the figure reported is the ratio.

    python -m mcutrain.bench.host_speed --torch MODEL.tflite RUNS     # child: prints JSON
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..compiler.compile import compile_model
from ..compiler.emit_train import TrainConfig, emit_training
from .memory import LR, PROJECT, SEED, BenchModel, sample_inputs, training_graph


def median_seconds(fn: Callable[[int], object], runs: int) -> float:
    fn(0)  # warm-up
    times = []
    for i in range(runs):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def ours(m: BenchModel, scheme: str | Path, runs: int) -> float:
    from ..targets.host import HostTarget

    g = training_graph(m)
    prog = emit_training(compile_model(g, scheme, None, mode="int"), TrainConfig(lr=LR, seed=SEED + 1))
    target = HostTarget(prog)
    xs = sample_inputs(g, 4, seed=2)
    return median_seconds(lambda i: target.train_step(xs[i % 4], i % 2), runs)


def _torch_child(model_path: str, runs: int) -> dict[str, Any]:
    import torch

    from ..compiler.pytorch_peak import build_torch_model
    from ..tflite_import import load_tflite
    from ..transfer import replace_head

    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    g = replace_head(load_tflite(model_path), 2, seed=SEED)
    model = build_torch_model(g)
    n, h, w, c = g.tensors[g.inputs[0]].shape
    xs = [torch.rand((1, c, h, w)) for _ in range(4)]
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step(i: int) -> None:
        loss = torch.nn.functional.cross_entropy(model(xs[i % 4]), torch.tensor([i % 2]))
        opt.zero_grad()
        loss.backward()
        opt.step()

    seconds = median_seconds(step, runs)
    return {"torch_version": torch.__version__, "threads": torch.get_num_threads(), "seconds": seconds}


def pytorch_step(m: BenchModel, runs: int, timeout: float = 600) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "mcutrain.bench.host_speed", "--torch", str(m.path), str(runs)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"pytorch step timing failed: {(p.stderr.strip().splitlines() or ['no output'])[-1]}")
    return json.loads(p.stdout)


def run(m: BenchModel = PROJECT, runs: int = 21) -> dict[str, Any]:
    torch_d = pytorch_step(m, runs)
    from ..hostlib import EngineError

    sparse_s = ours(m, m.sparse_scheme, runs)
    full_s: float | None = None
    full_error = None
    try:
        full_s = ours(m, "full", runs)
    except EngineError as e:  # reported, not hidden: the engine refuses some full-update programs
        full_error = f"full-update program rejected by the engine: {e}"
    return {
        "model": m.key,
        "runs": runs,
        "torch_version": torch_d["torch_version"],
        "torch_threads": torch_d["threads"],
        "pytorch_step_s": torch_d["seconds"],
        "ours_sparse_step_s": sparse_s,
        "ours_full_step_s": full_s,
        "speedup_sparse_vs_pytorch": torch_d["seconds"] / sparse_s,
        "speedup_full_vs_pytorch": torch_d["seconds"] / full_s if full_s else None,
        "full_error": full_error,
        "sparse_scheme": m.sparse_scheme.stem,
    }


def format_table(d: dict[str, Any]) -> str:
    return "\n".join([
        f"{d['model']}, batch 1, 1 thread, median of {d['runs']} steps:",
        "",
        "| one training step on this host | median | PyTorch time / ours |",
        "|---|---:|---:|",
        f"| PyTorch {d['torch_version']} CPU, fp32, all parameters, SGD | {1e3 * d['pytorch_step_s']:.2f} ms | 1.00× |",
        f"| ours (host build), int8, `{d['sparse_scheme']}` | {1e3 * d['ours_sparse_step_s']:.2f} ms | "
        f"**{d['speedup_sparse_vs_pytorch']:.2f}×** |",
        f"| ours (host build), int8, full update | {1e3 * d['ours_full_step_s']:.2f} ms | "
        f"{d['speedup_full_vs_pytorch']:.2f}× |"
        if d["ours_full_step_s"]
        else f"| ours (host build), int8, full update | — ({d['full_error']}) | — |",
    ])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--torch":
        print(json.dumps(_torch_child(sys.argv[2], int(sys.argv[3]))))
    else:
        print(format_table(run()))
