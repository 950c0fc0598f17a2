"""What `mcutrain compile` shows: budget parsing, the JSON numbers, a rich per-step table, a memory plot."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .compile import CompileResult

JSON_KEYS = ("peak_bytes", "lower_bound_bytes", "flash_bytes", "budget_bytes")
_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "KIB": 1024, "M": 1024**2, "MB": 1024**2, "MIB": 1024**2}


class BudgetParseError(ValueError):
    """A budget string we cannot read; one line for the user."""


def parse_budget(text: str | int) -> int:
    """'128K', '256KB', '131072', '1M' -> bytes (K = 1024)."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(text))
    unit = m.group(2).upper() if m else ""
    if not m or unit not in _UNITS:
        raise BudgetParseError(f"cannot read budget '{text}'; write bytes or K/KB/M/MB, e.g. 128K, 256KB, 131072")
    value = float(m.group(1)) * _UNITS[unit]
    if value <= 0 or value != int(value):
        raise BudgetParseError(f"budget '{text}' must be a positive whole number of bytes")
    return int(value)


def numbers(r: CompileResult) -> dict[str, Any]:
    """The machine-readable summary: exactly JSON_KEYS first, then extras."""
    out: dict[str, Any] = {
        "peak_bytes": r.peak_bytes,
        "lower_bound_bytes": r.lower_bound_bytes,
        "flash_bytes": r.flash_bytes,
        "budget_bytes": r.budget_bytes,
    }
    out.update(
        {
            "peak_over_lower_bound": round(r.ratio, 4),
            "fits": r.fits,
            "scheme": r.scheme.name,
            "mode": r.mode,
            "reorder": r.reorder,
            "sram_param_bytes": r.sram_param_bytes,
            "steps": len(r.train.steps),
            "planner": r.placement.planner,
        }
    )
    return out


def _kind_style(kind: str) -> str:
    return {"FORWARD": "cyan", "LOSS": "magenta", "UPDATE": "green"}.get(kind, "yellow")


def print_table(r: CompileResult, console: Console | None = None) -> None:
    console = console or Console()
    ro = "on" if r.reorder else "off"
    t = Table(title=f"{r.model or 'model'}: {r.scheme.name} scheme, {r.mode} gradients, reorder {ro}")
    for col, just in (("#", "right"), ("step", "left"), ("kind", "left"), ("layer", "left")):
        t.add_column(col, justify=just)
    t.add_column("bytes alive", justify="right")
    t.add_column("arena peak so far", justify="right")
    for row in r.rows:
        layer = row.layer if len(row.layer) <= 48 else "…" + row.layer[-47:]
        style = _kind_style(row.kind)
        t.add_row(
            str(row.index), row.step, f"[{style}]{row.kind}[/]", layer, f"{row.bytes_alive:,}", f"{row.arena_peak:,}"
        )
    console.print(t)
    print_summary(r, console)


def print_summary(r: CompileResult, console: Console | None = None) -> None:
    console = console or Console()
    budget = f"{r.budget_bytes:,} B" if r.budget_bytes is not None else "none"
    console.print(f"peak arena        {r.peak_bytes:>12,} B")
    console.print(f"lower bound       {r.lower_bound_bytes:>12,} B   (most bytes alive at one step)")
    console.print(f"peak / bound      {r.ratio:>12.3f}")
    console.print(f"flash (params)    {r.flash_bytes:>12,} B")
    console.print(f"params in SRAM    {r.sram_param_bytes:>12,} B   (included in the arena)")
    console.print(f"budget            {budget:>14}")


def plot_memory(curves: list[tuple[str, CompileResult]], path: str | Path, title: str = "") -> Path:
    """Bytes alive over the schedule, one line per result (e.g. before and after reordering)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for label, r in curves:
        alive = [b / 1024 for b in r.alive_curve()]
        ax.plot(range(len(alive)), alive, label=f"{label}: peak {r.peak_bytes / 1024:.1f} KB", drawstyle="steps-mid")
    budget = next((r.budget_bytes for _, r in curves if r.budget_bytes), None)
    if budget:
        ax.axhline(budget / 1024, color="red", linestyle="--", linewidth=1, label=f"budget {budget / 1024:.0f} KB")
    ax.set_xlabel("schedule step (forward, loss, backward, updates)")
    ax.set_ylabel("KB alive in the arena")
    ax.set_title(title or "training memory over the schedule")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
