"""Time to accuracy: one training run on the emulated board and the same run on the host build.

Project model, fresh 2-class head, its shipped sparse scheme, the packaged person task, fixed seed, int
gradients; `session.run` streams the augmented training samples and evaluates the held-out split every
`eval_every` samples (the target computes every prediction). The device time axis is an estimate:
instructions counted by QEMU / 216 MHz (a Cortex-M7 at one instruction per cycle). The host run uses the
same program bytes and the same C code, so both curves should agree (the firmware is built with
-ffp-contract=off for exactly that).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..compiler.compile import compile_model
from ..compiler.emit_train import TrainConfig, emit_training
from ..paths import ROOT
from ..tflite_import import load_tflite
from ..transfer import replace_head
from .device_speed import ESTIMATE, M7_HZ
from .figure import save_figure
from .memory import LR, PROJECT, SEED, BenchModel


def _evals(log: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [
        {"samples": r["samples"], "heldout_accuracy": r["heldout_accuracy"],
         "device_instructions": r["device_instructions"]}
        for r in rows if r["event"] == "eval"
    ]


def run(elf: Path, samples: int = 160, eval_every: int = 40, heldout_limit: int | None = None,
        m: BenchModel = PROJECT, work: Path = ROOT / "build" / "bench") -> dict[str, Any]:
    from ..device.client import DeviceTarget
    from ..session import RunConfig
    from ..session import run as session_run
    from ..targets.host import HostTarget
    from ..train_data import load_task

    base = load_tflite(m.path)
    task = load_task(base, None, SEED)
    g = replace_head(base, len(task.classes), seed=SEED)
    prog = emit_training(compile_model(g, m.sparse_scheme, None, mode="int"), TrainConfig(lr=LR, seed=SEED + 1))
    hx, hy = task.heldout_x, task.heldout_y
    if heldout_limit is not None:  # quick mode: the first N of the (shuffled, stratified) held-out split
        hx, hy = hx[:heldout_limit], hy[:heldout_limit]
    out: dict[str, Any] = {
        "model": m.key, "scheme": m.sparse_scheme.stem, "task": task.name, "seed": SEED, "lr": LR,
        "samples": samples, "eval_every": eval_every, "heldout_images": len(hy),
        "train_images": len(task.train_labels), "estimate_note": f"device time = instructions / 216e6 ({ESTIMATE})",
    }
    for name in ("qemu", "host"):
        run_dir = work / f"accuracy-{name}"
        target: Any = DeviceTarget.qemu(elf, program=prog.blob) if name == "qemu" else HostTarget(prog)
        try:
            cfg = RunConfig(samples=samples, eval_every=eval_every, run_dir=run_dir, title=f"bench on {name}")
            summary = session_run(target, task.stream(SEED), (hx, hy), cfg)
        finally:
            close = getattr(target, "close", None)
            if close is not None:
                close()
        evals = _evals(Path(summary["log"]))
        out[name] = {"heldout_accuracy": summary["heldout_accuracy"], "final_loss": summary["loss"],
                     "instructions_per_step": summary["instructions_per_step"], "evals": evals}
    q, h = out["qemu"]["evals"], out["host"]["evals"]
    out["max_accuracy_gap_qemu_vs_host"] = max(
        abs(a["heldout_accuracy"] - b["heldout_accuracy"]) for a, b in zip(q, h, strict=True)
    )
    out["heldout_accuracy"] = out["qemu"]["heldout_accuracy"]
    out["device_seconds_estimate"] = q[-1]["device_instructions"] / M7_HZ
    return out


def plot(d: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for name, style in (("qemu", "o-"), ("host", "x--")):
        ev = d[name]["evals"]
        a.plot([e["samples"] for e in ev], [100 * e["heldout_accuracy"] for e in ev], style,
               label=f"{'emulated STM32F405' if name == 'qemu' else 'host build'}")
    ev = d["qemu"]["evals"]
    b.plot([e["device_instructions"] / M7_HZ for e in ev], [100 * e["heldout_accuracy"] for e in ev], "o-")
    a.set(xlabel="training samples seen", ylabel="held-out accuracy (%)", ylim=(0, 100))
    a.legend()
    b.set(xlabel="device time, s (estimate: QEMU instructions / 216 MHz)", ylabel="held-out accuracy (%)",
          ylim=(0, 100))
    fig.suptitle(f"{d['model']}, {d['scheme']}, seed {d['seed']}, {d['heldout_images']} held-out images")
    return save_figure(fig, path, grid=(a, b))


def format_table(d: dict[str, Any]) -> str:
    lines = [
        f"{d['model']}, scheme `{d['scheme']}`, lr {d['lr']}, seed {d['seed']}: {d['samples']} augmented samples "
        f"from {d['train_images']} training images, {d['heldout_images']} held-out images.",
        "",
        "| samples | held-out acc., emulated board | held-out acc., host build | device time (estimate) |",
        "|---:|---:|---:|---:|",
    ]
    for q, h in zip(d["qemu"]["evals"], d["host"]["evals"], strict=True):
        lines.append(
            f"| {q['samples']} | {100 * q['heldout_accuracy']:.1f} % | {100 * h['heldout_accuracy']:.1f} % | "
            f"{q['device_instructions'] / M7_HZ:.1f} s |"
        )
    lines += ["", f"Device time: {d['estimate_note']}. Largest gap between the two curves: "
              f"{100 * d['max_accuracy_gap_qemu_vs_host']:.1f} pp."]
    return "\n".join(lines)
