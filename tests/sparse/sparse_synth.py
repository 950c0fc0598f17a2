"""A synthetic contribution table (no training) for the search tests: fast and deterministic."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from mcutrain.ir import Graph
from mcutrain.sparse.contribution import ContribConfig, Contribution, OptionResult
from mcutrain.sparse.options import RATIOS, candidate_layers, channels_for


def synthetic_contribution(graph: Graph, last_n: int = 6, seed: int = 0) -> Contribution:
    """Random positive scores for every option of the last `last_n` layers (no training)."""
    rng = np.random.default_rng(seed)
    layers = candidate_layers(graph, last_n)
    opts = []
    for la in layers:
        for b, r in [(True, 0.0)] + [(False, r) for r in RATIOS[1:]]:
            s = float(rng.uniform(0, 10))
            opts.append(OptionResult(la, graph.ops[la].name, b, r, channels_for(graph, la, r), s, 0.0, s, 0, 0))
    cfg = asdict(ContribConfig())
    return Contribution(graph.name, "synthetic", cfg, "synthetic", [0.5], [0.7], 0, layers, opts, 0.0)
