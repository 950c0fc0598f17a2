"""compile_model's numbers, the budget parser and error path, the table, the plot and run_compile."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from mcutrain.compiler.cli_compile import run_compile
from mcutrain.compiler.compile import BudgetError, compile_model
from mcutrain.compiler.report import JSON_KEYS, BudgetParseError, numbers, parse_budget, plot_memory, print_table
from mcutrain.ir import Graph
from mcutrain.paths import shared_data

PD = shared_data() / "tflm_person_detection" / "person_detect.tflite"


@pytest.mark.parametrize(
    ("text", "value"),
    [("128K", 131072), ("256KB", 262144), ("131072", 131072), ("1M", 1048576), ("64 kb", 65536), ("2MB", 2097152)],
)
def test_parse_budget(text: str, value: int) -> None:
    assert parse_budget(text) == value


@pytest.mark.parametrize("text", ["12x", "", "-5", "0", "K", "1.5"])
def test_parse_budget_errors(text: str) -> None:
    with pytest.raises(BudgetParseError):
        parse_budget(text)


def test_numbers_keys(pd_graph: Graph) -> None:
    r = compile_model(pd_graph, "sparse", 256 * 1024, "int")
    d = numbers(r)
    assert tuple(d)[:4] == JSON_KEYS == ("peak_bytes", "lower_bound_bytes", "flash_bytes", "budget_bytes")
    assert d["budget_bytes"] == 262144 and d["peak_bytes"] == r.peak_bytes and d["fits"] is True
    assert json.loads(json.dumps(d)) == d


def test_budget_error(pd_graph: Graph) -> None:
    with pytest.raises(BudgetError) as e:
        compile_model(pd_graph, "sparse", 1024, "fp32")
    msg = str(e.value)
    peak = e.value.result.peak_bytes
    assert msg == (
        f"sparse scheme needs {peak:,} B of arena, budget is 1,024 B: "
        "raise --budget or choose a smaller scheme (mcutrain search)"
    )


def test_table_and_plot(pd_graph: Graph, tmp_path: Path) -> None:
    a = compile_model(pd_graph, "sparse", None, "fp32", reorder=False)
    b = compile_model(pd_graph, "sparse", None, "fp32", reorder=True)
    buf = io.StringIO()
    print_table(b, Console(file=buf, width=160))
    text = buf.getvalue()
    assert "UPDATE" in text and "GRAD_WEIGHT" in text and f"{b.peak_bytes:,}" in text
    png = plot_memory([("before", a), ("after", b)], tmp_path / "m.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_compile_ok_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pd.train"
    assert run_compile(PD, "sparse", "1M", "int", out, json_out=True) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(JSON_KEYS) <= set(d) and d["budget_bytes"] == 1048576
    assert d["peak_bytes_without_reorder"] > d["peak_bytes"]
    assert Path(d["plot"]).exists() and Path(d["schedule"]).exists()
    sched = json.loads(Path(d["schedule"]).read_text())
    assert sched["numbers"]["peak_bytes"] == d["peak_bytes"] and sched["steps"][0]["kind"] == "FORWARD"


def test_run_compile_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_compile(PD, "last-layer", "128K", "fp32", tmp_path / "x.json", json_out=False) == 0
    out = capsys.readouterr().out
    assert "peak arena" in out and "lower bound" in out and "flash" in out


def test_run_compile_over_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_compile(PD, "full", "128K", "fp32", tmp_path / "f.json", json_out=True) == 1
    cap = capsys.readouterr()
    assert json.loads(cap.out)["fits"] is False
    err = cap.err.strip()
    assert err.startswith("mcutrain compile: full scheme needs ") and "budget is 131,072 B" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "f.json").exists()  # no schedule for a program that does not fit


@pytest.mark.parametrize(
    ("scheme", "budget", "needle"),
    [("nope", "128K", "unknown scheme 'nope'"), ("sparse", "12x", "cannot read budget '12x'")],
)
def test_run_compile_bad_input(scheme: str, budget: str, needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_compile(PD, scheme, budget, "fp32", None, json_out=True) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_run_compile_bad_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"garbage!")
    assert run_compile(bad, "sparse", "128K", "fp32", None, json_out=False) == 2
    assert "not a TFLite flatbuffer" in capsys.readouterr().err
