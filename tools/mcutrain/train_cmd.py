"""`mcutrain train`: compile the model for on-device training, put it on the target, stream samples, report.

model (.tflite) -> IR -> compiled training schedule (scheme, budget = the target's arena) -> program bytes ->
target (host build, emulated board or real board) -> session (stream, evaluate, log, plot).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .boards import Board, BoardError, board
from .paths import MODELS, ROOT

DEFAULT_MODEL = MODELS / "mcunet_s_person_96x96x1.tflite"
HOST_ARENA_BYTES = 256 * 1024


class TrainCmdError(Exception):
    """One-line user error."""


@dataclass
class TrainArgs:
    model: str | None
    scheme: str | None
    data: str | None
    target: str
    samples: int
    seed: int
    json: bool
    mode: str
    lr: float
    eval_every: int | None
    run_dir: str | None
    live: bool
    head: str = "new"
    board: str = "qemu_f405"
    camera: str | None = None
    camera_label: str = "teacher"
    fast: bool = False  # flash: the board's full-clock build


@dataclass
class Prepared:
    model: Path
    scheme: str
    task: Any  # train_data.TaskData
    result: Any  # compiler.compile.CompileResult
    program: Any  # compiler.emit_train.TrainProgram

    def describe(self, mode: str, target: str) -> str:
        return (
            f"model {self.model.name}, scheme {Path(self.scheme).stem} ({mode} gradients), arena plan "
            f"{self.result.peak_bytes:,} B, program {len(self.program.blob):,} B; data: {self.task.name}, "
            f"{len(self.task.train_labels)} train / {len(self.task.heldout_y)} held-out images; target {target}"
        )


def shipped_schemes(model: Path, arena_bytes: int) -> list[str]:
    """The model's shipped sparse schemes whose budget fits the arena, largest budget first."""
    found = []
    for f in (MODELS / "schemes").glob(f"{model.stem}-*K.json"):
        kb = int(f.stem.rsplit("-", 1)[1][:-1])
        if kb * 1024 <= arena_bytes:
            found.append((kb, str(f)))
    return [f for _, f in sorted(found, reverse=True)]


def default_scheme(model: Path, arena_bytes: int) -> str:
    """The model's shipped sparse scheme with the largest budget that fits the arena, else `sparse`."""
    found = shipped_schemes(model, arena_bytes)
    return found[0] if found else "sparse"


def _open_target(target: str, blob: bytes) -> Any:
    from .device.client import DeviceTarget, program_model_id

    if target == "qemu":
        return DeviceTarget.qemu(program=blob)
    dev = DeviceTarget.serial(target)
    if dev.model_id != program_model_id(blob):  # `flash` put it there already: keep what it learned
        dev.load_program(blob)
    return dev


def board_for(a: TrainArgs) -> Board:
    """The board behind the target: the emulated one for `qemu`, else --board."""
    try:
        return board("qemu_f405" if a.target == "qemu" else a.board)
    except BoardError as e:
        raise TrainCmdError(str(e)) from None


def arena_for(a: TrainArgs) -> int:
    """The budget the schedule must fit: APP_ARENA_BYTES of the board's firmware build."""
    if a.target == "host":
        return HOST_ARENA_BYTES
    b = board_for(a)
    try:
        return b.arena_bytes
    except (BoardError, OSError, ValueError) as e:
        raise TrainCmdError(f"{b.name}: {e}") from None


def prepare(a: TrainArgs) -> Prepared:
    """Model -> IR (fresh head for the data's classes) -> compiled schedule within the board's arena -> program."""
    from .compiler.compile import BudgetError, compile_model
    from .compiler.emit_train import TrainConfig, emit_training
    from .compiler.scheme import SchemeError
    from .tflite_import import ModelError, load_tflite
    from .train_data import load_task

    model = Path(a.model) if a.model else DEFAULT_MODEL
    arena = arena_for(a)
    scheme = a.scheme or default_scheme(model, arena)
    try:
        graph = load_tflite(model)
        task = load_task(graph, a.data, a.seed)
        if a.head == "new":
            # A classifier made for training: one output per class, int8 weights with room to grow 4x and
            # logits quantized over +-8, so they neither saturate nor stall the gradient as they grow.
            from .transfer import replace_head

            graph = replace_head(graph, len(task.classes), seed=a.seed)
        n_out = graph.tensors[graph.outputs[0]].shape[-1]
        if n_out != len(task.classes):
            raise TrainCmdError(
                f"{model.name} has {n_out} outputs but the data has {len(task.classes)} classes "
                f"({', '.join(task.classes)}): use --head new or a model whose head matches"
            )
        budget = None if a.target == "host" else arena
        cfg = TrainConfig(lr=a.lr, seed=a.seed + 1)
        if a.scheme is None and a.target != "host":
            # The largest shipped scheme whose learned state also fits a checkpoint slot of the board, so
            # what the device learns can be saved.
            slot = board_for(a).checkpoint_state_bytes
            for candidate in shipped_schemes(model, arena):
                result = compile_model(graph, candidate, budget, a.mode)
                program = emit_training(result, cfg)
                if sum(n for _, n in program.state) <= slot:
                    return Prepared(model, candidate, task, result, program)
        result = compile_model(graph, scheme, budget, a.mode)
    except (ModelError, SchemeError, BudgetError, ValueError, OSError) as e:
        raise TrainCmdError(str(e).splitlines()[0]) from None
    program = emit_training(result, cfg)
    return Prepared(model, scheme, task, result, program)


def run_flash(a: TrainArgs) -> int:
    """Build the firmware and put it with the compiled training program on the board.

    On the emulated board nothing persists between runs: the image is checked by booting it once, and
    `train` boots it again with the program in flash."""
    from .build import BuildError, build
    from .device.flash import FlashError, flash

    prep = prepare(a)
    print(prep.describe(a.mode, a.target), file=sys.stderr)
    try:
        elf = build(board_for(a).env_for(a.fast))
        if a.target == "qemu":
            from .device.client import DeviceTarget, program_model_id

            with DeviceTarget.qemu(elf, program=prep.program.blob) as dev:
                if dev.model_id != program_model_id(prep.program.blob):
                    raise TrainCmdError("the emulated board booted but did not accept the program")
                print(f"{dev.board}: firmware and program ({len(prep.program.blob):,} B) boot; model id "
                      f"0x{dev.model_id:08x}; arena {dev.info().arena_bytes:,} B")
            return 0
        done = flash(board_for(a).name, elf, prep.program.blob)
    except (BuildError, FlashError, BoardError) as e:
        raise TrainCmdError(str(e).splitlines()[0]) from None
    print(f"{done.board}: flashed firmware and program with {done.tool}")
    return 0


def _stream(a: TrainArgs, task: Any) -> Any:
    """Training samples: augmented images of the task, or camera/video frames with their label source."""
    if not a.camera:
        return task.stream(a.seed)
    from .train_data import camera_stream

    fixed_ok = a.camera_label.isdigit() and int(a.camera_label) < len(task.classes)
    if a.camera_label not in ("teacher", "keys") and not fixed_ok:
        raise TrainCmdError(f"--camera-label must be 'teacher', 'keys' or a class index 0..{len(task.classes) - 1}")
    return camera_stream(a.camera, task.input_shape, a.camera_label)


def run_train(a: TrainArgs) -> int:
    from .live import LiveView
    from .session import RunConfig, run

    prep = prepare(a)
    task, scheme, model = prep.task, prep.scheme, prep.model
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(a.run_dir) if a.run_dir else ROOT / "runs" / f"{stamp}-{a.target.split('/')[-1]}"
    say = (lambda *_: None) if a.json else (lambda m: print(m, file=sys.stderr))
    say(prep.describe(a.mode, a.target))
    if a.camera:
        source = {"teacher": "HOG people detector (teacher)", "keys": "keys: '1' no person, '2' person"}.get(
            a.camera_label, f"fixed label {a.camera_label}"
        )
        say(f"streaming camera/video {a.camera}; labels from {source}; held-out set: {task.name}")
    if a.target == "host":
        from .targets.host import HostTarget

        target: Any = HostTarget(prep.program, checkpoint_dir=run_dir)
    else:
        target = _open_target(a.target, prep.program.blob)
    samples = a.samples
    cfg = RunConfig(samples=samples, eval_every=a.eval_every or max(1, samples // 4), run_dir=run_dir,
                    title=f"{model.stem} on {a.target}: {Path(scheme).stem} scheme")
    try:
        with LiveView(cfg.title, target.clock_hz, enabled=a.live and not a.json and sys.stderr.isatty()) as view:
            summary = run(target, _stream(a, task), (task.heldout_x, task.heldout_y), cfg, view.update)
    finally:
        close = getattr(target, "close", None)
        if close is not None:
            close()
    summary["target"] = a.target
    summary["labels"] = (
        {"teacher": "HOG teacher", "keys": "keys"}.get(a.camera_label, f"fixed {a.camera_label}")
        if a.camera
        else "dataset"
    )
    summary["scheme"] = Path(scheme).stem
    if a.json:
        print(json.dumps(summary, indent=2))
    else:
        acc = summary["heldout_accuracy"]
        say(
            f"held-out accuracy {100 * acc:.1f} % after {summary['samples']} samples; "
            f"log {summary['log']}, plot {summary['plot']}, checkpoint {summary['checkpoint']}"
        )
    return 0
