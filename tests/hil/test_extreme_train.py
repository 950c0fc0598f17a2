"""Extreme learning rates and labels on the board (QEMU by default): a label outside the classes is refused
(BAD_ARG) with the state untouched, a non-finite loss is reported as STATUS_NUMERIC with a one-line
DeviceError and the weights unchanged, the largest accepted lr trains with finite losses, and a normal
step works after each refusal. docs/reliability.md, "Extreme learning rates and labels"."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train_engine"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))

from mcutrain.compiler import emit_train  # noqa: E402
from mcutrain.device.client import DeviceError, DeviceTarget  # noqa: E402

hil = pytest.mark.hil


def _board(device_factory: Any, blob: bytes) -> DeviceTarget:
    return device_factory(blob)  # preloaded into flash: fp32 programs exceed the upload capacity


@hil
@pytest.mark.parametrize("mode", ["fp32", "int"])
def test_extreme_lr_and_labels_on_board(device_factory: Any, mode: str) -> None:
    from test_extreme import OP_SOFTMAX_XENT, program, samples, with_param

    xs = samples(3)
    dev = _board(device_factory, program(mode, emit_train.LR_MAX))
    dev.checkpoint()
    before = dev.last_checkpoint
    assert before is not None
    n = len(dev.infer(xs[0][0]))
    for bad in (n, 255, 0xFFFE):
        with pytest.raises(DeviceError, match="(SAMPLE|TRAIN) refused: bad argument"):
            dev.sample(xs[0][0], bad)  # the board refuses the label when it is staged
            dev.train(1)
    dev.checkpoint()
    assert dev.last_checkpoint is not None and dev.last_checkpoint.crc32 == before.crc32
    for x, y in xs:
        r = dev.train_step(x, y)
        assert np.isfinite(r.loss) and 0.0 <= r.loss <= 69.08
    assert dev.stats()["steps"] == len(xs)

    # A program whose loss is NaN (corrupted loss scale): the board says so, nothing changes.
    dev = _board(device_factory, with_param(program(mode, 0.05), OP_SOFTMAX_XENT, 1, float("nan")))
    dev.checkpoint()
    before = dev.last_checkpoint
    dev.sample(xs[0][0], xs[0][1])
    with pytest.raises(DeviceError) as e:
        dev.train(1)
    msg = str(e.value)
    assert "non-finite loss (lr too large?): weights unchanged" in msg and "\n" not in msg
    dev.checkpoint()
    assert before is not None and dev.last_checkpoint is not None
    assert (dev.last_checkpoint.crc32, dev.last_checkpoint.steps) == (before.crc32, before.steps)

    # And a normal program trains again on the same board.
    dev = _board(device_factory, program(mode, 0.05))
    r = dev.train_step(*xs[1])
    assert np.isfinite(r.loss)
