"""`mcutrain` command line: one subcommand per job; each one's work lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]


class UserError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def _targets_help() -> str:
    return "host (engine built for this machine), qemu (emulated STM32F405), or a serial port of a real board"


def _boards_help() -> str:
    from .boards import help_names

    return help_names()


def _add_build(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="build the firmware for a board and print its size")
    p.add_argument("--board", default="qemu_f405", help=_boards_help())
    _add_fast(p)

    def run(a: argparse.Namespace) -> int:
        from .boards import BoardError, board
        from .build import BuildError, build

        try:
            print(build(board(a.board).env_for(a.fast)))
        except (BuildError, BoardError) as e:
            raise UserError(str(e).splitlines()[0]) from None
        return 0

    p.set_defaults(func=run)


def _add_fast(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fast", action="store_true",
                   help="real boards: the full-clock build (PLL: 216 MHz DISCO-F746, 100 MHz NUCLEO-F412ZG; "
                   "default: the 16 MHz reset clock)")


def _add_compile(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="compile a training schedule: autodiff, prune, reorder, plan memory")
    p.add_argument("model", help="int8 .tflite model")
    p.add_argument("--scheme", default="sparse", help="full | last-layer | bias-only | sparse | FILE.json")
    p.add_argument("--budget", default=None, help="arena budget, e.g. 128K, 256KB, 131072")
    p.add_argument("--mode", default="fp32", choices=("fp32", "int"), help="gradient arithmetic")
    p.add_argument("--out", default=None, help="where to write the schedule")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")

    def run(a: argparse.Namespace) -> int:
        from .compiler.cli_compile import run_compile

        return run_compile(a.model, a.scheme, a.budget, a.mode, a.out, a.json)

    p.set_defaults(func=run)


def _add_infer(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("infer", help="run an int8 TFLite model on a target and save its int8 output")
    p.add_argument("model", help="int8 .tflite model")
    p.add_argument("--input", required=True, help="int8 .npy of the model's input shape")
    p.add_argument("--target", default="host", help=_targets_help())
    p.add_argument("--out", required=True, help="where to save the int8 output (.npy)")

    def run(a: argparse.Namespace) -> int:
        import numpy as np

        from .infer import InferenceError, infer
        from .tflite_import import ModelError

        try:
            x = np.load(a.input, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise UserError(f"cannot read input {a.input}: {e}") from None
        try:
            y = infer(a.model, x, target=a.target)
        except (InferenceError, ModelError) as e:
            raise UserError(str(e)) from None
        np.save(a.out, y)
        print(f"{a.out}: {y.dtype} {list(y.shape)} {np.array2string(y.reshape(-1)[:16])}")
        return 0

    p.set_defaults(func=run)


def _add_search(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="search a sparse-update scheme that fits a memory budget")
    p.add_argument("model", help="int8 .tflite model")
    p.add_argument("--budget", required=True, help="arena budget, e.g. 128K")
    p.add_argument("--data", default=None, help="image folder, one subfolder per class (default: packaged task)")
    p.add_argument("--out", default=None, help="scheme JSON to write (default: build/schemes/MODEL-BUDGET.json)")
    p.add_argument("--steps", type=int, default=120, help="SGD steps per contribution measurement")
    p.add_argument("--seed", type=int, default=0)

    def run(a: argparse.Namespace) -> int:
        from .sparse.cli_search import run_search

        return run_search(a.model, a.budget, a.data, a.out, steps=a.steps, seed=a.seed)

    p.set_defaults(func=run)


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="rebuild the pretrained int8 models in models/ (needs the 'models' extra)")
    p.add_argument("--out", default="models", help="output folder")

    def run(a: argparse.Namespace) -> int:
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            raise UserError("TensorFlow is a build-time extra: pip install -e '.[models]' first") from None
        from .modelzoo.build import main as build_models

        return int(build_models(["--out", a.out]) or 0)

    p.set_defaults(func=run)


def _add_program_options(p: argparse.ArgumentParser) -> None:
    """What decides the compiled training program: shared by `train` and `flash`."""
    p.add_argument("--model", default=None, help="int8 .tflite (default: models/mcunet_s_person_96x96x1.tflite)")
    p.add_argument("--scheme", default=None, help="full | last-layer | bias-only | sparse | FILE.json "
                   "(default: the model's shipped scheme that fits the board)")
    p.add_argument("--data", default=None, help="image folder, one subfolder per class (default: packaged task)")
    p.add_argument("--target", default="qemu", help=_targets_help())
    p.add_argument("--board", default="qemu_f405", help=f"board behind --target PORT: {_boards_help()}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", default="int", choices=("fp32", "int"), help="gradient arithmetic")
    p.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (QAS-scaled)")
    p.add_argument("--head", default="new", choices=("new", "keep"),
                   help="new: re-initialise the classifier for the data's classes (default); keep: train it as is")


def train_args(a: argparse.Namespace) -> object:
    """The TrainArgs of a parsed `train`/`flash` command line (what both commands compile)."""
    from .train_cmd import TrainArgs

    return TrainArgs(
        model=a.model, scheme=a.scheme, data=a.data, target=a.target, samples=getattr(a, "samples", 0),
        seed=a.seed, json=getattr(a, "json", False), mode=a.mode, lr=a.lr,
        eval_every=getattr(a, "eval_every", None), run_dir=getattr(a, "run_dir", None),
        live=not getattr(a, "no_live", True), head=a.head, board=a.board,
        camera=getattr(a, "camera", None), camera_label=getattr(a, "camera_label", "teacher"),
        fast=getattr(a, "fast", False),
    )


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train on a target: stream images, report accuracy, write log and plot")
    _add_program_options(p)
    p.add_argument("--samples", type=int, default=160, help="training samples to stream")
    p.add_argument("--eval-every", type=int, default=None, help="samples between held-out evaluations")
    p.add_argument("--run-dir", default=None, help="where to write log.jsonl, evals.csv, accuracy.png")
    p.add_argument("--json", action="store_true", help="print the final figures as one JSON object")
    p.add_argument("--no-live", action="store_true", help="no live view")
    p.add_argument("--camera", default=None, help="stream frames of a video file or webcam index (e.g. vtest.avi, 0)")
    p.add_argument("--camera-label", default="teacher",
                   help="labels of camera frames: 'teacher' (HOG people detector), 'keys' ('1'/'2' while "
                   "watching) or a fixed class index")

    def run(a: argparse.Namespace) -> int:
        from .train_cmd import TrainCmdError, run_train

        try:
            return run_train(train_args(a))  # type: ignore[arg-type]
        except TrainCmdError as e:
            raise UserError(str(e)) from None

    p.set_defaults(func=run)


def _add_flash(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("flash", help="build the firmware and put it, with the compiled program, on the board")
    _add_program_options(p)
    _add_fast(p)

    def run(a: argparse.Namespace) -> int:
        from .train_cmd import TrainCmdError, run_flash

        try:
            return run_flash(train_args(a))  # type: ignore[arg-type]
        except TrainCmdError as e:
            raise UserError(str(e)) from None

    p.set_defaults(func=run)


def _add_monitor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("monitor", help="serial monitor: decode frames, show log lines, events and stats")
    p.add_argument("--target", default="qemu", help="qemu (boots a fresh emulated board) or a serial port")
    p.add_argument("--board", default="qemu_f405", help=f"board behind --target PORT (informational): {_boards_help()}")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between stats lines")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")

    def run(a: argparse.Namespace) -> int:
        from .device.client import DeviceTarget
        from .device.link import LinkError
        from .monitor import monitor

        try:
            dev = DeviceTarget.qemu() if a.target == "qemu" else DeviceTarget.serial(a.target)
        except (LinkError, OSError) as e:
            raise UserError(str(e).splitlines()[0]) from None
        with dev:
            return monitor(dev, a.interval, a.duration)

    p.set_defaults(func=run)


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure memory, speed and accuracy against the references; docs/results.*")
    p.add_argument("--quick", action="store_true", help="reduced run (one model, fewer samples), still measured")
    p.add_argument("--out", default=None, help="folder for results.md, results.json and img/ (default: docs/)")

    def run(a: argparse.Namespace) -> int:
        from pathlib import Path

        from .bench.run import run_bench
        from .paths import ROOT

        return run_bench(quick=a.quick, out_dir=Path(a.out) if a.out else ROOT / "docs")

    p.set_defaults(func=run)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mcutrain", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    commands = (_add_build, _add_flash, _add_train, _add_monitor, _add_infer, _add_compile, _add_search, _add_bench,
                _add_models)
    for add in commands:
        add(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from .device.client import DeviceError
    from .device.flash import FlashError
    from .device.link import LinkError
    from .device.qemu import QemuError

    try:
        return int(args.func(args))
    except UserError as e:
        print(f"mcutrain {args.command}: {e}", file=sys.stderr)
        return 2
    except (LinkError, DeviceError, QemuError, FlashError) as e:
        # The board is missing, silent or refused a request: one line, nothing learned is lost
        # (the device keeps its checkpoints; Ctrl-C and errors mid-run save one first, session.py).
        print(f"mcutrain {args.command}: {str(e).splitlines()[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mcutrain {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
