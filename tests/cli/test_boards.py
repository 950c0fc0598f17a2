"""mcutrain.boards agrees with the firmware sources it mirrors (platformio.ini, the linker scripts, the
offline platform's board files), and its lookups and derived flash layout are what the tools expect."""

from __future__ import annotations

import configparser
import json
import re

import pytest

from mcutrain import boards
from mcutrain.boards import BOARDS, Board, BoardError, board
from mcutrain.paths import FIRMWARE, ROOT

KB = 1024
ALL = list(BOARDS.values())
REAL = [b for b in ALL if not b.emulated]


def _ids(b: Board) -> str:
    return b.name


def _ini() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "platformio.ini")
    return cfg


def _memory(b: Board) -> dict[str, tuple[int, int]]:
    """MEMORY regions of the board's linker script: name -> (origin, length)."""
    ld = (FIRMWARE / "board" / "linker" / f"{b.env}.ld").read_text()
    ld = re.sub(r"/\*.*?\*/", "", ld, flags=re.DOTALL)
    block = re.search(r"MEMORY\s*\{(.*?)\}", ld, re.DOTALL)
    assert block, f"{b.env}.ld has no MEMORY block"
    units = {"": 1, "K": KB, "M": KB * KB}
    regions = {}
    for name, origin, length, unit in re.findall(
        r"(\w+)\s*\([^)]*\)\s*:\s*ORIGIN\s*=\s*(0x[0-9A-Fa-f]+|\d+)\s*,\s*LENGTH\s*=\s*(\d+)\s*([KM]?)", block.group(1)
    ):
        regions[name] = (int(origin, 0), int(length) * units[unit])
    return regions


# --- against the firmware sources ----------------------------------------------------------------------


@pytest.mark.parametrize("b", ALL, ids=_ids)
def test_platformio_envs_exist(b: Board) -> None:
    cfg = _ini()
    for env in filter(None, (b.env, b.online_env)):
        assert cfg.has_section(f"env:{env}"), f"platformio.ini has no [env:{env}]"
        # Each env compiles exactly the board's own board file.
        assert f"+<board/{b.name}.c>" in cfg.get(f"env:{env}", "build_src_filter"), env
    assert (FIRMWARE / "board" / f"{b.name}.c").is_file()


@pytest.mark.parametrize("b", [b for b in ALL if b.online_env], ids=_ids)
def test_online_env_builds_the_same_firmware(b: Board) -> None:
    """Same linker script and arena on the official platform, so both builds have one flash map."""
    assert b.online_env is not None
    cfg = _ini()
    assert cfg.get(f"env:{b.online_env}", "board_build.ldscript") == f"firmware/board/linker/{b.env}.ld"
    assert boards.define(b.online_env, "APP_ARENA_BYTES") == b.arena_bytes


@pytest.mark.parametrize("b", [b for b in ALL if b.fast_env], ids=_ids)
def test_fast_env_is_the_default_build_plus_the_clock_flag(b: Board) -> None:
    """`--fast` builds the same sources with the same flags, only the PLL set-up added."""
    assert b.fast_env is not None and b.fast_flag is not None
    cfg = _ini()
    assert cfg.get(f"env:{b.fast_env}", "board") == cfg.get(f"env:{b.env}", "board")
    assert boards.build_flags(b.fast_env).split() == [*b.build_flags.split(), b.fast_flag]
    assert cfg.get(f"env:{b.fast_env}", "build_src_filter") == f"${{env:{b.env}.build_src_filter}}"
    assert boards.for_env(b.fast_env) is b and b.env_for(True) == b.fast_env and b.env_for(False) == b.env


def test_fixed_clock_board_has_no_fast_build() -> None:
    with pytest.raises(BoardError, match="qemu_f405 has no fast build"):
        board("qemu_f405").env_for(True)


@pytest.mark.parametrize("b", ALL, ids=_ids)
def test_linker_script_matches(b: Board) -> None:
    mem = _memory(b)
    assert mem["FLASH"] == (b.code_base, b.code_size)
    assert mem["RAM"] == (b.ram_base, b.ram_size)
    if b.program_rom is not None:
        assert mem["PROGROM"] == b.program_rom
    if b.region_is_ram:
        assert mem["FAKEFLASH"] == (b.region_addr, b.region_size)
        assert b.region_addr >= b.ram_top


@pytest.mark.parametrize("b", REAL, ids=_ids)
def test_board_file_region_matches(b: Board) -> None:
    src = (FIRMWARE / "board" / f"{b.name}.c").read_text()

    def macro(name: str) -> int:
        m = re.search(rf"^#define {name} (\S+)", src, re.MULTILINE)
        assert m, f"{b.name}.c: no #define {name}"
        return boards.c_int(m.group(1))

    assert macro("FLASH_REGION_BASE") == b.region_addr
    assert macro("FLASH_REGION_SECTORS") == len(b.region_sectors)


def test_firmware_reports_the_canonical_names() -> None:
    """INFO's board string (app/commands.c) is the registry's name, which HIL tests compare against."""
    src = (FIRMWARE / "app" / "commands.c").read_text()
    for b in ALL:
        assert f'return "{b.name}";' in src


@pytest.mark.parametrize("b", REAL, ids=_ids)
def test_code_and_region_tile_the_chip_flash(b: Board) -> None:
    assert b.region_addr == b.code_base + b.code_size
    assert b.region_addr + b.region_size == b.code_base + b.flash_total


@pytest.mark.parametrize("b", ALL, ids=_ids)
def test_offline_platform_board_file_matches(b: Board) -> None:
    name = _ini().get(f"env:{b.env}", "board")
    spec = json.loads((ROOT / "tools" / "pio-platform" / "boards" / f"{name}.json").read_text())
    assert spec["build"]["f_cpu"].rstrip("L") == str(b.cpu_hz)
    if not b.emulated:  # QEMU's file gives the chip's sizes; a real board's, what the firmware may use
        assert spec["upload"]["maximum_size"] == b.code_size  # so an image overrunning into the region is refused
        assert spec["upload"]["maximum_ram_size"] == b.ram_size


def test_emulated_region_matches_qemu_driver() -> None:
    from mcutrain.device import qemu

    q = board("qemu_f405")
    assert (q.region_addr, q.region_size) == (qemu.FLASH_REGION_ADDR, qemu.FLASH_REGION_SIZE)


@pytest.mark.parametrize("b", ALL, ids=_ids)
def test_arena_fits_the_ram(b: Board) -> None:
    assert 0 < b.arena_bytes <= b.ram_size - 8 * KB  # the link keeps at least MIN_STACK_SIZE of stack


# --- derived flash layout (firmware/app/flash_layout.h) -------------------------------------------------


def test_checkpoint_slot_bytes_from_app_config() -> None:
    assert boards.define("qemu_f405", "APP_CHECKPOINT_SLOT_BYTES") == 24 * KB


@pytest.mark.parametrize(
    ("name", "slot", "program", "arena"),
    [
        ("qemu_f405", 24 * KB, 16 * KB, 114_688),
        ("disco_f746", 256 * KB, 384 * KB, 294_912),
        ("nucleo_f412zg", 128 * KB, 640 * KB, 245_760),
    ],
)
def test_layout(name: str, slot: int, program: int, arena: int) -> None:
    b = board(name)
    assert b.checkpoint_slot_bytes == slot and b.checkpoint_state_bytes == slot - 32
    assert b.program_area_bytes == program
    assert b.slot_a_addr == b.region_addr + program and b.slot_b_addr == b.slot_a_addr + slot
    assert b.slot_b_addr + slot == b.region_addr + b.region_size  # slot B ends the region
    assert b.arena_bytes == arena


@pytest.mark.parametrize("b", REAL, ids=_ids)
def test_real_board_program_limit(b: Board) -> None:
    assert b.program_addr == b.region_addr
    assert b.max_program_bytes == b.program_area_bytes - 16


# --- lookups ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", boards.names())
def test_every_name_resolves(name: str) -> None:
    b = board(name)
    assert name in b.names
    from mcutrain.build import BOARDS as BUILD_BOARDS
    from mcutrain.build import ENVS, env_for_board

    assert env_for_board(name) == b.env == BUILD_BOARDS[name] and b.env in ENVS


def test_aliases() -> None:
    assert board("disco_f746ng") is board("disco_f746")
    assert board(boards.DEFAULT).emulated


@pytest.mark.parametrize("name", ["nucleo_f4", "", "DISCO_F746"])
def test_unknown_board_is_one_line(name: str) -> None:
    with pytest.raises(BoardError) as e:
        board(name)
    msg = str(e.value)
    assert "\n" not in msg and f"unknown board {name!r}" in msg
    assert all(n in msg for n in boards.names())


def test_build_error_for_unknown_board() -> None:
    from mcutrain.build import BuildError, env_for_board

    with pytest.raises(BuildError, match="known: qemu_f405"):
        env_for_board("nucleo_f4")


def test_help_lists_the_real_names() -> None:
    text = boards.help_names()
    assert all(n in text for n in ("qemu_f405", "disco_f746ng", "nucleo_f412zg")) and "nucleo_f4 " not in text


@pytest.mark.parametrize(
    ("expr", "value"), [("(24u * 1024u)", 24 * KB), ("245760u", 245_760), ("0x400", 1024), ("(1u << 10)", 1024)]
)
def test_c_int(expr: str, value: int) -> None:
    assert boards.c_int(expr) == value


def test_c_int_refuses_other_text() -> None:
    with pytest.raises(ValueError, match="not a C integer constant"):
        boards.c_int("sizeof(int)")
