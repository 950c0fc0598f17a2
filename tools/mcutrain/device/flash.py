"""Put the firmware (and optionally a compiled program) on a board.

    python -m mcutrain.device.flash disco_f746ng --program person.mctp     # real board
    flash("qemu_f405", program=blob)  ->  Flashed(tool="qemu", preload={0x08080000: blob})

Where a program goes (mcutrain.boards: Board.program_addr, max_program_bytes):
- qemu_f405: the read-only program area at 0x08080000 (upper half of the 1 MB flash), as a raw
  blob. QEMU's guest cannot write flash, so the host preloads it (`QemuBoard(preload=...)`).
- disco_f746, nucleo_f412zg: the start of the program/checkpoint region (0x08020000), as an
  upload record (16-byte header + blob), exactly what LOAD would have written there; it may span
  the whole program area before the checkpoint slots.

Real boards: openocd, st-flash or pyocd, whichever is installed (in that order unless `tool` is
given). Errors are one line: no tool installed, or the probe/board not found.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from mcutrain import boards
from mcutrain.boards import Board

# qemu_f405.ld PROGROM, where QemuBoard preloads a program (names kept for existing callers)
PROGRAM_ROM_ADDR, PROGRAM_ROM_SIZE = boards.BOARDS["qemu_f405"].program_rom or (0, 0)
RECORD_MAGIC = 0x5354_434D  # "MCTS", program_store.h
TOOLS = ("openocd", "st-flash", "pyocd")


class FlashError(RuntimeError):
    """Cannot put the image on the board; the message is one line."""


@dataclass
class Flashed:
    board: str
    tool: str
    preload: dict[int, bytes] = field(default_factory=dict)  # QEMU only: pass to QemuBoard


def program_record(blob: bytes, seq: int = 1) -> bytes:
    """A program as LOAD leaves it in a flash bank: header {magic, seq, size, crc32} + blob."""
    return struct.pack("<IIII", RECORD_MAGIC, seq, len(blob), zlib.crc32(blob)) + blob


def _board(name: str) -> Board:
    try:
        return boards.board(name)
    except boards.BoardError as e:
        raise FlashError(str(e)) from None


def program_image(board: str, blob: bytes) -> tuple[int, bytes]:
    """(address, bytes) that put `blob` where the firmware of `board` looks for a flashed program."""
    b = _board(board)
    if blob[:4] != b"MCTP":
        raise FlashError("not a compiled program (no MCTP magic); compile the model first")
    if len(blob) > b.max_program_bytes:
        raise FlashError(
            f"program of {len(blob)} bytes exceeds the {b.max_program_bytes}-byte limit of the {b.name} program area"
        )
    if not b.flasher_writes_program:
        return b.program_addr, blob
    # The whole program area, erased past the record: an older upload left in the other bank (higher sequence
    # number) must not win over what was just flashed at the next boot.
    rec = program_record(blob)
    return b.program_addr, rec + b"\xff" * (b.program_area_bytes - len(rec))


def qemu_preload(blob: bytes) -> dict[int, bytes]:
    """`preload=` for QemuBoard that puts a program into the emulated flash."""
    addr, data = program_image("qemu_f405", blob)
    return {addr: data}


def available_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is not None]


def _elf_to_bin(elf: Path, out: Path) -> Path:
    objcopy = shutil.which("arm-none-eabi-objcopy")
    if objcopy is None:
        raise FlashError("arm-none-eabi-objcopy not found (apt-get install gcc-arm-none-eabi)")
    subprocess.run([objcopy, "-O", "binary", str(elf), str(out)], check=True, capture_output=True)
    return out


def _commands(tool: str, board: str, fw_bin: Path, prog: tuple[int, Path] | None) -> list[list[str]]:
    b = _board(board)
    images = [(b.code_base, fw_bin)] + ([prog] if prog else [])
    if tool == "openocd":
        script = [f"program {p} 0x{a:08x} verify" for a, p in images] + ["reset run", "exit"]
        cmd = ["openocd", "-f", str(b.openocd_cfg)]
        for line in ["init", *script]:
            cmd += ["-c", line]
        return [cmd]
    if tool == "st-flash":
        # --reset only on the last write so the board starts with everything in place.
        return [
            ["st-flash", *(["--reset"] if i == len(images) - 1 else []), "write", str(p), f"0x{a:08x}"]
            for i, (a, p) in enumerate(images)
        ]
    if tool == "pyocd":
        return [
            ["pyocd", "flash", "-t", str(b.pyocd_target), "--base-address", f"0x{a:08x}", str(p)] for a, p in images
        ]
    raise FlashError(f"unknown flash tool '{tool}'; known: {', '.join(TOOLS)}")


_UNPLUGGED = ("no stlink", "couldn't find any st-link", "no device found", "no connected debug probe",
              "unable to find", "open failed", "no probe", "error: libusb_open")  # fmt: skip


def flash(
    board: str,
    elf: str | Path | None = None,
    program: bytes | None = None,
    *,
    tool: str | None = None,
) -> Flashed:
    """Put firmware `elf` (default: build it) and `program` on `board`.

    qemu_f405: nothing is written; returns the preload map for QemuBoard (tool "qemu").
    """
    b = _board(board)
    prog_img = program_image(b.name, program) if program is not None else None
    if b.emulated:
        return Flashed(b.name, "qemu", dict([prog_img]) if prog_img else {})
    if tool is None:
        tools = available_tools()
        if not tools:
            raise FlashError("no flash tool installed: install one of openocd, st-flash (stlink-tools) or pyocd")
        tool = tools[0]
    elif shutil.which(tool) is None:
        raise FlashError(f"{tool} is not installed")
    if elf is None:
        from mcutrain.build import build

        elf = build(b.env, quiet=True)
    with tempfile.TemporaryDirectory(prefix="mcutrain-flash-") as tmp:
        fw_bin = _elf_to_bin(Path(elf), Path(tmp) / "firmware.bin")
        prog = None
        if prog_img is not None:
            ppath = Path(tmp) / "program.bin"
            ppath.write_bytes(prog_img[1])
            prog = (prog_img[0], ppath)
        for cmd in _commands(tool, b.name, fw_bin, prog):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                out = (r.stderr + r.stdout).strip().splitlines()
                last = out[-1] if out else f"exit status {r.returncode}"
                if any(k in (r.stderr + r.stdout).lower() for k in _UNPLUGGED):
                    raise FlashError(f"{tool}: no {b.name} board found: is it plugged in (USB ST-LINK)? ({last})")
                raise FlashError(f"{tool} failed: {last}")
    return Flashed(b.name, tool)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("board", choices=boards.names())
    ap.add_argument("--elf", type=Path, help="firmware ELF (default: build it)")
    ap.add_argument("--program", type=Path, help="compiled program blob (.mctp) to put in flash too")
    ap.add_argument("--tool", choices=TOOLS, help="default: the first installed of " + ", ".join(TOOLS))
    args = ap.parse_args(argv)
    try:
        done = flash(args.board, args.elf, args.program.read_bytes() if args.program else None, tool=args.tool)
    except (FlashError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{done.board}: flashed with {done.tool}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
