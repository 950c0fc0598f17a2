"""The live view of a training run (rich): what the target reported, refreshed as samples stream."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table


def _fmt(v: Any, kind: str) -> str:
    if v is None:
        return "-"
    if kind == "pct":
        return f"{100 * v:5.1f} %"
    if kind == "int":
        return f"{int(v):,}"
    if kind == "float":
        return f"{v:.4f}"
    return str(v)


ROWS = (
    ("samples seen", "samples", "int"),
    ("loss (EMA)", "loss", "float"),
    ("running accuracy (last 50)", "running_accuracy", "pct"),
    ("held-out accuracy", "heldout_accuracy", "pct"),
    ("device instructions / step", "instructions_per_step", "int"),
    ("device time / step (est.)", "step_ms", "str"),
)


class LiveView:
    def __init__(self, title: str, clock_hz: float, enabled: bool = True) -> None:
        self.title = title
        self.clock_hz = clock_hz
        self.enabled = enabled
        self.console = Console(stderr=True)
        self._live: Live | None = None

    def render(self, state: dict[str, Any]) -> Table:
        t = Table(title=self.title, show_header=False)
        t.add_column(style="bold")
        t.add_column(justify="right")
        instr = state.get("instructions_per_step")
        if instr:
            state = {**state, "step_ms": f"{1000 * instr / self.clock_hz:,.1f} ms @ {self.clock_hz / 1e6:.0f} MHz"}
        for label, key, kind in ROWS:
            t.add_row(label, _fmt(state.get(key), kind))
        return t

    def __enter__(self) -> LiveView:
        if self.enabled:
            self._live = Live(self.render({}), console=self.console, refresh_per_second=4)
            self._live.__enter__()
        return self

    def update(self, state: dict[str, Any]) -> None:
        if self._live is not None:
            self._live.update(self.render(state))

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
