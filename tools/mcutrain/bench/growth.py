"""How cost grows with input resolution and with the memory budget (compiler figures, no board needed).

Resolution: the project model at 64, 96, 128, 160 px (`compiler.resize_input`, fresh 2-class head),
compiled peak arena for the shipped sparse scheme and for the full update (int gradients), and the training
step's instructions as an estimate: forward MACs x the instr/MAC of one step measured on QEMU at 96 px
(`device_speed`). Budget: every shipped search scheme vs its compiled peak (int and fp32 gradients).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..compiler.compile import compile_model
from ..compiler.resize_input import resize_input
from ..paths import MODELS
from ..tflite_import import load_tflite
from ..transfer import replace_head
from .device_speed import M7_HZ
from .figure import save_figure
from .memory import PROJECT, SEED, TFLM_PD, BenchModel

RESOLUTIONS = (64, 96, 128, 160)


def resolution_rows(step_instr_per_fwd_mac: float, m: BenchModel = PROJECT,
                    sizes: tuple[int, ...] = RESOLUTIONS) -> list[dict[str, Any]]:
    base = replace_head(load_tflite(m.path), 2, seed=SEED)
    rows = []
    for s in sizes:
        g = resize_input(base, s, s)
        sparse = compile_model(g, m.sparse_scheme, None, mode="int")
        full = compile_model(g, "full", None, mode="int")
        est = g.macs() * step_instr_per_fwd_mac
        rows.append({
            "resolution": s,
            "macs": g.macs(),
            "sparse_peak_bytes": sparse.peak_bytes,
            "full_peak_bytes": full.peak_bytes,
            "step_instructions_estimate": int(est),
            "m7_216mhz_step_ms_estimate": 1e3 * est / M7_HZ,
        })
    return rows


def budget_rows(models: tuple[BenchModel, ...] = (PROJECT, TFLM_PD)) -> list[dict[str, Any]]:
    rows = []
    for m in models:
        g = replace_head(load_tflite(m.path), 2, seed=SEED)
        files = {int(f.stem.rsplit("-", 1)[1][:-1]) * 1024: f for f in (MODELS / "schemes").glob(f"{m.key}-*K.json")}
        for budget, f in sorted(files.items()):
            peaks = {mode: compile_model(g, f, None, mode=mode).peak_bytes for mode in ("int", "fp32")}
            rows.append({"model": m.key, "scheme": f.stem, "budget_bytes": budget,
                         "peak_int_bytes": peaks["int"], "peak_fp32_bytes": peaks["fp32"],
                         "fits": max(peaks.values()) <= budget})
    return rows


def run(step_instr_per_fwd_mac: float, sizes: tuple[int, ...] = RESOLUTIONS,
        models: tuple[BenchModel, ...] = (PROJECT, TFLM_PD)) -> dict[str, Any]:
    return {
        "step_instr_per_forward_mac_measured_96px": step_instr_per_fwd_mac,
        "resolution": resolution_rows(step_instr_per_fwd_mac, sizes=sizes),
        "budget": budget_rows(models),
    }


def plot(d: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = d["resolution"]
    px = [r["resolution"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    a.plot(px, [r["sparse_peak_bytes"] / 1024 for r in rows], "o-", label="sparse (shipped 96K scheme)")
    a.plot(px, [r["full_peak_bytes"] / 1024 for r in rows], "s-", label="full update")
    a.axhline(112, color="gray", ls=":", label="F405 arena (112 KB)")
    a.set(xlabel="input resolution (px)", ylabel="compiled peak arena (KB)", yscale="log")
    a.legend()
    b.plot(px, [r["step_instructions_estimate"] / 1e6 for r in rows], "o-")
    b.set(xlabel="input resolution (px)", ylabel="instructions per step, millions (estimate)")
    b.set_title("estimate: MACs x measured instr/MAC at 96 px", fontsize=9)
    return save_figure(fig, path, grid=(a, b))


def format_table(d: dict[str, Any]) -> str:
    lines = [
        "| input | MACs | sparse peak | full peak | step instructions (estimate) | 216 MHz M7 (estimate) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in d["resolution"]:
        lines.append(
            f"| {r['resolution']}×{r['resolution']} | {r['macs']:,} | {r['sparse_peak_bytes']:,} | "
            f"{r['full_peak_bytes']:,} | {r['step_instructions_estimate']:,} | "
            f"{r['m7_216mhz_step_ms_estimate']:.0f} ms |"
        )
    lines += [
        "",
        f"Instructions: estimate = forward MACs × {d['step_instr_per_forward_mac_measured_96px']:.2f} instructions "
        "per forward MAC, the training step measured on QEMU at 96 px.",
        "",
        "| model | scheme | budget | compiled peak, int | compiled peak, fp32 | fits |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in d["budget"]:
        lines.append(
            f"| {r['model']} | {r['scheme']} | {r['budget_bytes']:,} | {r['peak_int_bytes']:,} | "
            f"{r['peak_fp32_bytes']:,} | {'yes' if r['fits'] else 'no'} |"
        )
    return "\n".join(lines)
