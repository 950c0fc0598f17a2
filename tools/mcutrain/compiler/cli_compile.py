"""Everything `mcutrain compile MODEL.tflite --scheme S --budget 128K [--json] [--out F]` does, in one call."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from ..paths import BUILD
from ..tflite_import import ModelError, load_tflite
from .autodiff import TrainError
from .compile import BudgetError, CompileResult, compile_model
from .report import BudgetParseError, numbers, parse_budget, plot_memory, print_table
from .scheme import SchemeError


def schedule_json(r: CompileResult) -> dict[str, Any]:
    """The compiled schedule as plain data: steps, arena buffers with offsets and lifetimes, numbers."""
    tg = r.train
    bufs = []
    for b in r.lives:
        meta = tg.buffers[b.name]
        bufs.append(
            {
                "name": b.name,
                "kind": b.kind,
                "offset": r.placement.offsets[b.name],
                "size": b.size,
                "first_use": b.first_use,
                "last_use": b.last_use,
                "tensor": meta.tensor,
                "op": meta.op,
            }
        )
    steps = [
        {"name": s.name, "kind": s.kind, "op": s.op, "reads": s.reads, "writes": s.writes, "attrs": s.attrs}
        for s in tg.steps
    ]
    return {"numbers": numbers(r), "scheme": r.scheme.to_json(tg.graph), "buffers": bufs, "steps": steps}


def _plot_path(model_path: Path, scheme: str, mode: str, out_path: Path | None) -> Path:
    if out_path is not None:
        return out_path.with_name(out_path.stem + ".memory.png")
    return BUILD / f"{model_path.stem}-{Path(scheme).stem}-{mode}.memory.png"


def _write_schedule(r: CompileResult, out_path: Path) -> Path:
    # The binary training program waits for the program format to grow training opcodes (see docs/compiler.md);
    # until then the schedule is written as JSON.
    path = out_path if out_path.suffix == ".json" else out_path.with_name(out_path.name + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schedule_json(r), indent=1, default=str))
    return path


def run_compile(
    model_path: str | Path,
    scheme: str,
    budget: str | int | None,
    mode: str = "fp32",
    out_path: str | Path | None = None,
    json_out: bool = False,
) -> int:
    """0 when the schedule fits, 1 when it is over budget, 2 on bad input; messages are one line on stderr."""
    console = Console()
    model_path = Path(model_path)
    out = Path(out_path) if out_path is not None else None
    try:
        budget_bytes = parse_budget(budget) if budget is not None else None
        graph = load_tflite(model_path)
        try:
            result = compile_model(graph, scheme, budget_bytes, mode, reorder=True)
            over = None
        except BudgetError as e:
            result, over = e.result, str(e)
        baseline = compile_model(graph, result.scheme, None, mode, reorder=False)
    except (ModelError, SchemeError, TrainError, BudgetParseError) as e:
        print(f"mcutrain compile: {e}", file=sys.stderr)
        return 2
    plot = plot_memory(
        [("no reordering", baseline), ("reordered (in-place updates)", result)],
        _plot_path(model_path, scheme, mode, out),
        title=f"{model_path.name}: {result.scheme.name} scheme, {mode} gradients",
    )
    written = _write_schedule(result, out) if out is not None and over is None else None
    if json_out:
        nums = numbers(result)
        nums["peak_bytes_without_reorder"] = baseline.peak_bytes
        nums["plot"] = str(plot)
        if written is not None:
            nums["schedule"] = str(written)
        print(json.dumps(nums, indent=2))
    else:
        print_table(result, console)
        console.print(f"without reordering {baseline.peak_bytes:>11,} B")
        console.print(f"memory plot       {plot}")
        if written is not None:
            console.print(f"schedule          {written}")
    if over is not None:
        print(f"mcutrain compile: {over}", file=sys.stderr)
        return 1
    return 0


def peak_table_markdown(
    model_path: str | Path, schemes: tuple[str, ...] = ("full", "last-layer", "bias-only", "sparse")
) -> str:
    """Markdown table of peak arena bytes for each scheme, gradient mode and reordering (docs/compiler.md)."""
    graph = load_tflite(model_path)
    head = "| scheme | mode | peak, no reorder (bound) | peak, reordered (bound) | params in SRAM |"
    lines = [head, "|---|---|---:|---:|---:|"]
    for s in schemes:
        for mode in ("fp32", "int"):
            a = compile_model(graph, s, None, mode, reorder=False)
            b = compile_model(graph, s, None, mode, reorder=True)
            lines.append(
                f"| {s} | {mode} | {a.peak_bytes:,} ({a.lower_bound_bytes:,}) | "
                f"{b.peak_bytes:,} ({b.lower_bound_bytes:,}) | {b.sram_param_bytes:,} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(peak_table_markdown(sys.argv[1]))
