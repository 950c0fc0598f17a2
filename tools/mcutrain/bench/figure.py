"""Writing a benchmark figure: one style (gridded axes, 110 dpi) for every plot of the bench."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def save_figure(fig: Any, path: Path, grid: tuple[Any, ...] = ()) -> Path:
    """Grids the axes `grid`, writes `fig` to `path` (folders made as needed) and closes it."""
    import matplotlib.pyplot as plt

    for ax in grid:
        ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
