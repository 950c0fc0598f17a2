"""Hostile model/program campaign: python -m tests.reliability.run_hostile --models 10000

Prints the outcome counts per family and every failure; exits 1 if any case crashed, hung, raised
a Python exception other than ModelError, or gave insane outputs. --engine HEAD tests the engine
of a git revision (snapshot under build/reliability/) instead of the working tree.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mcutrain.paths import ROOT

from .hostile import ENGINE_ENV, FAILURES, KNOWN, engine_snapshot, run_cases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=10000, help="mutated .tflite files")
    ap.add_argument("--programs", type=int, default=5000, help="mutated program files")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per case")
    ap.add_argument("--engine", default=None, help="git revision of firmware/engine to test (default: worktree)")
    ap.add_argument("--save", type=Path, default=ROOT / "build" / "reliability" / "failures")
    a = ap.parse_args(argv)
    if a.engine:
        os.environ[ENGINE_ENV] = str(engine_snapshot(a.engine))
    rep = run_cases(a.seed, a.models, a.programs, a.workers, a.timeout, a.save, progress=True)
    print(f"seed {a.seed}, {len(rep.results)} cases in {rep.seconds:.0f}s ({a.workers} workers), "
          f"engine {a.engine or 'worktree'}")
    order = ["accepted", "rej_import", "rej_emit", "rej_loader", "rej_arena", "rej_runtime", *KNOWN, *FAILURES]
    for family, n in (("tflite", a.models), ("program", a.programs)):
        c = rep.counts(family)
        print(f"  {family:8s} {n:6d}: " + ", ".join(f"{k}={c.get(k, 0)}" for k in order if c.get(k, 0) or
                                                   k in ("accepted", "crash", "hang", "pyexc")))
    for r in rep.results:
        if r.outcome in FAILURES + KNOWN:
            print(f"  {r.outcome}: {r.family} #{r.case} ({r.target}) {r.detail[:200]} <- {r.mutation[:160]}")
    bad = rep.failures()
    print(f"failures: {len(bad)} (reproducers in {a.save})" if bad else "failures: 0")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
