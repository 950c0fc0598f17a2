"""Check written schemes by training them (golden model) and scoring the task's untouched *test* split.

    python -m mcutrain.sparse.validate MODEL.tflite SCHEME.json ... [--steps 120] [--repeats 3]

Same protocol as the contribution runs (fresh head per seed, `steps` SGD steps on the fit set), but the whole
scheme at once, and accuracy on person_task("test") (60 LFW crops + 30 photo-crop negatives) instead of the
held-out part of the train split. Prints one line per scheme plus the head-only baseline.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from ..compiler.scheme import load_scheme
from ..data.datasets import person_task
from ..tflite_import import load_tflite
from ..transfer import replace_head
from .contribution import ContribConfig, _evaluate, train_run
from .options import build_scheme
from .task import person_data, prefix_cache
from .threads import limit_blas_threads


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m mcutrain.sparse.validate")
    ap.add_argument("model")
    ap.add_argument("schemes", nargs="+")
    ap.add_argument("--steps", type=int, default=ContribConfig.steps)
    ap.add_argument("--repeats", type=int, default=ContribConfig.repeats)
    a = ap.parse_args()
    limit_blas_threads(1)
    graph = load_tflite(a.model)
    cfg = replace(ContribConfig(), steps=a.steps, repeats=a.repeats)
    data = person_data(graph)
    shape = graph.tensors[graph.inputs[0]].shape
    test = person_task("test", size=shape[1], channels=shape[3], hard_negatives_count=30)
    test_x = test.to_int8()
    schemes = {"head-only": {}} | {p: load_scheme(graph, p).to_golden() for p in a.schemes}
    start = min(min(s) for s in schemes.values() if s) if len(schemes) > 1 else 0
    fit, tst = prefix_cache(graph, data.fit_x, start), prefix_cache(graph, test_x, start)
    for name, sch in schemes.items():
        accs, losses = [], []
        for s in range(cfg.seed, cfg.seed + cfg.repeats):
            head = replace_head(graph, 2, seed=s)
            full = dict(sch) or build_scheme(head, {}).to_golden()
            g = train_run(head, full, fit, data.fit_y, cfg, s, start)
            acc, loss = _evaluate(g, tst, test.labels, start)
            accs.append(acc)
            losses.append(loss)
        print(f"{name:<45} test acc {100 * np.mean(accs):5.1f} % (per seed {[round(100 * x, 1) for x in accs]}), "
              f"test loss {np.mean(losses):.3f}")


if __name__ == "__main__":
    main()
