"""The boards mcutrain runs on: one registry the tools and tests read, instead of each keeping its own copy.

    board("disco_f746ng").env          -> "disco_f746"   (PlatformIO environment built offline)
    board("nucleo_f412zg").arena_bytes -> APP_ARENA_BYTES of its build (platformio.ini)

What the registry stores mirrors the firmware sources (firmware/board/linker/<env>.ld, the board files,
platformio.ini; tests/cli/test_boards.py checks they agree). What the C side computes from them (the
arena, the checkpoint slots and the program area of firmware/app/flash_layout.h) is computed here the
same way from the same sources, so a change to platformio.ini or app_config.h cannot leave a stale copy.
"""

from __future__ import annotations

import ast
import configparser
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .paths import FIRMWARE, ROOT

PLATFORMIO_INI = ROOT / "platformio.ini"
APP_CONFIG_H = FIRMWARE / "app" / "app_config.h"
SLOT_HEADER_BYTES = 32  # checkpoint.c: header in front of the learned state in a slot (docs/protocol.md)
RECORD_HEADER_BYTES = 16  # program_store.h: {magic, seq, size, crc32} in front of an uploaded program
KB = 1024


class BoardError(ValueError):
    """Unknown board name (the message names the known boards), or a board the sources do not describe."""


@dataclass(frozen=True)
class Board:
    name: str  # the board string the firmware reports in INFO; also its offline PlatformIO environment
    title: str
    env: str  # offline environment (tools/pio-platform), what CI builds
    online_env: str | None  # the same firmware on PlatformIO's official ststm32 platform (needs internet)
    aliases: tuple[str, ...]  # other accepted names, e.g. PlatformIO's official board id
    ram_base: int
    ram_size: int  # as linked (RAM in <env>.ld)
    cpu_hz: int  # core clock of the default build
    fast_cpu_hz: int | None  # core clock with fast_flag
    fast_flag: str | None  # build flag that selects fast_cpu_hz
    code_base: int
    code_size: int  # FLASH in <env>.ld: the firmware image
    flash_total: int  # the chip's whole flash
    region_addr: int  # program/checkpoint region (board_flash_*)
    region_sectors: tuple[int, ...]  # its erase sectors, in order from region_addr
    region_is_ram: bool  # SRAM standing in for flash (QEMU)
    tool: str | None  # "qemu" when nothing is flashed, else None: openocd / st-flash / pyocd
    openocd_cfg: str | None
    pyocd_target: str | None
    # Where a flashed program goes when not inside the region: QEMU's guest cannot write flash, so the host
    # preloads the raw blob into a read-only area (PROGROM in qemu_f405.ld). None: an upload record at
    # region_addr, what LOAD would have written there.
    program_rom: tuple[int, int] | None
    console: str  # the serial link to the host

    # --- derived ------------------------------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        """Every name board() accepts for this board."""
        return (self.name, *self.aliases)

    @property
    def emulated(self) -> bool:
        return self.tool == "qemu"

    @property
    def ram_top(self) -> int:
        return self.ram_base + self.ram_size

    @property
    def region_size(self) -> int:
        return sum(self.region_sectors)

    @property
    def fast_env(self) -> str | None:
        """The environment of the full-clock build (fast_flag added), None when the clock is fixed."""
        return f"{self.env}_fast" if self.fast_flag else None

    @property
    def envs(self) -> tuple[str, ...]:
        """Every offline environment that builds this board's firmware."""
        return (self.env, self.fast_env) if self.fast_env else (self.env,)

    def env_for(self, fast: bool) -> str:
        if fast and self.fast_env is None:
            raise BoardError(f"{self.name} has no fast build: its clock is fixed")
        return self.fast_env if fast and self.fast_env else self.env

    @property
    def build_flags(self) -> str:
        return build_flags(self.env)

    @property
    def arena_bytes(self) -> int:
        """APP_ARENA_BYTES of the board's build: the budget a training schedule must fit."""
        return define(self.env, "APP_ARENA_BYTES")

    @property
    def _slots(self) -> tuple[int, int]:
        """(sectors in slot A, sectors in slot B), as flash_layout.h lays them out from the region's end."""
        want = define(self.env, "APP_CHECKPOINT_SLOT_BYTES")
        sectors = list(self.region_sectors)
        counts = []
        for _ in range(2):  # slot B first (the last sectors), then slot A before it
            n, got = 0, 0
            while got < want:
                if not sectors:
                    raise BoardError(f"{self.name}: region too small for two {want}-byte checkpoint slots")
                got += sectors.pop()
                n += 1
            counts.append(n)
        if not sectors:
            raise BoardError(f"{self.name}: region leaves no program area beside the checkpoint slots")
        return counts[1], counts[0]

    @property
    def program_sectors(self) -> tuple[int, ...]:
        """Sectors of the program area LOAD writes: all before slot A."""
        a, b = self._slots
        return self.region_sectors[: len(self.region_sectors) - a - b]

    @property
    def program_area_bytes(self) -> int:
        return sum(self.program_sectors)

    @property
    def slot_a_addr(self) -> int:
        return self.region_addr + self.program_area_bytes

    @property
    def slot_b_addr(self) -> int:
        return self.slot_a_addr + self.checkpoint_slot_bytes

    @property
    def checkpoint_slot_bytes(self) -> int:
        """One checkpoint slot, header included (slot A and B are equal on every board here)."""
        a, b = self._slots
        n = len(self.region_sectors)
        size_a = sum(self.region_sectors[n - a - b : n - b])
        size_b = sum(self.region_sectors[n - b :])
        return min(size_a, size_b)

    @property
    def checkpoint_state_bytes(self) -> int:
        """Learned state a checkpoint slot holds."""
        return self.checkpoint_slot_bytes - SLOT_HEADER_BYTES

    @property
    def program_addr(self) -> int:
        """Where the flasher puts a compiled program."""
        return self.program_rom[0] if self.program_rom else self.region_addr

    @property
    def flasher_writes_program(self) -> bool:
        """True when the flasher writes the program into the region as an upload record (real boards);
        False when the host preloads it raw into a read-only area (QEMU)."""
        return self.program_rom is None

    @property
    def max_program_bytes(self) -> int:
        """Largest program blob the flasher accepts."""
        if self.program_rom:
            return self.program_rom[1]
        return self.program_area_bytes - RECORD_HEADER_BYTES


BOARDS: dict[str, Board] = {
    b.name: b
    for b in (
        Board(
            name="qemu_f405",
            title="STM32F405 emulated by QEMU (netduinoplus2)",
            env="qemu_f405",
            online_env=None,
            aliases=(),
            ram_base=0x2000_0000,
            ram_size=128 * KB,  # the SRAM above it stands in for the flash region
            cpu_hz=168_000_000,  # QEMU virtual time
            fast_cpu_hz=None,
            fast_flag=None,
            code_base=0x0800_0000,
            code_size=512 * KB,
            flash_total=1024 * KB,
            region_addr=0x2002_0000,
            region_sectors=(8 * KB,) * 8,
            region_is_ram=True,
            tool="qemu",
            openocd_cfg=None,
            pyocd_target=None,
            program_rom=(0x0808_0000, 512 * KB),
            console="QEMU UART over TCP (chardev socket)",
        ),
        Board(
            name="disco_f746",
            title="STM32F746G-DISCO (the paper's board)",
            env="disco_f746",
            online_env="disco_f746ng_online",
            aliases=("disco_f746ng",),  # PlatformIO's official board id
            ram_base=0x2000_0000,
            ram_size=320 * KB,
            cpu_hz=16_000_000,  # HSI
            fast_cpu_hz=216_000_000,
            fast_flag="-DDISCO_F746_FAST=1",
            code_base=0x0800_0000,
            code_size=128 * KB,  # chip sectors 0-3, 32 KB each
            flash_total=1024 * KB,
            region_addr=0x0802_0000,  # chip sectors 4-7
            region_sectors=(128 * KB, 256 * KB, 256 * KB, 256 * KB),
            region_is_ram=False,
            tool=None,
            openocd_cfg="board/stm32f7discovery.cfg",
            pyocd_target="stm32f746ng",  # not built into pyocd: `pyocd pack install stm32f746ng` first
            program_rom=None,
            console="ST-LINK virtual COM port = USART1 PA9 (TX) / PB7 (RX), 115200 8N1",
        ),
        Board(
            name="nucleo_f412zg",
            title="NUCLEO-F412ZG (STM32F412ZG: 256 KB SRAM, 1 MB flash, the paper's memory budget)",
            env="nucleo_f412zg",
            online_env="nucleo_f412zg_online",
            aliases=(),  # the name is PlatformIO's official board id already
            ram_base=0x2000_0000,
            ram_size=256 * KB,
            cpu_hz=16_000_000,  # HSI
            fast_cpu_hz=100_000_000,
            fast_flag="-DNUCLEO_F412ZG_FAST=1",
            code_base=0x0800_0000,
            code_size=128 * KB,  # chip sectors 0-4 (4 x 16 KB + 64 KB)
            flash_total=1024 * KB,
            region_addr=0x0802_0000,  # chip sectors 5-11
            region_sectors=(128 * KB,) * 7,
            region_is_ram=False,
            tool=None,
            openocd_cfg="board/st_nucleo_f4.cfg",
            pyocd_target="stm32f412xg",  # built into pyocd
            program_rom=None,
            console="ST-LINK virtual COM port = USART3 PD8 (TX) / PD9 (RX), 115200 8N1",
        ),
    )
}
DEFAULT = "qemu_f405"


def names() -> list[str]:
    """Every accepted board name, canonical names first."""
    return [n for b in BOARDS.values() for n in b.names]


def help_names() -> str:
    """The names for `--board` help: the one users type for each board (PlatformIO's board id when
    that differs), its other names in brackets."""
    parts = []
    for b in BOARDS.values():
        shown, *others = [*b.aliases, b.name]
        note = ["emulated, default"] if b.name == DEFAULT else []
        note += [f"or {o}" for o in others]
        parts.append(f"{shown} ({', '.join(note)})" if note else shown)
    return " | ".join(parts)


def for_env(env: str) -> Board:
    """The board an offline environment builds firmware for."""
    for b in BOARDS.values():
        if env in b.envs:
            return b
    raise BoardError(f"no board builds with environment {env!r}")


def board(name: str) -> Board:
    """The board called `name`: its canonical name (= offline environment) or an alias."""
    for b in BOARDS.values():
        if name in b.names:
            return b
    raise BoardError(f"unknown board {name!r}; known: {', '.join(names())}")


# --- platformio.ini and app_config.h -----------------------------------------------------------------------


def _ini(ini: Path) -> configparser.ConfigParser:
    try:
        return _parse_ini(ini, ini.stat().st_mtime_ns)  # re-read when the file changes
    except FileNotFoundError:
        raise OSError(f"cannot read {ini}") from None


@cache
def _parse_ini(ini: Path, mtime_ns: int) -> configparser.ConfigParser:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ini)
    return cfg


def build_flags(env: str, ini: Path = PLATFORMIO_INI) -> str:
    """The env's build_flags with PlatformIO's ${section.option} references expanded."""
    cfg = _ini(ini)
    if not cfg.has_section(f"env:{env}"):
        # Not the host default of app_config.h: a board without its environment has no build to read.
        raise BoardError(f"{ini.name} has no [env:{env}]")

    def expand(value: str, depth: int = 0) -> str:
        def sub(m: re.Match[str]) -> str:
            section, option = m.group(1).rsplit(".", 1)
            # ${PROJECT_DIR} and other non-section variables have no dot: left as they are.
            return expand(cfg.get(section, option, fallback=""), depth + 1) if depth < 8 else ""

        return re.sub(r"\$\{([^}.]+\.[^}]+)\}", sub, value)

    return " ".join(expand(cfg.get(f"env:{env}", "build_flags", fallback="")).split())


_OPS: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Div: operator.floordiv,  # C integer division
    ast.LShift: operator.lshift,
}


def c_int(expr: str) -> int:
    """Value of a C integer constant expression as the firmware writes them: (24u * 1024u), 245760u, 0x400."""
    text = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b", r"\1", expr)

    def ev(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        raise ValueError(f"not a C integer constant: {expr!r}")

    return ev(ast.parse(text.strip(), mode="eval").body)


def define(env: str, name: str, ini: Path = PLATFORMIO_INI, header: Path = APP_CONFIG_H) -> int:
    """A macro as the env's firmware sees it: its -D build flag, else the #ifndef default in app_config.h."""
    m = re.search(rf"(?:^|\s)-D{name}=(\S+)", build_flags(env, ini))
    if m:
        return c_int(m.group(1))
    d = re.search(rf"^\s*#\s*define\s+{name}\s+(.+?)\s*(?:/[/*].*)?$", header.read_text(), re.MULTILINE)
    if d is None:
        raise ValueError(f"{name} is neither a build flag of [env:{env}] nor defined in {header.name}")
    return c_int(d.group(1))
