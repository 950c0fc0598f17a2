"""Training-run records: a JSONL log (one object per event), a CSV of the evaluations, and the accuracy plot.

Only figures reported by the target (device or host engine) are written; the host adds wall time and the
sample count it streamed.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainLog:
    run_dir: Path
    started: float = field(default_factory=time.monotonic)
    evals: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._jsonl = (self.run_dir / "log.jsonl").open("w", encoding="utf-8")

    @property
    def jsonl_path(self) -> Path:
        return self.run_dir / "log.jsonl"

    def event(self, kind: str, **fields: Any) -> dict[str, Any]:
        rec = {"event": kind, "wall_s": round(time.monotonic() - self.started, 3), **fields}
        self._jsonl.write(json.dumps(rec) + "\n")
        self._jsonl.flush()
        if kind == "eval":
            self.evals.append(rec)
        return rec

    def close(self) -> None:
        self._jsonl.close()
        if self.evals:
            with (self.run_dir / "evals.csv").open("w", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=list(self.evals[0]))
                w.writeheader()
                w.writerows(self.evals)


def plot_accuracy(evals: list[dict[str, Any]], out: Path, title: str, clock_hz: float) -> Path:
    """Held-out accuracy vs samples seen and vs device time (instructions / clock, a labelled estimate)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = [e["samples"] for e in evals]
    acc = [100.0 * e["heldout_accuracy"] for e in evals]
    dev_s = [e["device_instructions"] / clock_hz for e in evals]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    a.plot(samples, acc, marker="o")
    a.set_xlabel("training samples seen")
    a.set_ylabel("held-out accuracy (%)")
    a.set_ylim(0, 100)
    a.grid(alpha=0.3)
    b.plot(dev_s, acc, marker="o", color="tab:orange")
    b.set_xlabel(f"device time, s (estimate: instructions / {clock_hz / 1e6:.0f} MHz)")
    b.set_ylim(0, 100)
    b.grid(alpha=0.3)
    fig.suptitle(title)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
