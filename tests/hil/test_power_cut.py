"""Checkpoints under power loss, on QEMU (docs/reliability.md, "Checkpoints under power loss").

The emulated board keeps its flash region in a host file (firmware/board/qemu_f405.c writes every
erase/program through by semihosting and reads it back at power-on), so it survives the emulator.
A DEBUG FLASH_CUT request arms a cut: after N more bytes erased or programmed the board stops dead
inside the flash operation (semihosting exit, no reply), which is a power failure as far as the
flash is concerned. Then a new emulator boots from the same file.

Scenario, from a training program preloaded in flash:
  train 2, save (slot A, steps 2), train 2, save (slot B, steps 4: the OLD state)   -> base image
  per cut point N: boot base (restores B), train 2, arm cut N, save (-> slot A, NEW, steps 6),
  the board dies at byte N of that save; reboot from the file it left.
The save overwrites the slot holding the older valid checkpoint: the steady state of A/B saving.
After every cut the board must boot with the OLD or the NEW weights (state CRC and steps as known
from an uncut reference run), say which slot in BOOT and INFO, and the file must hold exactly the
first N bytes of the save (nothing more, nothing less).

    pytest tests/hil/test_power_cut.py -s                                    # 100 cut points
    MCUTRAIN_POWER_CUTS=1000 MCUTRAIN_POWER_CUT_SEED=2 pytest tests/hil/test_power_cut.py -s
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import debug_cmd as dbg  # noqa: E402
from test_device_train import training_program  # noqa: E402

from mcutrain.device import protocol as proto  # noqa: E402
from mcutrain.device.client import DeviceTarget  # noqa: E402
from mcutrain.device.link import Frame, Link, encode_frame  # noqa: E402
from mcutrain.device.protocol import Cmd, Event  # noqa: E402
from mcutrain.device.qemu import BOARD_EXIT_POWER_CUT, FLASH_REGION_SIZE, QemuBoard, wait_for_boot  # noqa: E402

hil = pytest.mark.hil
CUTS = int(os.environ.get("MCUTRAIN_POWER_CUTS", "100"))
SEED = int(os.environ.get("MCUTRAIN_POWER_CUT_SEED", "1"))
WORKERS = max(1, min(4, os.cpu_count() or 1))  # one emulator each

# firmware/app/flash_layout.h on QEMU: 8 erase units of 8 KB; program banks = units 0, 1; checkpoint
# slots A, B = units 2-4, 5-7 (3 units each).
UNIT = 8 * 1024
SLOT = 3 * UNIT
SLOT_OFF = {proto.CheckpointSlot.A: 2 * UNIT, proto.CheckpointSlot.B: 5 * UNIT}
HEADER = 32  # firmware/app/checkpoint.h: the header is written last, at the start of the slot


@dataclass(frozen=True)
class Known:
    old_crc: int
    new_crc: int
    save_bytes: int  # bytes a save changes: erase of the slot (all its units) + payload + header
    payload: int
    new_slot_image: bytes  # slot A after the uncut save
    loss: float  # of the last step before the save, to check that every run trains alike


def _boot(elf: Path, blob: bytes, flash: Path) -> tuple[QemuBoard, DeviceTarget]:
    q = QemuBoard(elf, preload={0x0808_0000: blob}, flash_file=flash)
    q.start()
    try:
        link = Link(q.port, timeout=10.0)
        wait_for_boot(link)
        return q, DeviceTarget(link, owner=q)
    except BaseException:
        q.close()
        raise


def _train(dev: DeviceTarget, sample: tuple[np.ndarray, int]) -> float:
    """Two steps on one sample (one SAMPLE upload: bytes into QEMU's UART are the slow part)."""
    dev.sample(*sample)
    return dev.train(2).loss


def _cut_points(total: int, n: int, seed: int) -> list[int]:
    """n cut points in [1, total]: every byte of the header (the commit), the phase boundaries and
    their neighbours, then seeded random ones over the whole save."""
    erase, header = SLOT, HEADER
    must = list(range(total - header + 1, total + 1))
    # Inside the erase: around the boundaries between the slot's units too (the last unit goes first).
    inner = [u * UNIT + d for u in range(1, SLOT // UNIT) for d in (-1, 0, 1)]
    edges = (erase - 3196, erase - 1, erase, erase + 1, erase + 4, total - header - 1, total - header)
    for b in (1, 2, 3, 4, *inner, *edges):
        if 1 <= b <= total:
            must.append(b)
    chosen = sorted(set(must))[:n]
    rng = random.Random(seed)
    pool = [p for p in range(1, total + 1) if p not in set(chosen)]
    chosen += rng.sample(pool, min(len(pool), n - len(chosen)))
    return sorted(chosen)


def _expected_slot(base: bytes, new: bytes, cut: int, payload: int) -> bytes:
    """Slot A as the first `cut` bytes of the save leave it: erase back to front (its units last to
    first, checkpoint.c; each unit back to front, qemu_f405.c), then the payload from byte 32 on, then
    the header (checkpoint.c)."""
    img = bytearray(base)
    n = min(cut, SLOT)
    img[SLOT - n : SLOT] = b"\xff" * n
    done = max(0, min(cut - SLOT, payload))
    img[HEADER : HEADER + done] = new[HEADER : HEADER + done]
    done = max(0, cut - SLOT - payload)
    img[:done] = new[:done]
    return bytes(img)


@hil
def test_checkpoint_is_old_or_new_after_power_cut(firmware_elf: Path | None, tmp_path: Path) -> None:
    if firmware_elf is None:
        pytest.skip("power cuts are staged on QEMU (a real board needs a bench supply to switch)")
    blob, shape, classes = training_program(seed=0)
    rng = np.random.default_rng(SEED)
    samples = [(rng.integers(-128, 128, shape, dtype=np.int8), int(rng.integers(classes))) for _ in range(3)]

    base = tmp_path / "base.bin"
    q, dev = _boot(firmware_elf, blob, base)
    with dev:
        c = dbg.unpack_counters(dev.link.request(Cmd.DEBUG, dbg.counters_request()))
        assert (c.flash_size, c.flash_sectors) == (FLASH_REGION_SIZE, FLASH_REGION_SIZE // UNIT)  # the layout above
        _train(dev, samples[0])
        dev.checkpoint()
        _train(dev, samples[1])
        dev.checkpoint()
        assert dev.info().checkpoint_slot == proto.CheckpointSlot.B
        assert dev.last_checkpoint is not None
        old_crc = dev.last_checkpoint.crc32

    ref = tmp_path / "ref.bin"
    shutil.copy(base, ref)
    q, dev = _boot(firmware_elf, blob, ref)
    with dev:
        assert dev.info().checkpoint_slot == proto.CheckpointSlot.B
        loss = _train(dev, samples[2])
        dev.link.request(Cmd.DEBUG, dbg.flash_cut_request(0))
        dev.checkpoint()
        save_bytes = dbg.unpack_flash_cut(dev.link.request(Cmd.DEBUG, dbg.flash_cut_request(0)))
        assert dev.info().checkpoint_slot == proto.CheckpointSlot.A and dev.last_checkpoint is not None
        assert dev.last_checkpoint.steps == 6
        known = Known(
            old_crc=old_crc,
            new_crc=dev.last_checkpoint.crc32,
            save_bytes=save_bytes,
            payload=dev.last_checkpoint.size,
            new_slot_image=ref.read_bytes()[SLOT_OFF[proto.CheckpointSlot.A] :][:SLOT],
            loss=loss,
        )
    assert known.save_bytes == SLOT + known.payload + HEADER, known.save_bytes
    base_bytes = base.read_bytes()
    assert len(base_bytes) == FLASH_REGION_SIZE

    def one(cut: int) -> str:
        flash = tmp_path / f"cut{cut}.bin"
        shutil.copy(base, flash)
        q, dev = _boot(firmware_elf, blob, flash)
        with dev:
            assert _train(dev, samples[2]) == known.loss, f"cut {cut}: training diverged before the cut"
            dev.link.request(Cmd.DEBUG, dbg.flash_cut_request(cut))
            save = Frame(Cmd.CHECKPOINT_SAVE, 0, 0, proto.pack_checkpoint(proto.CheckpointSlot.AUTO))
            dev.link.port.write(b"\0" + encode_frame(save))  # no reply will come: the power goes
            code = q.wait(timeout=30.0)
            log = q.log()
        assert code == BOARD_EXIT_POWER_CUT, f"cut {cut}: QEMU ended with {code}, not a power cut:\n{log}"

        # Exactly the first `cut` bytes of the save reached the flash, nothing else changed.
        img = flash.read_bytes()
        a = SLOT_OFF[proto.CheckpointSlot.A]
        want = _expected_slot(base_bytes[a : a + SLOT], known.new_slot_image, cut, known.payload)
        assert img[a : a + SLOT] == want, f"cut {cut}: slot A is not the first {cut} bytes of the save"
        assert img[:a] + img[a + SLOT :] == base_bytes[:a] + base_bytes[a + SLOT :], f"cut {cut}: bytes outside slot A"

        q, dev = _boot(firmware_elf, blob, flash)
        with dev:
            boot = proto.unpack_boot(dev.link.wait_event(Event.BOOT, 0.0))
            slot = dev.info().checkpoint_slot
            dev.checkpoint()  # its reply carries the CRC of the state now in RAM
            c = dev.last_checkpoint
        assert c is not None
        got = (boot.checkpoint_slot, slot, c.crc32, c.steps)
        if got == (proto.CheckpointSlot.B, proto.CheckpointSlot.B, known.old_crc, 4):
            return "old"
        if got == (proto.CheckpointSlot.A, proto.CheckpointSlot.A, known.new_crc, 6):
            return "new"
        return f"corrupt at cut {cut}: boot/info slot {boot.checkpoint_slot}/{slot}, crc {c.crc32:#x}, steps {c.steps}"

    points = _cut_points(known.save_bytes, CUTS, SEED)
    t0 = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(one, points))
    counts = Counter(o if o in ("old", "new") else "corrupt" for o in outcomes)
    new_from = min((p for p, o in zip(points, outcomes, strict=True) if o == "new"), default=None)
    print(
        f"\npower cuts: {len(points)} points in a {known.save_bytes}-byte save ({SLOT} erase + "
        f"{known.payload} payload + {HEADER} header), seed {SEED}: old {counts['old']}, new {counts['new']} "
        f"(from byte {new_from}), corrupt {counts['corrupt']}; {time.monotonic() - t0:.1f} s, {WORKERS} workers"
    )
    assert counts["corrupt"] == 0, [o for o in outcomes if o not in ("old", "new")]
    # The header is written last, so only the byte that completes it commits the new state: every
    # cut before that keeps the old one.
    a = SLOT_OFF[proto.CheckpointSlot.A]
    commit = next(
        n
        for n in range(known.save_bytes - HEADER, known.save_bytes + 1)
        if _expected_slot(base_bytes[a : a + SLOT], known.new_slot_image, n, known.payload) == known.new_slot_image
    )
    assert all((o == "new") == (p >= commit) for p, o in zip(points, outcomes, strict=True)), commit
