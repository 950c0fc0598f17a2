"""Contribution analysis on a tiny configuration, its cache, and the `mcutrain search` entry point."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from mcutrain.compiler.compile import compile_model
from mcutrain.compiler.scheme import load_scheme
from mcutrain.ir import Graph
from mcutrain.sparse import contribution
from mcutrain.sparse.cli_search import run_search
from mcutrain.sparse.contribution import ContribConfig, analyse
from mcutrain.sparse.task import TaskData, person_data, prefix_cache, prefix_tensors

TINY = ContribConfig(last_n=2, steps=6, repeats=1)


@pytest.fixture(scope="module")
def tiny_data(pd_graph: Graph) -> TaskData:
    d = person_data(pd_graph)
    fit = np.r_[0:6, -6:0]  # both classes (labels are sorted by source: faces, non-faces, crops)
    return TaskData("tiny", 2, d.fit_x[fit], d.fit_y[fit], d.val_x[[0, 1, -2, -1]], d.val_y[[0, 1, -2, -1]])


def test_prefix_cache_resumes_forward(pd_graph: Graph, tiny_data: TaskData) -> None:
    from mcutrain.golden.forward import forward

    start = 24
    cache = prefix_cache(pd_graph, tiny_data.val_x[:1], start)[0]
    assert sorted(cache) == prefix_tensors(pd_graph, start)
    full = forward(pd_graph, tiny_data.val_x[:1])
    resumed = forward(pd_graph, cache, start_op=start)
    out = pd_graph.outputs[0]
    np.testing.assert_array_equal(full[out], resumed[out])


def test_tiny_analysis_is_finite_and_cached(pd_graph: Graph, tiny_data: TaskData, tmp_path: Path) -> None:
    c = analyse(pd_graph, tiny_data, TINY, cache_dir=tmp_path)
    assert c.layers == [25, 26]
    assert len(c.options) == 2 * 5  # bias + 4 weight ratios per layer
    for o in c.options:
        assert all(math.isfinite(v) for v in (o.acc_gain_pp, o.loss_delta, o.score))
        assert o.peak_bytes >= c.head_peak_bytes - 4096 and o.cost_bytes == o.peak_bytes - c.head_peak_bytes
    again = analyse(pd_graph, tiny_data, TINY, cache_dir=tmp_path)
    assert again.cached and [o.score for o in again.options] == [o.score for o in c.options]


def test_run_search_writes_a_scheme_that_compiles(pd_path: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(contribution, "CACHE_DIR", tmp_path / "cache")
    out = tmp_path / "pd-64K.json"
    assert run_search(pd_path, "64K", out=out, steps=4, last_n=1, repeats=1, generations=2) == 0
    doc = json.loads(out.read_text())
    assert doc["budget_bytes"] == 65536
    from mcutrain.tflite_import import load_tflite

    g = load_tflite(pd_path)
    assert compile_model(g, load_scheme(g, out), 65536, "int").peak_bytes <= 65536
    assert "chosen:" in capsys.readouterr().out


def test_run_search_too_small_budget(pd_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_search(pd_path, "40K", steps=4, last_n=1, repeats=1) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "raise --budget to at least" in err


def test_run_search_bad_inputs(pd_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_search(pd_path, "lots", steps=4) == 2
    assert run_search(pd_path, "64K", data_dir=tmp_path / "nope", steps=4) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(e.startswith("mcutrain search: ") for e in err)
