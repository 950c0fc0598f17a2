"""HostTarget drives a session like a device would."""

from __future__ import annotations

import numpy as np
from helpers import toy

from mcutrain.compiler.emit_train import TrainConfig
from mcutrain.compiler.scheme import LayerUpdate, Scheme
from mcutrain.session import RunConfig, run
from mcutrain.targets.host import HostTarget


def test_session_on_host_target(tmp_path) -> None:
    sch = Scheme("toy", {7: LayerUpdate(7, True, 3), 1: LayerUpdate(1, True, 0)})
    target = HostTarget.from_model(toy(), sch, "int", TrainConfig(lr=0.05), checkpoint_dir=tmp_path / "ckpt")
    rng = np.random.default_rng(0)
    xs = rng.integers(-128, 128, (12, 1, 8, 8, 4)).astype(np.int8)
    ys = rng.integers(0, 3, 12)
    summary = run(target, iter(zip(xs, ys.tolist(), strict=True)), (xs[:4], ys[:4]),
                  RunConfig(samples=12, eval_every=6, run_dir=tmp_path / "run"))
    assert summary["samples"] == 12 and summary["peak_arena_bytes"] == target.trainer.arena_size
    st = target.stats()
    assert st["peak_stack_bytes"] == 0 and st["measured"] is False
    saved = (tmp_path / "ckpt" / "host-state.bin").read_bytes()
    assert saved == target.trainer.state()
    target.trainer.reset()
    target.restore(tmp_path / "ckpt" / "host-state.bin")
    assert target.trainer.state() == saved
