"""The app's flash layout on the real boards' sector maps, run by the host build of the firmware.

The real boards' regions mix sector sizes (DISCO-F746: 128 + 3 x 256 KB) or have few big ones
(NUCLEO-F412ZG: 7 x 128 KB); the emulated board has 8 x 8 KB. The host build takes a board's
sector map (MCT_HOST_FLASH_SECTORS, board/host.c), so the same app code that runs on the chip
uploads the board's default training program, trains, and saves and restores checkpoints on that
geometry here. The program the flasher writes is the one `mcutrain flash` prepares for the board.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from mcutrain import boards
from mcutrain.build import build_host
from mcutrain.device import protocol as proto
from mcutrain.device.client import DeviceError, DeviceTarget
from mcutrain.train_cmd import TrainArgs, prepare

REAL_BOARDS = [b.name for b in boards.BOARDS.values() if b.flasher_writes_program]


def _sector_spec(sizes: tuple[int, ...]) -> str:
    return ",".join(f"{s // 1024}K" for s in sizes)


@pytest.fixture(scope="module")
def host_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_host(tmp_path_factory.mktemp("fw") / "firmware")


def _default_program(board: str) -> tuple[bytes, tuple[int, ...], int]:
    """The training program `mcutrain flash --board BOARD` puts on the board, its input shape, classes."""
    args = TrainArgs(model=None, scheme=None, data=None, target="/dev/ttyACM0", samples=1, seed=0, json=False,
                     mode="int", lr=0.005, eval_every=None, run_dir=None, live=False, board=board)  # fmt: skip
    prep = prepare(args)
    return prep.program.blob, prep.task.input_shape, len(prep.task.classes)


@pytest.mark.parametrize("name", REAL_BOARDS)
def test_default_program_trains_and_checkpoints_on_board_geometry(host_exe: Path, name: str) -> None:
    b = boards.board(name)
    blob, shape, classes = _default_program(name)
    model_id = int.from_bytes(blob[12:16], "little")
    assert len(blob) <= b.max_program_bytes, "the default program must fit what the flasher accepts"
    with DeviceTarget.host_build(host_exe, flash_sectors=_sector_spec(b.region_sectors)) as dev:
        assert dev.info().program_capacity == b.program_area_bytes - 16  # the layout the registry predicts
        dev.load_program(blob)
        assert dev.info().model_id == model_id
        rng = np.random.default_rng(0)
        for _ in range(2):
            dev.train_step(rng.integers(-128, 128, shape, dtype=np.int8), int(rng.integers(classes)))
        dev.checkpoint()
        first = dev.last_checkpoint
        assert first is not None and dev.info().checkpoint_slot == proto.CheckpointSlot.A
        assert first.size <= b.checkpoint_state_bytes
        dev.train_step(rng.integers(-128, 128, shape, dtype=np.int8), 0)
        dev.checkpoint()
        assert dev.info().checkpoint_slot == proto.CheckpointSlot.B
        back = dev.restore(proto.CheckpointSlot.A)
        assert (back.crc32, back.steps) == (first.crc32, 2)
        # A second upload of a program larger than either bank takes the whole area again;
        # the checkpoint slots after it are untouched.
        dev.load_program(blob)
        assert dev.info().model_id == model_id
        assert dev.restore(proto.CheckpointSlot.A).crc32 == first.crc32


def test_region_too_small_for_the_layout_is_refused_cleanly(host_exe: Path) -> None:
    blob = _default_program("nucleo_f412zg")[0]
    with DeviceTarget.host_build(host_exe, flash_sectors="16K*2") as dev:  # no room for two slots + a program
        assert dev.info().program_capacity == 0
        with pytest.raises(DeviceError, match="exceeds the 0-byte upload capacity"):
            dev.load_program(blob)
        assert dev.info().model_id == 0  # still answering, nothing bound


@pytest.mark.parametrize("spec", ["", "0K", "3", "4K*0", "4K*300", "2048K", "4K,x"])
def test_bad_sector_map_is_one_line_error(host_exe: Path, spec: str) -> None:
    r = subprocess.run([str(host_exe)], env={"MCT_HOST_FLASH_SECTORS": spec}, input=b"", capture_output=True)
    assert r.returncode == 2
    err = r.stderr.decode().strip()
    assert err.startswith(f"MCT_HOST_FLASH_SECTORS={spec}:") and "\n" not in err
