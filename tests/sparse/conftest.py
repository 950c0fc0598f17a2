"""Fixtures for the sparse-update search tests: the person-detection model and a synthetic contribution table."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest

from mcutrain.golden.train import replace_head
from mcutrain.ir import Graph
from mcutrain.paths import shared_data
from mcutrain.sparse.contribution import ContribConfig, Contribution, OptionResult
from mcutrain.sparse.options import RATIOS, candidate_layers, channels_for
from mcutrain.tflite_import import load_tflite

PD = shared_data() / "tflm_person_detection" / "person_detect.tflite"


@pytest.fixture(scope="session")
def pd_path() -> str:
    if not PD.exists():
        pytest.skip(f"person-detection model not found at {PD}")
    return str(PD)


@pytest.fixture(scope="session")
def pd_graph(pd_path: str) -> Graph:
    return load_tflite(pd_path)


@pytest.fixture(scope="session")
def pd_head(pd_graph: Graph) -> Graph:
    return replace_head(pd_graph, 2, seed=0)


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
