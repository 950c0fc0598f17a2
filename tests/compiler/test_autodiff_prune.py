"""Autodiff, pruning, reordering and liveness on the person-detection model and on a residual toy graph."""

from __future__ import annotations

import pytest

from mcutrain.compiler.autodiff import build_training_graph
from mcutrain.compiler.compile import CompileResult, compile_model
from mcutrain.compiler.liveness import check_placement
from mcutrain.compiler.prune import prune
from mcutrain.compiler.reorder import weight_grads_alive_together
from mcutrain.compiler.scheme import resolve_scheme
from mcutrain.ir import Graph

SCHEMES = ("full", "last-layer", "bias-only", "sparse")


@pytest.fixture(scope="module")
def results(pd_graph: Graph) -> dict[tuple[str, str, bool], CompileResult]:
    return {
        (s, m, r): compile_model(pd_graph, s, None, m, reorder=r)
        for s in SCHEMES
        for m in ("fp32", "int")
        for r in (False, True)
    }


def test_scheme_ordering(results: dict) -> None:
    for m in ("fp32", "int"):
        for r in (False, True):
            full, last, sparse = (results[(s, m, r)].peak_bytes for s in ("full", "last-layer", "sparse"))
            assert full > last
            assert sparse < full


def test_reordering_strictly_lowers_peak(results: dict) -> None:
    for s in ("full", "sparse"):
        for m in ("fp32", "int"):
            assert results[(s, m, True)].peak_bytes < results[(s, m, False)].peak_bytes
            assert weight_grads_alive_together(results[(s, m, True)].train) == 1
            assert weight_grads_alive_together(results[(s, m, False)].train) > 1


def test_bias_only_keeps_no_weight_gradients(results: dict) -> None:
    for m in ("fp32", "int"):
        tg = results[("bias-only", m, True)].train
        assert not tg.steps_of("GRAD_WEIGHT")
        assert not any(b.startswith(("gw:", "w:")) for b in tg.buffers)
        assert len(tg.steps_of("GRAD_BIAS")) == 28


def test_peak_at_least_lower_bound_and_no_overlap(results: dict) -> None:
    for r in results.values():
        assert r.peak_bytes >= r.lower_bound_bytes > 0
        assert r.ratio >= 1.0
        check_placement(r.lives, r.placement.offsets)
        assert r.rows[-1].arena_peak == r.peak_bytes


def test_pruning_removes_input_gradients_below_lowest_updated(pd_graph: Graph) -> None:
    for name in ("last-layer", "sparse"):
        s = resolve_scheme(pd_graph, name)
        low = s.lowest_updated()
        naive = build_training_graph(pd_graph, s)
        pruned, stats = prune(naive)
        assert any(st.kind == "GRAD_INPUT" and st.op < low for st in naive.steps)
        assert not any(st.kind == "GRAD_INPUT" and st.op <= low for st in pruned.steps)
        assert not any(st.is_backward and 0 <= st.op < low for st in pruned.steps)
        assert stats.removed["GRAD_INPUT"] > 0
        frozen = {i for i in range(len(pd_graph.ops)) if i not in s.layers or not s.layers[i].k}
        assert not any(st.kind == "GRAD_WEIGHT" and st.op in frozen for st in pruned.steps)
        assert not any(st.op == 30 for st in pruned.steps)  # the SOFTMAX head: the loss computes its own


def test_frozen_layers_keep_no_activations(results: dict, pd_graph: Graph) -> None:
    r = results[("last-layer", "fp32", True)]
    loss_at = next(i for i, s in enumerate(r.train.steps) if s.kind == "LOSS")
    kept = {b.name for b in r.lives if b.kind in ("activation", "mask") and b.last_use > loss_at}
    # Only the classifier's own: its input (for the weight gradient) and its output clamp mask.
    assert kept == {f"x:{pd_graph.ops[28].inputs[0]}", f"mask:{pd_graph.ops[28].outputs[0]}"}
    r = results[("sparse", "fp32", True)]
    low = r.scheme.lowest_updated()
    loss_at = next(i for i, s in enumerate(r.train.steps) if s.kind == "LOSS")
    for b in r.lives:
        if b.kind == "activation" and b.last_use > loss_at:
            t = r.train.buffers[b.name].tensor
            assert pd_graph.producer(t) >= low - 1


def test_update_after_old_weights_are_read(results: dict) -> None:
    for (_, _, reorder), r in results.items():
        pos = {s.name: i for i, s in enumerate(r.train.steps)}
        for s in r.train.steps_of("UPDATE"):
            for dep in (f"gin:{s.op}", f"gw:{s.op}", f"gb:{s.op}"):
                if dep in pos:
                    assert pos[dep] < pos[s.name]
            if reorder:
                assert r.train.steps[pos[s.name] - 1].op == s.op


def test_gradient_sizes_by_mode(pd_graph: Graph) -> None:
    f = compile_model(pd_graph, "last-layer", mode="fp32").train.buffers
    i = compile_model(pd_graph, "last-layer", mode="int").train.buffers
    assert f["gw:28"].nbytes == 2 * 256 * 4 and i["gw:28"].nbytes == 2 * 256 * 4  # int32 accumulators
    g = next(n for n in f if n.startswith("g:") and f[n].tensor == pd_graph.ops[28].outputs[0])
    assert f[g].nbytes == 2 * 4 and i[g].nbytes == 2 * 2  # int16 activation gradients


def test_flash_and_sram_params(results: dict) -> None:
    full = results[("full", "fp32", True)]
    last = results[("last-layer", "fp32", True)]
    assert full.sram_param_bytes > 200_000 and last.sram_param_bytes == 2 * 256 + 2 * 4
    assert full.flash_bytes == last.flash_bytes > 200_000  # every parameter's initial value sits in flash


def test_toy_residual_graph(toy: Graph) -> None:
    r = compile_model(toy, "full", mode="int")
    kinds = {s.kind for s in r.train.steps}
    assert {"ADD_GRAD", "PAD_GRAD", "MAX_POOL_2D_GRAD", "MEAN_GRAD", "ACT_GRAD", "LOSS"} <= kinds
    assert any("accumulate" in s.attrs for s in r.train.steps)  # the residual input gets two contributions
    pool = next(s for s in r.train.steps if s.kind == "MAX_POOL_2D_GRAD")
    assert any(b.startswith("x:") for b in pool.reads)
    check_placement(r.lives, r.placement.offsets)
    for name in SCHEMES:
        for m in ("fp32", "int"):
            rr = compile_model(toy, name, mode=m)
            assert rr.peak_bytes >= rr.lower_bound_bytes


def test_accumulator_costs_sram(pd_graph: Graph) -> None:
    a = compile_model(pd_graph, "last-layer", accumulator=True)
    b = compile_model(pd_graph, "last-layer")
    assert a.sram_param_bytes - b.sram_param_bytes == 2 * 256 * 2
