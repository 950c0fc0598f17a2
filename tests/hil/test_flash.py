"""mcutrain.device.flash without a board: where programs go, and the one-line errors."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from mcutrain import boards
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


@pytest.mark.parametrize("name", ["disco_f746", "disco_f746ng", "nucleo_f412zg"])
def test_real_board_program_is_an_upload_record(name: str) -> None:
    addr, data = fl.program_image(name, BLOB)
    assert addr == 0x0802_0000  # region start, right after the 128 KB of code flash
    magic, seq, size, crc = struct.unpack_from("<IIII", data)
    assert (magic, size, crc) == (fl.RECORD_MAGIC, len(BLOB), zlib.crc32(BLOB)) and seq >= 1
    assert data[16 : 16 + len(BLOB)] == BLOB
    # The rest of the program area is written erased, so an older upload in the other bank (with a higher
    # sequence number) cannot win over the flashed program at the next boot.
    assert len(data) == boards.board(name).program_area_bytes and set(data[16 + len(BLOB) :]) == {0xFF}


@pytest.mark.parametrize(("name", "area"), [("disco_f746", 384 * 1024), ("nucleo_f412zg", 640 * 1024)])
def test_program_may_span_the_program_area(name: str, area: int) -> None:
    """The record may fill every sector before the checkpoint slots; one byte more is refused in one line."""
    limit = area - 16
    addr, data = fl.program_image(name, BLOB + bytes(limit - len(BLOB)))
    assert len(data) == area
    with pytest.raises(fl.FlashError) as e:
        fl.program_image(name, BLOB + bytes(limit + 1 - len(BLOB)))
    msg = str(e.value)
    assert f"{limit}-byte limit" in msg and "\n" not in msg


def test_qemu_program_limit() -> None:
    fl.program_image("qemu_f405", BLOB + bytes(512 * 1024 - len(BLOB)))
    with pytest.raises(fl.FlashError, match=f"{512 * 1024}-byte limit"):
        fl.program_image("qemu_f405", BLOB + bytes(512 * 1024 + 1 - len(BLOB)))


def test_unknown_board_is_one_line() -> None:
    with pytest.raises(fl.FlashError) as e:
        fl.flash("nucleo_f4", program=BLOB)
    msg = str(e.value)
    assert "unknown board 'nucleo_f4'" in msg and "nucleo_f412zg" in msg and "\n" not in msg


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


@pytest.mark.parametrize(
    ("name", "openocd_cfg", "pyocd_target"),
    [
        ("disco_f746", "board/stm32f7discovery.cfg", "stm32f746ng"),
        ("disco_f746ng", "board/stm32f7discovery.cfg", "stm32f746ng"),
        ("nucleo_f412zg", "board/st_nucleo_f4.cfg", "stm32f412xg"),
    ],
)
def test_tool_commands(name: str, openocd_cfg: str, pyocd_target: str) -> None:
    fw, prog = Path("fw.bin"), (0x0802_0000, Path("p.bin"))
    assert fl._commands("st-flash", name, fw, prog) == [
        ["st-flash", "write", "fw.bin", "0x08000000"],
        ["st-flash", "--reset", "write", "p.bin", "0x08020000"],
    ]
    oc = fl._commands("openocd", name, fw, prog)[0]
    assert oc[:3] == ["openocd", "-f", openocd_cfg]
    assert oc[3:] == [
        "-c", "init",
        "-c", "program fw.bin 0x08000000 verify",
        "-c", "program p.bin 0x08020000 verify",
        "-c", "reset run",
        "-c", "exit",
    ]  # fmt: skip
    assert fl._commands("pyocd", name, fw, prog) == [
        ["pyocd", "flash", "-t", pyocd_target, "--base-address", "0x08000000", "fw.bin"],
        ["pyocd", "flash", "-t", pyocd_target, "--base-address", "0x08020000", "p.bin"],
    ]


def test_flash_runs_the_commands_of_the_board(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """nucleo_f412zg end to end with a stand-in st-flash: firmware at 0x08000000, then the record."""
    import subprocess

    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"")
    ran: list[list[str]] = []

    def which(name: str) -> str | None:
        return f"/usr/bin/{name}" if name in ("st-flash", "arm-none-eabi-objcopy") else None

    def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        if cmd[0].endswith("objcopy"):
            Path(cmd[-1]).write_bytes(b"\0" * 8)
        else:
            ran.append([Path(c).name if c.endswith(".bin") else c for c in cmd])
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(fl.shutil, "which", which)
    monkeypatch.setattr(fl.subprocess, "run", run)
    done = fl.flash("nucleo_f412zg", elf, BLOB)
    assert (done.board, done.tool) == ("nucleo_f412zg", "st-flash")
    assert ran == [
        ["st-flash", "write", "firmware.bin", "0x08000000"],
        ["st-flash", "--reset", "write", "program.bin", "0x08020000"],
    ]


def test_openocd_board_scripts_exist() -> None:
    """The openocd -f scripts are ones openocd ships (checked when openocd is installed)."""
    import shutil

    from mcutrain.boards import BOARDS

    exe = shutil.which("openocd")
    if exe is None:
        pytest.skip("openocd not installed")
    scripts = Path(exe).resolve().parents[1] / "share" / "openocd" / "scripts"
    for b in BOARDS.values():
        if b.openocd_cfg is not None:
            assert (scripts / b.openocd_cfg).is_file(), f"{b.name}: {scripts / b.openocd_cfg}"
