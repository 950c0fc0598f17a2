"""Searches under the real compiler: budgets hold, the JSON round-trips through compiler/scheme.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sparse_synth import synthetic_contribution

from mcutrain.compiler.compile import compile_model
from mcutrain.compiler.scheme import load_scheme
from mcutrain.ir import Graph
from mcutrain.sparse.cli_search import scheme_document
from mcutrain.sparse.options import PeakOracle, build_scheme
from mcutrain.sparse.search import search, search_evolve, search_knapsack


@pytest.mark.parametrize("budget", [60_000, 80_000, 100_000])
def test_evolutionary_respects_budget(pd_head: Graph, budget: int) -> None:
    contrib = synthetic_contribution(pd_head)
    oracle = PeakOracle(pd_head, "int")
    r = search_evolve(pd_head, contrib, budget, oracle, population=12, generations=6, seed=1)
    assert r.choices, "something should fit above the head-only peak"
    assert r.peak_bytes <= budget
    assert compile_model(pd_head, build_scheme(pd_head, r.choices), budget, "int").peak_bytes <= budget


def test_knapsack_is_valid_under_real_compiler(pd_head: Graph) -> None:
    contrib = synthetic_contribution(pd_head)
    oracle = PeakOracle(pd_head, "int")
    r = search_knapsack(pd_head, contrib, 80_000, oracle)
    first = r.notes["rounds"][0]
    assert first["modelled_peak_bytes"] <= 80_000  # the DP honours its own (marginal-cost) model
    assert r.peak_bytes <= 80_000  # and capacity tightening makes the real compiled peak fit
    assert compile_model(pd_head, build_scheme(pd_head, r.choices), 80_000, "int").peak_bytes == r.peak_bytes


def test_json_round_trips_and_compiles(pd_head: Graph, tmp_path: Path) -> None:
    budget = 96 * 1024
    contrib = synthetic_contribution(pd_head, last_n=4)
    best, results = search(pd_head, contrib, budget, "both", seed=0, population=10, generations=4)
    doc = scheme_document(pd_head, best, results, budget, Path("person_detect.tflite"), contrib, "both")
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    sch = load_scheme(pd_head, path)
    assert {i: (u.bias, u.k) for i, u in sch.layers.items()} == {
        i: (u.bias, u.k) for i, u in build_scheme(pd_head, best.choices).layers.items() if u.bias or u.k
    }
    for mode in ("int", "fp32"):
        assert compile_model(pd_head, sch, budget, mode).peak_bytes <= budget


def test_head_only_over_budget_is_refused(pd_head: Graph) -> None:
    with pytest.raises(ValueError, match="head-only peak"):
        search(pd_head, synthetic_contribution(pd_head, last_n=2), 10_000)
