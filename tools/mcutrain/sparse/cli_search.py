"""Everything `mcutrain search MODEL --budget 128K [--data DIR] [--out scheme.json]` does, in one call."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..compiler.compile import BudgetError, compile_model
from ..compiler.report import BudgetParseError, parse_budget
from ..compiler.scheme import SchemeError, load_scheme
from ..data.folder import FolderError
from ..ir import Graph
from ..paths import BUILD
from ..tflite_import import ModelError, load_tflite
from ..transfer import replace_head
from .contribution import ContribConfig, Contribution, analyse
from .options import PeakOracle, build_scheme
from .search import SearchResult, search
from .task import TaskData, folder_data, person_data

PROG = "mcutrain search"


def _err(msg: str) -> None:
    print(f"{PROG}: {msg}", file=sys.stderr)


def budget_label(budget: int) -> str:
    return f"{budget // 1024}K" if budget % 1024 == 0 else str(budget)


def scheme_document(graph: Graph, best: SearchResult, results: list[SearchResult], budget: int,
                    model_path: Path, contrib: Contribution, mode: str) -> dict[str, Any]:
    """The scheme JSON (docs/schemes.md layout) with the search's figures in `notes`."""
    doc = build_scheme(graph, best.choices, f"{model_path.stem}-{budget_label(budget)}").to_json(graph)
    figures = "; ".join(f"{r.method}: score {r.score}, peak {r.peak_bytes:,} B, {r.seconds} s" for r in results)
    cfg = contrib.config
    doc["model"] = model_path.name
    doc["budget_bytes"] = budget
    doc["notes"] = (
        f"mcutrain search ({best.method} chosen), compiled peak {best.peak_bytes:,} B (mode {mode}: max over "
        f"int/fp32 when 'both'); {figures}; contribution: last {cfg['last_n']} layers, {cfg['steps']} steps, "
        f"{cfg['repeats']} seeds from {cfg['seed']}, lr {cfg['lr']}, data {contrib.data}"
    )
    return doc


def _print_summary(graph: Graph, best: SearchResult, results: list[SearchResult], budget: int) -> None:
    for r in results:
        ok = "fits" if r.fits(budget) else "OVER budget"
        print(f"{r.method:<13} score {r.score:8.2f}  peak {r.peak_bytes:>9,} B  {ok:<11} {r.seconds:6.2f} s "
              f"({r.compiles} compiles)")
    print(f"chosen: {best.method}")
    for i, c in sorted(best.choices.items()):
        print(f"  {i:>3} {graph.ops[i].name:<55} bias={'y' if c.bias else 'n'} weights={c.ratio:g}")


def run_search(model_path: str | Path, budget: str | int, data_dir: str | Path | None = None,
               out: str | Path | None = None, steps: int = ContribConfig.steps, seed: int = 0,
               last_n: int = ContribConfig.last_n, repeats: int = ContribConfig.repeats,
               mode: str = "both", generations: int = 30) -> int:
    """0 when a scheme was written, 1 when the budget cannot hold even the head-only scheme, 2 on bad input.
    Errors are one line on stderr."""
    model_path = Path(model_path)
    try:
        budget_bytes = parse_budget(budget)
        graph = load_tflite(model_path)
        data: TaskData = folder_data(graph, data_dir) if data_dir is not None else person_data(graph)
        head = replace_head(graph, data.n_classes, seed=seed)
    except (BudgetParseError, ModelError, FolderError, ValueError) as e:
        _err(str(e).splitlines()[0])
        return 2
    oracle = PeakOracle(head, mode)
    need = oracle.head_peak()
    if need > budget_bytes:
        _err(f"budget {budget_bytes:,} B cannot hold even the classifier-only scheme (forward pass + head update "
             f"needs {need:,} B), let alone bias updates: raise --budget to at least {need:,} B "
             f"({-(-need // 1024)}K)")
        return 1
    cfg = ContribConfig(last_n=last_n, steps=steps, repeats=repeats, seed=seed)
    try:
        contrib = analyse(graph, data, cfg)
    except ValueError as e:
        _err(str(e).splitlines()[0])
        return 2
    how = "cached" if contrib.cached else "measured"
    print(f"contribution: {len(contrib.options)} options on {len(contrib.layers)} layers, {how} "
          f"({contrib.seconds} s to measure)")
    best, results = search(head, contrib, budget_bytes, mode, seed, oracle, generations=generations)
    dest = Path(out) if out is not None else BUILD / "schemes" / f"{model_path.stem}-{budget_label(budget_bytes)}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(scheme_document(head, best, results, budget_bytes, model_path, contrib, mode),
                               indent=1) + "\n")
    try:  # the written file must load through compiler/scheme.py and compile under the budget
        for m in oracle.modes:
            compile_model(head, load_scheme(head, dest), budget_bytes, m, reorder=True)
    except (SchemeError, BudgetError) as e:
        _err(f"internal: written scheme does not verify: {e}")
        return 2
    _print_summary(head, best, results, budget_bytes)
    print(f"scheme: {dest}")
    return 0


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(prog=PROG)
    ap.add_argument("model")
    ap.add_argument("--budget", required=True)
    ap.add_argument("--data", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--steps", type=int, default=ContribConfig.steps)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--last-n", type=int, default=ContribConfig.last_n)
    ap.add_argument("--mode", default="both", choices=("int", "fp32", "both"))
    a = ap.parse_args()
    sys.exit(run_search(a.model, a.budget, a.data, a.out, a.steps, a.seed, a.last_n, mode=a.mode))
