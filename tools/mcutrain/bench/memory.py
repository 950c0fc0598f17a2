"""Peak SRAM of one training step, measured on the emulated STM32F405, vs PyTorch fp32 training.

For each model (fresh 2-class head, int gradients) and scheme (full, last-layer, bias-only, and `sparse` = the
model's shipped 96K search scheme): compile, and when the planned arena fits the board's arena, load the
program on a fresh QEMU board, run training steps and read back the arena high-water (arena painting) and
the stack peak. A plan larger than the board's arena is reported as planned bytes, "does not fit".
PyTorch: the same architecture in fp32, every parameter trainable, one SGD step at batch 1 in a child
process (`compiler.pytorch_peak`): the whole-process peak RSS and the training part (peak after the step
minus the process before training).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..boards import board
from ..compiler.compile import compile_model
from ..compiler.emit_train import TrainConfig, emit_training
from ..ir import Graph
from ..paths import MODELS, shared_data
from ..tflite_import import load_tflite
from ..transfer import replace_head

QEMU_ARENA_BYTES = board("qemu_f405").arena_bytes  # APP_ARENA_BYTES of its build (platformio.ini)
SCHEMES = ("full", "last-layer", "bias-only", "sparse")
STEPS = 2
LR = 0.05
SEED = 0


@dataclass(frozen=True)
class BenchModel:
    key: str
    path: Path
    sparse_scheme: Path  # the shipped search scheme used as "sparse"


PROJECT = BenchModel(
    "mcunet_s_person_96x96x1",
    MODELS / "mcunet_s_person_96x96x1.tflite",
    MODELS / "schemes" / "mcunet_s_person_96x96x1-96K.json",
)
TFLM_PD = BenchModel(
    "person_detect",
    shared_data() / "tflm_person_detection" / "person_detect.tflite",
    MODELS / "schemes" / "person_detect-96K.json",
)


def training_graph(m: BenchModel) -> Graph:
    """The model with a fresh 2-class head, as `mcutrain train` trains it."""
    return replace_head(load_tflite(m.path), 2, seed=SEED)


def scheme_arg(m: BenchModel, scheme: str) -> str | Path:
    return m.sparse_scheme if scheme == "sparse" else scheme


def sample_inputs(g: Graph, n: int, seed: int = 0) -> list[np.ndarray]:
    shape = g.tensors[g.inputs[0]].shape
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, shape, dtype=np.int8) for _ in range(n)]


def measure_scheme(elf: Path, m: BenchModel, g: Graph, scheme: str) -> dict[str, Any]:
    from ..device.client import DeviceTarget

    res = compile_model(g, scheme_arg(m, scheme), None, mode="int")
    row: dict[str, Any] = {
        "model": m.key,
        "scheme": scheme,
        "scheme_source": Path(str(scheme_arg(m, scheme))).name,
        "planned_arena_bytes": res.peak_bytes,
        "sram_param_bytes": res.sram_param_bytes,
        "flash_param_bytes": res.flash_bytes,
        "fits": res.peak_bytes <= QEMU_ARENA_BYTES,
    }
    if not row["fits"]:
        row["note"] = f"does not fit on the F405 (needs {res.peak_bytes:,} B, arena {QEMU_ARENA_BYTES:,} B)"
        return row
    prog = emit_training(res, TrainConfig(lr=LR, seed=SEED + 1))
    row["program_bytes"] = len(prog.blob)
    with DeviceTarget.qemu(elf, program=prog.blob) as dev:
        for i, x in enumerate(sample_inputs(g, STEPS)):
            dev.train_step(x, i % 2)
        st = dev.stats()
    row["measured_arena_bytes"] = int(st["peak_arena_bytes"])
    row["measured_stack_bytes"] = int(st["peak_stack_bytes"])
    row["peak_sram_bytes"] = row["measured_arena_bytes"] + row["measured_stack_bytes"]
    row["instructions_mean_step"] = int(st["instructions_mean_step"])
    return row


def pytorch_reference(m: BenchModel) -> dict[str, Any]:
    from ..compiler.pytorch_peak import measure_pytorch_peak

    d = measure_pytorch_peak(m.path)
    d["training_only_bytes"] = d["peak_rss_after_step_bytes"] - d["peak_rss_before_step_bytes"]
    return d


def run(elf: Path, models: tuple[BenchModel, ...] = (PROJECT, TFLM_PD),
        schemes: tuple[str, ...] = SCHEMES) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    torch_ref: dict[str, dict[str, Any]] = {}
    for m in models:
        g = training_graph(m)
        rows += [measure_scheme(elf, m, g, s) for s in schemes]
        torch_ref[m.key] = pytorch_reference(m)
    for r in rows:
        t = torch_ref[r["model"]]
        if "peak_sram_bytes" in r:
            r["ratio_vs_pytorch_process"] = t["peak_rss_after_step_bytes"] / r["peak_sram_bytes"]
            r["ratio_vs_pytorch_training"] = t["training_only_bytes"] / r["peak_sram_bytes"]
    return {"rows": rows, "pytorch": torch_ref, "board_arena_bytes": QEMU_ARENA_BYTES}


def _kb(n: float) -> str:
    return f"{n / 1024:,.1f} KB"


def _mb(n: float) -> str:
    return f"{n / 2**20:,.1f} MB"


def format_table(res: dict[str, Any]) -> str:
    lines = [
        "| model | scheme | planned arena | measured arena (high-water) | stack | **peak SRAM** | "
        "params in SRAM | × less than PyTorch process | × less than PyTorch training part |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["rows"]:
        name = f"{r['scheme']} ({r['scheme_source']})" if r["scheme"] == "sparse" else r["scheme"]
        if "peak_sram_bytes" in r:
            lines.append(
                f"| {r['model']} | {name} | {r['planned_arena_bytes']:,} | {r['measured_arena_bytes']:,} | "
                f"{r['measured_stack_bytes']:,} | **{r['peak_sram_bytes']:,}** ({_kb(r['peak_sram_bytes'])}) | "
                f"{r['sram_param_bytes']:,} | {r['ratio_vs_pytorch_process']:,.0f}× | "
                f"{r['ratio_vs_pytorch_training']:,.0f}× |"
            )
        else:
            lines.append(
                f"| {r['model']} | {name} | {r['planned_arena_bytes']:,} | — | — | {r['note']} | "
                f"{r['sram_param_bytes']:,} | — | — |"
            )
    lines += ["", "| PyTorch fp32, batch 1, all parameters trainable | params | process before training | "
              "process peak after one SGD step | training part |", "|---|---:|---:|---:|---:|"]
    for key, t in res["pytorch"].items():
        lines.append(
            f"| {key} (torch {t['torch_version']}) | {t['params']:,} | {_mb(t['peak_rss_before_step_bytes'])} | "
            f"{_mb(t['peak_rss_after_step_bytes'])} | {_mb(t['training_only_bytes'])} |"
        )
    return "\n".join(lines)
