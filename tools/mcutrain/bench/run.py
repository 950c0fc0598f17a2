"""`mcutrain bench` / `invoke bench`: every benchmark in one run -> docs/results.md, docs/results.json, docs/img/.

    run_bench()              # the full run (~10 min here)
    run_bench(quick=True, out_dir=tmp)   # the test suite's reduced run: one model, few samples, still measured

Every figure is a deterministic count (instructions, bytes) or a ratio measured in this run; estimates are
labelled as such.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from ..paths import ROOT
from . import accuracy, device_speed, growth, host_speed, memory
from .figure import save_figure

DOCS = ROOT / "docs"
COMMAND = "invoke bench   (= mcutrain bench; in Python: mcutrain.bench.run.run_bench())"
GOAL_RATIO = 1000.0
GOAL_SPARSE_BYTES = 128 * 1024


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, {system}, Python {platform.python_version()}"


def _say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _headline(mem: dict[str, Any], kern: dict[str, Any], host: dict[str, Any], acc: dict[str, Any]) -> dict[str, Any]:
    sparse = next(r for r in mem["rows"] if r["model"] == memory.PROJECT.key and r["scheme"] == "sparse")
    torch_ref = mem["pytorch"][memory.PROJECT.key]
    ratio = torch_ref["peak_rss_after_step_bytes"] / sparse["peak_sram_bytes"]
    return {
        "pytorch_peak_bytes": torch_ref["peak_rss_after_step_bytes"],
        "pytorch_training_only_bytes": torch_ref["training_only_bytes"],
        "sparse_peak_bytes": sparse["peak_sram_bytes"],
        "memory_ratio_vs_pytorch": ratio,
        "memory_ratio_vs_pytorch_training_only": torch_ref["training_only_bytes"] / sparse["peak_sram_bytes"],
        "goal_1000x_less_than_pytorch_met": ratio >= GOAL_RATIO,
        "goal_sparse_le_128KB_met": sparse["peak_sram_bytes"] <= GOAL_SPARSE_BYTES,
        "instr_per_mac_conv_ref": kern["instr_per_mac_conv_ref"],
        "instr_per_mac_conv_opt": kern["instr_per_mac_conv_opt"],
        "instr_per_mac_dw_ref": kern["instr_per_mac_dw_ref"],
        "instr_per_mac_dw_opt": kern["instr_per_mac_dw_opt"],
        "host_step_speedup_vs_pytorch": host["speedup_sparse_vs_pytorch"],
        "heldout_accuracy": acc["heldout_accuracy"],
    }


def plot_memory(mem: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = mem["rows"]
    labels = [f"{r['model'].split('_')[0]}\n{r['scheme']}" for r in rows]
    vals = [r.get("peak_sram_bytes", r["planned_arena_bytes"]) / 1024 for r in rows]
    colors = ["tab:blue" if "peak_sram_bytes" in r else "tab:gray" for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(rows) + 2), 4.5), constrained_layout=True)
    ax.bar(labels, vals, color=colors)
    for j, (key, t) in enumerate(mem["pytorch"].items()):
        ax.axhline(t["peak_rss_after_step_bytes"] / 1024, ls="--", color="tab:red")
        ax.text(j * len(rows) / 2, t["peak_rss_after_step_bytes"] / 1024 * 1.1, f"PyTorch process ({key})",
                color="tab:red", fontsize=8)
    ax.axhline(mem["board_arena_bytes"] / 1024, ls=":", color="k")
    ax.text(0, mem["board_arena_bytes"] / 1024 * 1.1, "F405 arena", fontsize=8)
    ax.set(yscale="log", ylabel="KB (blue: measured on QEMU; gray: planned, does not fit)",
           title="peak SRAM of one training step vs PyTorch fp32 (batch 1)")
    ax.tick_params(axis="x", labelsize=7)
    return save_figure(fig, path)


def render_md(res: dict[str, Any], tables: dict[str, str]) -> str:
    h = res["headline"]
    kb = h["sparse_peak_bytes"] / 1024
    lines = [
        "# Results",
        "",
        f"Reproduce: `{COMMAND}`. Generated {res['date']} on {res['machine']}; wall time {res['wall_s']:.0f} s"
        + (" (**quick mode**: reduced run for the tests)" if res["quick"] else "") + ".",
        "Every number below was measured by that run, or is labelled as an estimate. Instructions come from",
        "QEMU 7.2 `netduinoplus2` (STM32F405, Cortex-M4F) with `-icount shift=0`: QEMU counts instructions,",
        "not cycles. Raw numbers: `docs/results.json`.",
        "",
        "## Headline",
        "",
        "| figure | value | goal |",
        "|---|---:|---|",
        f"| peak SRAM of one sparse training step, project model, measured on the board | "
        f"{h['sparse_peak_bytes']:,} B ({kb:.1f} KB) | "
        f"≤ 128 KB: {'met' if h['goal_sparse_le_128KB_met'] else 'NOT met'} |",
        f"| PyTorch fp32 training process peak, same architecture, batch 1 | "
        f"{h['pytorch_peak_bytes'] / 2**20:.1f} MB | |",
        f"| memory ratio vs the whole PyTorch process | {h['memory_ratio_vs_pytorch']:,.0f}× | ≥ 1000×: "
        f"{'met' if h['goal_1000x_less_than_pytorch_met'] else 'NOT met'} |",
        f"| memory ratio vs PyTorch's training part (peak − process before training) | "
        f"{h['memory_ratio_vs_pytorch_training_only']:,.0f}× | |",
        f"| CONV_2D instr/MAC, reference → optimised kernels | {h['instr_per_mac_conv_ref']:.2f} → "
        f"{h['instr_per_mac_conv_opt']:.2f} | |",
        f"| DEPTHWISE instr/MAC, reference → optimised kernels | {h['instr_per_mac_dw_ref']:.2f} → "
        f"{h['instr_per_mac_dw_opt']:.2f} | |",
        f"| host training step, PyTorch time / ours (ours: sparse, int8; PyTorch: fp32, all parameters), 1 thread | "
        f"{h['host_step_speedup_vs_pytorch']:.2f}× | > 1× = ours faster |",
        f"| held-out accuracy after the on-device run | {100 * h['heldout_accuracy']:.1f} % | |",
        "",
        "## 1. Memory (`bench/memory.py`)",
        "",
        "Peak SRAM = arena high-water (measured on the emulated board by arena painting) + stack peak (measured),",
        "int gradients, fresh 2-class head. The firmware's other static state (~3 KB) is not counted.",
        "",
        tables["memory"],
        "",
        "![memory](img/memory.png)",
        "",
        "## 2. Device speed (`bench/device_speed.py`)",
        "",
        tables["device"],
        "",
        "## 3. Host speed (`bench/host_speed.py`)",
        "",
        tables["host"],
        "",
        "## 4. Time to accuracy (`bench/accuracy.py`)",
        "",
        tables["accuracy"],
        "",
        "![accuracy](img/accuracy.png)",
        "",
        "## 5. Cost growth (`bench/growth.py`)",
        "",
        tables["growth"],
        "",
        "![growth](img/growth.png)",
        "",
        "## Per-layer kernel counts (`bench/kernels.py`, one inference of person detection)",
        "",
        "```",
        tables["kernels"],
        "```",
        "",
    ]
    return "\n".join(lines)


def run_bench(quick: bool = False, out_dir: Path = DOCS) -> int:
    from ..build import build
    from . import kernels

    t0 = time.monotonic()
    out_dir = Path(out_dir)
    img = out_dir / "img"
    models = (memory.PROJECT,) if quick else (memory.PROJECT, memory.TFLM_PD)
    _say("building the qemu_f405 firmware")
    elf = build("qemu_f405", quiet=True)
    _say("kernels (reference vs optimised, QEMU)")
    kern = kernels.run(host_runs=0 if quick else 5, verbose=False)
    _say("memory (QEMU + PyTorch)")
    mem = memory.run(elf, models)
    _say("device speed (QEMU)")
    dev = device_speed.run(elf, kern, samples=1 if quick else 3)
    _say("host speed (host build vs PyTorch)")
    host = host_speed.run(runs=5 if quick else 21)
    _say("time to accuracy (QEMU + host build)")
    acc = accuracy.run(elf, samples=8 if quick else 160, eval_every=8 if quick else 40,
                       heldout_limit=10 if quick else None,
                       work=ROOT / "build" / ("bench-quick" if quick else "bench"))
    _say("cost growth (compiler)")
    per_mac = dev["instructions_step"] / dev["forward_macs"]
    grow = growth.run(per_mac, sizes=(64, 96) if quick else growth.RESOLUTIONS, models=models)
    res: dict[str, Any] = {
        "command": COMMAND,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": _machine(),
        "quick": quick,
        "headline": _headline(mem, kern, host, acc),
        "memory": mem,
        "device_speed": dev,
        "host_speed": host,
        "accuracy": acc,
        "growth": grow,
        "kernels": {k: v for k, v in kern.items() if k != "host" or v},
    }
    res.update(res["headline"])  # the headline keys at the top level too
    tables = {
        "memory": memory.format_table(mem),
        "device": device_speed.format_table(dev),
        "host": host_speed.format_table(host),
        "accuracy": accuracy.format_table(acc),
        "growth": growth.format_table(grow),
        "kernels": kernels.format_table(kern),
    }
    plot_memory(mem, img / "memory.png")
    accuracy.plot(acc, img / "accuracy.png")
    growth.plot(grow, img / "growth.png")
    res["wall_s"] = time.monotonic() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    (out_dir / "results.md").write_text(render_md(res, tables))
    _say(f"wrote {out_dir / 'results.md'} and results.json in {res['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_bench(quick="--quick" in sys.argv))
