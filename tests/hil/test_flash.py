"""mcutrain.device.flash without a board: where programs go, and the one-line errors."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from mcutrain.device import flash as fl

BLOB = b"MCTP" + bytes(60)


def test_qemu_program_goes_to_the_rom_area() -> None:
    done = fl.flash("qemu_f405", program=BLOB)
    assert done.tool == "qemu" and done.preload == {fl.PROGRAM_ROM_ADDR: BLOB}
    assert fl.qemu_preload(BLOB) == {0x0808_0000: BLOB}


def test_qemu_rom_address_matches_linker_script() -> None:
    ld = (Path(__file__).resolve().parents[2] / "firmware/board/linker/qemu_f405.ld").read_text()
    assert f"PROGROM   (r)   : ORIGIN = 0x{fl.PROGRAM_ROM_ADDR:08X}" in ld


def test_qemu_flash_region_matches_linker_script() -> None:
    from mcutrain.device import qemu

    ld = (Path(__file__).resolve().parents[2] / "firmware/board/linker/qemu_f405.ld").read_text()
    size_k = qemu.FLASH_REGION_SIZE // 1024
    assert f"FAKEFLASH (rw)  : ORIGIN = 0x{qemu.FLASH_REGION_ADDR:08X}, LENGTH = {size_k}K" in ld


def test_disco_program_is_an_upload_record() -> None:
    addr, data = fl.program_image("disco_f746", BLOB)
    assert addr == 0x0804_0000
    magic, seq, size, crc = struct.unpack_from("<IIII", data)
    assert (magic, size, crc) == (fl.RECORD_MAGIC, len(BLOB), zlib.crc32(BLOB)) and seq >= 1
    assert data[16:] == BLOB


def test_not_a_program() -> None:
    with pytest.raises(fl.FlashError, match="not a compiled program"):
        fl.program_image("qemu_f405", b"\x00" * 64)


def test_no_tool_installed_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fl.shutil, "which", lambda name: None)
    with pytest.raises(fl.FlashError) as e:
        fl.flash("disco_f746", tmp_path / "fw.elf")
    assert "no flash tool installed" in str(e.value) and "\n" not in str(e.value)


def test_unplugged_board_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """st-flash with no ST-LINK attached: a clear message, not a traceback of its output."""
    import subprocess

    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"")

    def which(name: str) -> str | None:
        return f"/usr/bin/{name}" if name in ("st-flash", "arm-none-eabi-objcopy") else None

    def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        if cmd[0].endswith("objcopy"):
            Path(cmd[-1]).write_bytes(b"\0" * 8)
            return subprocess.CompletedProcess(cmd, 0, "", "")
        err = "st-flash 1.7.0\nFailed to connect to target\nCouldn't find any ST-Link devices"
        return subprocess.CompletedProcess(cmd, 255, "", err)

    monkeypatch.setattr(fl.shutil, "which", which)
    monkeypatch.setattr(fl.subprocess, "run", run)
    with pytest.raises(fl.FlashError) as e:
        fl.flash("disco_f746", elf, BLOB)
    msg = str(e.value)
    assert "no disco_f746 board found" in msg and "plugged in" in msg and "\n" not in msg


def test_tool_commands() -> None:
    fw, prog = Path("fw.bin"), (0x0804_0000, Path("p.bin"))
    assert fl._commands("st-flash", "disco_f746", fw, prog) == [
        ["st-flash", "write", "fw.bin", "0x08000000"],
        ["st-flash", "--reset", "write", "p.bin", "0x08040000"],
    ]
    oc = fl._commands("openocd", "disco_f746", fw, prog)[0]
    assert "program p.bin 0x08040000 verify" in oc and oc[:3] == ["openocd", "-f", "board/stm32f7discovery.cfg"]
    assert fl._commands("pyocd", "disco_f746", fw, None) == [
        ["pyocd", "flash", "-t", "stm32f746ng", "--base-address", "0x08000000", "fw.bin"]
    ]
