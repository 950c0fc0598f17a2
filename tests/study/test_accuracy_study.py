"""The accuracy study's quick mode runs end to end and produces sane numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from mcutrain.study import accuracy  # noqa: E402


def test_variants_cover_the_study() -> None:
    keys = {v.key for v in accuracy.variants()}
    assert "fp32-full" in keys
    for mode in ("fp32", "int"):
        for k in ("full-noqas", "full-qas", "last-layer", "bias-only", "sparse-96K", "sparse-112K", "sparse-128K"):
            assert f"int8-{k}/{mode}" in keys
    for v in accuracy.variants():
        if v.scheme.endswith(".json"):
            assert Path(v.scheme_arg()).is_file(), v.scheme
    assert set(accuracy.QUICK_KEYS) <= keys


def test_eval_points() -> None:
    assert accuracy._eval_points(300, 3) == [0, 100, 200, 300]
    assert accuracy._eval_points(80, 1) == [0, 80]


@pytest.mark.slow
def test_quick_mode_runs_and_is_sane(tmp_path: Path) -> None:
    stem = tmp_path / "quick"
    assert accuracy.main(["--quick", "--workers", "1", "--out", str(stem)]) == 0
    d = json.loads(stem.with_suffix(".json").read_text())
    md = stem.with_suffix(".md").read_text()
    assert {r["key"] for r in d["rows"]} == set(accuracy.QUICK_KEYS)
    assert d["steps"] == 80 and d["seeds"] == [0] and d["heldout_images"] == 70
    for r in d["rows"]:
        assert 0.0 <= r["final_mean"] <= 1.0 and r["final_std"] == 0.0
        assert r["best_mean"] >= r["final_mean"] - 1e-9  # best-of-run includes the final evaluation
        assert r["final_loss_mean"] == pytest.approx(r["final_loss_mean"])  # not NaN
        assert r["final_loss_mean"] < 2.0
        if r["engine"] == "int8":
            assert 50_000 < r["peak_bytes"] <= accuracy.F746_ARENA_BYTES
        else:
            assert r["peak_bytes"] is None
    # Something was learned: at least one method beats the majority class (40 of 70 held-out images).
    assert max(r["final_mean"] for r in d["rows"]) > 40 / 70 + 1e-9
    assert "| method |" in md and "python -m mcutrain.study.accuracy --quick" in md
