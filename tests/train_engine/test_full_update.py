"""Full update of the project model (mcunet_s_person_96x96x1, 32 updated layers): its training program lists
more than MCT_MAX_STATE (64) learned tensors, so the emitter joins the ones that touch in the arena into one
state region each; the program loads and trains bit for bit like the golden."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from helpers import build, run_both

from mcutrain import hostlib
from mcutrain.compiler import emit_train
from mcutrain.compiler.emit_train import EmitError, TrainConfig, merge_regions
from mcutrain.ir import Graph
from mcutrain.paths import MODELS
from mcutrain.tflite_import import load_tflite
from mcutrain.transfer import replace_head

PROJECT = MODELS / "mcunet_s_person_96x96x1.tflite"


@pytest.fixture(scope="module")
def project() -> Graph:
    if not PROJECT.exists():
        pytest.skip(f"no model at {PROJECT}")
    return replace_head(load_tflite(PROJECT), 2, seed=0)


def n_state(blob: bytes) -> int:
    return int(struct.unpack_from("<H", blob, struct.unpack_from("<I", blob, 52)[0] + 2)[0])


def test_merge_regions() -> None:
    assert merge_regions([(8, 4), (0, 8), (16, 4), (20, 2)]) == [(0, 12), (16, 6)]
    assert merge_regions([]) == []


@pytest.mark.parametrize("mode", ["int", "fp32"])
def test_full_update_program_loads(project: Graph, mode: str) -> None:
    _, prog = build(project, "full", mode, TrainConfig())
    assert hostlib.check_program(prog.blob) == 0
    assert n_state(prog.blob) == len(prog.state) <= emit_train.MAX_STATE
    assert all(a + n < b for (a, n), (b, _) in zip(prog.state, prog.state[1:], strict=False))  # joined, sorted
    hostlib.Trainer(prog.blob)


def test_full_update_two_steps_match_golden(project: Graph) -> None:
    rng = np.random.default_rng(4)
    data = [(rng.integers(-128, 128, (1, 96, 96, 1)).astype(np.int8), int(rng.integers(0, 2))) for _ in range(2)]
    c, g, cp, gp, prog = run_both(project, "full", "int", TrainConfig(lr=0.05, rounding="stochastic", seed=1), data)
    assert [p for _, p in c] == [p for _, p in g]
    np.testing.assert_allclose([v for v, _ in c], [v for v, _ in g], rtol=2e-6, atol=1e-6)
    assert len(cp) == 64 and cp.keys() == gp.keys()  # weights and biases of all 32 layers
    for k in cp:
        np.testing.assert_array_equal(cp[k], gp[k].reshape(cp[k].shape), err_msg=k)


def test_emitter_refuses_too_many_state_regions(project: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the loader would refuse (n_state > MCT_MAX_STATE: status 11, no op named) fails in the emitter."""
    _, prog = build(project, "full", "int", TrainConfig())
    monkeypatch.setattr(emit_train, "MAX_STATE", len(prog.state) - 1)
    with pytest.raises(EmitError, match=r"^training section: \d+ learned-state regions .* at most \d+$"):
        build(project, "full", "int", TrainConfig())
