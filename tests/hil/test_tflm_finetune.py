"""TFLite Micro's own person-detection model, fine-tuned on the board: imported, compiled with its shipped sparse
scheme and a fresh 2-class head, trained on real 96x96 face / non-face images on the emulated board; the board's
losses, predictions and learned state equal those of the same firmware built for the host. (The 64K scheme: the
96K one's 26,124 B of learned state is more than a 24 KB checkpoint slot of the emulated board holds.)"""

from __future__ import annotations

from mcutrain.compiler.compile import compile_model
from mcutrain.compiler.emit_train import TrainConfig, emit_training
from mcutrain.device.client import DeviceTarget
from mcutrain.paths import MODELS, shared_data
from mcutrain.tflite_import import load_tflite
from mcutrain.train_data import load_task
from mcutrain.transfer import replace_head

STEPS = 3


def test_tflm_person_detection_fine_tunes_on_the_board() -> None:
    g = load_tflite(shared_data() / "tflm_person_detection" / "person_detect.tflite")
    task = load_task(g, None, seed=0)
    g = replace_head(g, len(task.classes), seed=0)
    result = compile_model(g, str(MODELS / "schemes" / "person_detect-64K.json"), 114_688, "int")
    prog = emit_training(result, TrainConfig(lr=0.05, seed=1))
    stream = task.stream(0)
    samples = [next(stream) for _ in range(STEPS)]
    with DeviceTarget.qemu(program=prog.blob) as dev, DeviceTarget.host_build() as ref:
        ref.load_program(prog.blob)
        for x, label in samples:
            a, b = dev.train_step(x, label), ref.train_step(x, label)
            assert (a.loss, a.predicted) == (b.loss, b.predicted)
            assert a.instructions > 0
        dev.checkpoint()
        ref.checkpoint()
        assert dev.last_checkpoint is not None and ref.last_checkpoint is not None
        assert (dev.last_checkpoint.crc32, dev.last_checkpoint.steps) == (ref.last_checkpoint.crc32, STEPS)
        stats = dev.stats()
        # The compiler's plan is what the board uses, to the byte (arena painting on the board).
        assert stats["peak_arena_bytes"] == stats["planned_arena_bytes"] == result.peak_bytes
        print(f"\nTFLM person detection, sparse 64K scheme on the board: {stats['instructions_mean_step']:,} "
              f"instructions/step, arena {stats['peak_arena_bytes']:,} B, stack {stats['peak_stack_bytes']:,} B")
