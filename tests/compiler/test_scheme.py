"""Update schemes: the named ones on the person-detection model, and JSON validation errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcutrain.compiler.scheme import (
    SchemeError,
    load_scheme,
    out_channels,
    resolve_scheme,
    scheme_from_dict,
    weighted_ops,
)
from mcutrain.ir import Graph


def test_named_schemes(pd_graph: Graph) -> None:
    w = weighted_ops(pd_graph)
    assert len(w) == 28
    full = resolve_scheme(pd_graph, "full")
    assert all(full.layers[i].k == out_channels(pd_graph, pd_graph.ops[i]) and full.layers[i].bias for i in w)
    last = resolve_scheme(pd_graph, "last-layer")
    assert last.updated_ops() == [28] and last.layers[28].k == 2
    bias = resolve_scheme(pd_graph, "bias-only")
    assert all(u.k == 0 and u.bias for u in bias.layers.values()) and bias.lowest_updated() == 0
    sparse = resolve_scheme(pd_graph, "sparse")
    ks = {i: u.k for i, u in sparse.layers.items() if u.k}
    assert 28 in ks and 2 <= len(ks) <= 4
    assert any(k < out_channels(pd_graph, pd_graph.ops[i]) for i, k in ks.items())
    assert sparse.lowest_updated() > 0
    assert sparse.to_golden()[28] == {"bias": True, "weight_channels": 2}


def test_json_scheme_by_name_suffix_index_ratio(pd_graph: Graph, tmp_path: Path) -> None:
    p = tmp_path / "mine.json"
    rows = [
        {"layer": "Conv2d_13_pointwise/Relu6", "bias": True, "ratio": 0.25},
        {"layer": 28, "bias": True, "k": "all"},
        {"layer": pd_graph.ops[24].name, "k": 3},
    ]
    p.write_text(json.dumps({"name": "mine", "layers": rows}))
    s = load_scheme(pd_graph, p)
    assert s.name == "mine"
    assert (s.layers[26].k, s.layers[26].bias) == (64, True)
    assert s.layers[28].k == 2
    assert (s.layers[24].k, s.layers[24].bias) == (3, False)
    assert resolve_scheme(pd_graph, str(p)).layers.keys() == s.layers.keys()


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([{"layer": "NoSuchLayer"}], "unknown layer 'NoSuchLayer'"),
        ([{"layer": 99}], "unknown layer 99"),
        ([{"layer": 28, "k": 3}], "k=3 > C_out=2"),
        ([{"layer": 29, "bias": True}], "RESHAPE, which has no weights"),
        ([{"layer": 27}], "AVERAGE_POOL_2D, which has no weights"),
        ([{"layer": 28, "k": -1}], "'k' must be"),
        ([{"layer": 28, "ratio": 1.5}], "'ratio' must be"),
        ([{"layer": 28, "k": 1, "ratio": 0.5}], "either 'k' or 'ratio'"),
        ([{"layer": 28, "chanels": 1}], "unknown key 'chanels'"),
        ([{"layer": 28}, {"layer": 28}], "a second time"),
        ([{"bias": True}], "'layer'"),
    ],
)
def test_json_validation_errors(pd_graph: Graph, rows: list, needle: str) -> None:
    with pytest.raises(SchemeError) as e:
        scheme_from_dict(pd_graph, {"layers": rows}, "s.json")
    msg = str(e.value)
    assert needle in msg and "\n" not in msg and msg.startswith("s.json: layers[")


def test_bad_files_and_names(pd_graph: Graph, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(SchemeError, match="not valid JSON"):
        resolve_scheme(pd_graph, str(bad))
    with pytest.raises(SchemeError, match="cannot read scheme file"):
        resolve_scheme(pd_graph, str(tmp_path / "missing.json"))
    with pytest.raises(SchemeError, match="unknown scheme 'sprase'"):
        resolve_scheme(pd_graph, "sprase")
    with pytest.raises(SchemeError, match="'layers' list"):
        scheme_from_dict(pd_graph, {"name": "x"})
