"""Training on the board (QEMU by default, --port for a real one) against the same firmware built for
the host (board/host.c, a child process speaking the link): identical loss, prediction and learned
state step by step, and checkpoints that survive a reset."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))

from mcutrain.device import protocol as proto  # noqa: E402
from mcutrain.device.client import DeviceTarget  # noqa: E402

hil = pytest.mark.hil
STEPS = 4


def training_program(seed: int = 0) -> tuple[bytes, tuple[int, ...], int]:
    """(program blob, input shape, classes) of a small training program; the one place that knows
    how the training compiler is called."""
    from small_models import conv_net

    from mcutrain.compiler.compile import compile_model
    from mcutrain.compiler.emit_train import TrainConfig, emit_training

    g = conv_net(seed)
    prog = emit_training(compile_model(g, "full", mode="int"), TrainConfig(lr=0.05, seed=seed + 1))
    shape = tuple(g.tensors[g.inputs[0]].shape)
    classes = int(np.prod(g.tensors[g.outputs[0]].shape))
    return prog.blob, shape, classes


@pytest.fixture
def train_prog() -> tuple[bytes, tuple[int, ...], int]:
    return training_program(seed=0)


@pytest.fixture
def host_fw(train_prog: Any) -> Any:
    dev = DeviceTarget.host_build()
    yield dev
    dev.close()


@hil
def test_train_matches_host_build_and_checkpoints_survive_reset(
    train_prog: tuple[bytes, tuple[int, ...], int], host_fw: DeviceTarget, device_factory: Any
) -> None:
    blob, shape, classes = train_prog
    dev: DeviceTarget = device_factory(blob if len(blob) > 16 * 1024 - 16 else None)
    if dev.model_id != int.from_bytes(blob[12:16], "little"):
        dev.load_program(blob)
    host_fw.load_program(blob)
    rng = np.random.default_rng(0)
    for step in range(STEPS):
        x = rng.integers(-128, 128, shape, dtype=np.int8)
        label = int(rng.integers(classes))
        a, b = dev.train_step(x, label), host_fw.train_step(x, label)
        assert np.float32(a.loss).tobytes() == np.float32(b.loss).tobytes(), f"step {step}: {a.loss} != {b.loss}"
        assert a.predicted == b.predicted
        print(f"\nstep {step}: loss {a.loss:.5f}, predicted {a.predicted}, {a.instructions:,} instr. ({dev.board})")
    # Same learned state: the checkpoints carry a CRC of it.
    dev.checkpoint()
    host_fw.checkpoint()
    saved, ref = dev.last_checkpoint, host_fw.last_checkpoint
    assert saved is not None and ref is not None
    assert (saved.size, saved.crc32, saved.steps) == (ref.size, ref.crc32, STEPS)
    stats = dev.stats()
    print(
        f"train step: {stats['instructions_mean_step']:,} instructions mean; arena high-water "
        f"{stats['peak_arena_bytes']:,} / {stats['planned_arena_bytes']:,} B planned; "
        f"stack {stats['peak_stack_bytes']:,} B"
    )
    assert stats["steps"] == STEPS and 0 < stats["peak_arena_bytes"] <= stats["planned_arena_bytes"]
    slot = dev.info().checkpoint_slot

    # Reset: the board restores the newest valid checkpoint by itself.
    boot = dev.reboot()
    assert boot.checkpoint_slot == slot
    # An AUTO save never overwrites the newest valid checkpoint, so this one goes to the other
    # slot: both slots hold the trained state now.
    dev.checkpoint()
    assert dev.last_checkpoint is not None and dev.last_checkpoint.crc32 == saved.crc32
    trained_slot = dev.info().checkpoint_slot
    assert trained_slot != slot

    # Initial weights back and saved: that save overwrites the older slot (`slot`), so the
    # trained state is now only in `trained_slot`. Restoring it gives the trained weights again.
    dev.reset_training()
    dev.checkpoint()
    assert dev.last_checkpoint is not None and dev.last_checkpoint.crc32 != saved.crc32
    assert dev.info().checkpoint_slot == slot
    restored = dev.restore(proto.CheckpointSlot(trained_slot))
    assert (restored.crc32, restored.steps) == (saved.crc32, STEPS)
    dev.checkpoint()
    assert dev.last_checkpoint is not None and dev.last_checkpoint.crc32 == saved.crc32


PROJECT_MODEL = Path(__file__).resolve().parents[2] / "models" / "mcunet_s_person_96x96x1.tflite"
PROJECT_SCHEME = PROJECT_MODEL.parent / "schemes" / "mcunet_s_person_96x96x1-96K.json"
PROJECT_STATE_BYTES = 19_324  # learned state of that program: what a checkpoint slot must hold


def project_training_program() -> bytes:
    """The project's real training program, built as `mcutrain train` builds it: person-detection
    MCUNet with a fresh 2-class head, the shipped 96K sparse scheme within the emulated board's arena
    (112 KB), integer gradients, lr 0.05."""
    from mcutrain.compiler.compile import compile_model
    from mcutrain.compiler.emit_train import TrainConfig, emit_training
    from mcutrain.tflite_import import load_tflite
    from mcutrain.transfer import replace_head

    graph = replace_head(load_tflite(PROJECT_MODEL), 2, seed=0)
    result = compile_model(graph, str(PROJECT_SCHEME), 112 * 1024, "int")
    return emit_training(result, TrainConfig(lr=0.05, seed=1)).blob


@hil
@pytest.mark.skipif(not PROJECT_SCHEME.exists(), reason="project model/scheme not present")
def test_project_program_checkpoint_survives_reboot(device_factory: Any) -> None:
    """The real program (too big to upload: preloaded into flash) trains 2 steps, its whole learned
    state (19,324 B) fits a checkpoint slot, and after a reboot the board restores exactly that state."""
    from mcutrain import hostlib

    blob = project_training_program()
    assert hostlib.check_program(blob) == 0, "the engine refuses the project's training program"
    dev: DeviceTarget = device_factory(blob)
    assert dev.model_id == int.from_bytes(blob[12:16], "little")
    assert dev.info().checkpoint_slot == proto.CheckpointSlot.AUTO  # erased flash: initial weights

    # The initial weights first (steps 0), so a reboot that restored nothing would be seen.
    dev.checkpoint()
    initial = dev.last_checkpoint
    assert initial is not None and (initial.size, initial.steps) == (PROJECT_STATE_BYTES, 0)

    x = np.random.default_rng(3).integers(-128, 128, (1, 96, 96, 1), dtype=np.int8)
    dev.sample(x, 1)
    r = dev.train(2)
    assert np.isfinite(r.loss) and r.predicted in (0, 1)
    print(f"\nproject program on {dev.board}: {len(blob):,} B, {dev.instructions(r.cycles):,} instr. for 2 steps")
    where = dev.checkpoint()
    saved = dev.last_checkpoint
    assert saved is not None and (saved.size, saved.steps) == (PROJECT_STATE_BYTES, 2), where
    assert saved.crc32 != initial.crc32
    slot = dev.info().checkpoint_slot
    assert slot in (proto.CheckpointSlot.A, proto.CheckpointSlot.B)

    boot = dev.reboot()
    assert boot.checkpoint_slot == slot and dev.info().checkpoint_slot == slot
    dev.checkpoint()  # its reply carries the CRC of the state in RAM; goes to the other slot
    again = dev.last_checkpoint
    assert again is not None and (again.size, again.crc32, again.steps) == (saved.size, saved.crc32, 2)
    assert dev.info().checkpoint_slot != slot
    restored = dev.restore(proto.CheckpointSlot(slot))
    assert (restored.size, restored.crc32, restored.steps) == (saved.size, saved.crc32, 2)
