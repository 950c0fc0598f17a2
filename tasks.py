"""Invoke tasks: thin wrappers over the `mcutrain` CLI so `invoke flash train` reads like a sentence.

Run them through `./mcu TASK...` on a fresh machine (it sets the machine up first).
"""

from __future__ import annotations

import os
import sys

from invoke import Context, task

from mcutrain.boards import help_names

PY = sys.executable
BOARD = {"board": help_names()}
BOARD_HELP = {**BOARD, "port": "serial port of a real board (none: the emulated board)"}


def _mcutrain(c: Context, args: str) -> None:
    c.run(f"{PY} -m mcutrain.cli {args}", pty=sys.stdout.isatty())


def _target(port: str | None) -> str:
    return port or "qemu"


def _line_option(name: str, given: str | None) -> str | None:
    """`invoke flash train --port P --board B` gives the flags to `train` only; `flash` reads them too."""
    if given:
        return given
    argv = sys.argv
    for i, arg in enumerate(argv[:-1]):
        if arg == f"--{name}":
            return argv[i + 1]
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None


@task
def setup(c: Context) -> None:
    """Install apt packages, .venv and the project (idempotent)."""
    c.run("tools/setup.sh")


FAST = {"fast": "real boards: the full-clock build (216 MHz DISCO-F746, 100 MHz NUCLEO-F412ZG)"}


@task(help={**BOARD, **FAST})
def build(c: Context, board: str = "qemu_f405", fast: bool = False) -> None:
    """Build the firmware for a board and print its size."""
    _mcutrain(c, f"build --board {board}" + (" --fast" if fast else ""))


@task(help={**BOARD_HELP, **FAST})
def flash(c: Context, board: str = "qemu_f405", port: str | None = None, fast: bool = False) -> None:
    """Build and flash the firmware (openocd / st-flash / pyocd); with no port, boot it on QEMU."""
    port = _line_option("port", port)
    board = _line_option("board", board if board != "qemu_f405" else None) or board
    # The program `train` compiles depends on --seed (its fresh head) and --scheme: flash the same one, so
    # `train` finds it in flash instead of uploading another.
    extra = "".join(f" --{k} {v}" for k in ("seed", "scheme") if (v := _line_option(k, None)))
    fast = fast or "--fast" in sys.argv  # `flash train --fast`: invoke hands the flag to train
    _mcutrain(c, f"flash --board {board} --target {_target(port)}{extra}" + (" --fast" if fast else ""))


@task(help={**BOARD_HELP, **FAST, "samples": "images to stream", "seed": "random seed", "scheme": "update scheme"})
def train(
    c: Context,
    board: str = "qemu_f405",
    port: str | None = None,
    samples: int = 0,
    seed: int = 0,
    scheme: str = "",
    fast: bool = False,
) -> None:
    """Stream person-detection images to the device, train on it, show accuracy, write log + plot.
    (--fast is for `flash`, which builds the firmware; the board reports the clock it runs at.)"""
    args = f"train --board {board} --target {_target(port)} --seed {seed}"
    if samples:
        args += f" --samples {samples}"
    if scheme:
        args += f" --scheme {scheme}"
    _mcutrain(c, args)


@task(help=BOARD_HELP)
def monitor(c: Context, board: str = "qemu_f405", port: str | None = None) -> None:
    """Serial monitor: decode frames, show the device's log lines and stats."""
    _mcutrain(c, f"monitor --board {board} --target {_target(port)}")


@task(help={"model": "int8 .tflite", "input": "int8 .npy input", "out": "output .npy", "port": "serial port"})
def infer(c: Context, model: str = "", input: str = "", out: str = "y.npy", port: str | None = None) -> None:  # noqa: A002
    """Run one inference on the chosen target and save the int8 output."""
    args = f"infer {model} --input {input} --out {out} --target {port or 'host'}"
    _mcutrain(c, args)


@task(help={"port": "run hardware-in-the-loop tests on a real board", "board": f"board of --port: {help_names()}"})
def test(c: Context, port: str | None = None, board: str = "qemu_f405") -> None:
    """The full test suite: lint, host tests, emulated-board tests (or a real board with --port)."""
    c.run(f"{PY} -m ruff check tools tests tasks.py")
    hil = f" --port {port} --board {board}" if port else ""
    workers = os.environ.get("MCUTRAIN_TEST_WORKERS", "2")
    c.run(f"{PY} -m pytest -n {workers} -q{hil}", pty=sys.stdout.isatty())


@task
def bench(c: Context) -> None:
    """Benchmarks: memory, speed, accuracy against the references; writes docs/results.md."""
    _mcutrain(c, "bench")


@task
def models(c: Context) -> None:
    """Rebuild the project's pretrained int8 models (build-time extra: TensorFlow)."""
    _mcutrain(c, "models")
