"""The real-board paths, run in CI: the emulated board's USART on a tty instead of QEMU's socket.

`pytest --port /dev/ttyACM0 --board B` and `mcutrain train --target /dev/ttyACM0` open a serial device
with pyserial, reset the board over the link and find whatever an earlier run left in its flash. No
board is plugged in here, so QEMU provides the tty (`QemuBoard(serial="pty")`, /dev/pts/N) and the same
commands run against it, unchanged, in child processes - the code a user with a board runs, minus the
USB cable. What cannot work on a tty is left out: tests that end the emulator (fault -> semihosting exit;
on a chip a fault resets instead) or start emulators of their own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mcutrain.device.flash import qemu_preload
from mcutrain.device.qemu import QemuBoard
from mcutrain.paths import ROOT

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from test_device_train import training_program  # noqa: E402

# Everything in these files that talks to a board through the `board` / `device_factory` fixtures.
# test_device_train first: it trains the "flashed" program, which later uploads (test_app) shadow, as on a chip.
SUITE = ["test_device_train.py", "test_boot.py", "test_app.py", "test_monitor.py"]
NOT_ON_A_TTY = "not fault and not semihosting and not side_by_side and not builds and not vector_table"


TtyBoard = Callable[[bytes], QemuBoard]  # program "flashed" -> a running emulated board on a pty


@pytest.fixture
def tty_board(firmware_elf: Path | None) -> Iterator[TtyBoard]:
    if firmware_elf is None:
        pytest.skip("already running against a real board (--port)")

    def start(program: bytes) -> QemuBoard:
        assert firmware_elf is not None
        q = QemuBoard(firmware_elf, serial="pty", preload=qemu_preload(program))
        made.append(q.start())
        assert q.pty_path is not None and Path(q.pty_path).exists()
        return q

    made: list[QemuBoard] = []
    yield start
    for q in made:
        q.close()


def test_hil_suite_passes_over_a_serial_device(tty_board: TtyBoard) -> None:
    """The HIL tests with `--port TTY --board qemu_f405`: each test resets the board over the link, the
    flash keeps what earlier tests wrote (as on a chip). Programs larger than the emulated board's 16 KB
    upload area must be "flashed" beforehand, as on a chip: the board-vs-host training test's program is;
    tests needing another big one skip with that reason (they run in the socket mode of the suite)."""
    q = tty_board(training_program(seed=0)[0])
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         *(str(HERE / f) for f in SUITE), "-k", NOT_ON_A_TTY, "--port", q.pty_path, "--board", "qemu_f405"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-25:])
    print(f"\n{tail}")
    assert r.returncode == 0, tail
    summary = r.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary


def test_train_command_over_a_serial_device(tty_board: TtyBoard, tmp_path: Path) -> None:
    """`mcutrain train --target TTY --board qemu_f405 --json` on a board "flashed" with the program that
    `mcutrain flash` prepares: it keeps the flashed program, trains, saves a checkpoint, reports the contract."""
    from mcutrain import cli
    from mcutrain.train_cmd import prepare

    argv = ["train", "--target", "PORT", "--board", "qemu_f405", "--samples", "4", "--eval-every", "4", "--json",
            "--run-dir", str(tmp_path)]  # fmt: skip
    q = tty_board(prepare(cli.train_args(cli.parser().parse_args(argv))).program.blob)  # as `mcutrain flash` does
    argv[2] = q.pty_path
    r = subprocess.run(
        [sys.executable, "-m", "mcutrain.cli", *argv],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    print(f"\n{out}")
    assert out["samples"] == 4 and 0.0 <= out["heldout_accuracy"] <= 1.0
    assert 0 < out["peak_arena_bytes"] <= 114_688 and out["peak_stack_bytes"] > 0
    assert out["instructions_per_step"] > 1_000_000 and out["checkpoint"]
