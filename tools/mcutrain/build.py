"""Build the firmware offline with PlatformIO, and report its size.

PlatformIO runs SCons from a "tool-scons" core package it normally downloads. Here there is no
registry, so `seed_core_dir()` builds that package from the `scons` already installed with pip
(a launcher plus the metadata PlatformIO checks) inside a project-local core dir, `.pio-core`.
Nothing is read from or written to the user's ~/.platformio.

    python -m mcutrain.build qemu_f405 disco_f746 nucleo_f412zg
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mcutrain import boards
from mcutrain.paths import FIRMWARE, ROOT

CORE_DIR = ROOT / ".pio-core"
BUILD_DIR = ROOT / ".pio" / "build"
# The offline PlatformIO environments, one per board (mcutrain.boards).
ENVS = tuple(e for b in boards.BOARDS.values() for e in b.envs)
# User-facing board names (as in `--board`) -> offline PlatformIO environment.
BOARDS = {name: b.env for b in boards.BOARDS.values() for name in b.names}


def env_for_board(board: str) -> str:
    try:
        return boards.board(board).env
    except boards.BoardError as e:
        raise BuildError(str(e)) from None

# PlatformIO pins the core package by a semver range of its own version scheme; 6.1 and 6.2 both
# ask for "~4.41101.0" (platformio/dependencies.py), read at runtime so an upgrade is not silent.
_FALLBACK_SCONS_PKG_VERSION = "4.41101.0"

_SCONS_LAUNCHER = """\
# PlatformIO's tool-scons entry point, seeded by mcutrain.build from pip's SCons.
import sys

from SCons.Script.Main import main

sys.exit(main())
"""


class BuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class Size:
    text: int
    data: int
    bss: int

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss


def _scons_pkg_version() -> str:
    try:
        from platformio.dependencies import get_core_dependencies
    except ImportError:
        return _FALLBACK_SCONS_PKG_VERSION
    spec = get_core_dependencies().get("tool-scons", "")
    m = re.search(r"(\d+\.\d+\.\d+)", spec)
    return m.group(1) if m else _FALLBACK_SCONS_PKG_VERSION


def seed_core_dir(core_dir: Path = CORE_DIR) -> Path:
    """Create core_dir/packages/tool-scons from pip's SCons. Idempotent; returns the package dir."""
    try:
        import SCons  # noqa: F401
    except ImportError as e:
        raise BuildError("SCons is not installed in this Python (pip install scons)") from e
    version = _scons_pkg_version()
    pkg = core_dir / "packages" / "tool-scons"
    files = {
        "scons.py": _SCONS_LAUNCHER,
        "package.json": json.dumps({"name": "tool-scons", "version": version}) + "\n",
        ".piopm": json.dumps(
            {
                "type": "tool",
                "name": "tool-scons",
                "version": version,
                "spec": {
                    "owner": "platformio",
                    "id": None,
                    "name": "tool-scons",
                    "requirements": None,
                    "uri": None,
                },
            }
        )
        + "\n",
    }
    pkg.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = pkg / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return pkg


def pio_env(core_dir: Path = CORE_DIR) -> dict[str, str]:
    """Environment for `pio`: project-local core dir, no telemetry or update checks (offline)."""
    env = dict(os.environ)
    env["PLATFORMIO_CORE_DIR"] = str(core_dir)
    env["PLATFORMIO_SETTING_ENABLE_TELEMETRY"] = "no"
    env["PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL"] = "3650"
    env["PLATFORMIO_SETTING_CHECK_PRUNE_SYSTEM_THRESHOLD"] = "0"
    env["PLATFORMIO_DISABLE_PROGRESSBAR"] = "true"
    env["PLATFORMIO_NO_ANSI"] = "true"
    return env


def _pio_command() -> list[str]:
    exe = Path(sys.executable).with_name("pio")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("pio")
    if found:
        return [found]
    return [sys.executable, "-m", "platformio"]


@contextmanager
def _build_lock(core_dir: Path) -> Iterator[None]:
    """Serialize builds: parallel test workers share .pio/build and the core dir."""
    core_dir.mkdir(parents=True, exist_ok=True)
    with open(core_dir / ".build.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def elf_path(env_name: str) -> Path:
    return BUILD_DIR / env_name / "firmware.elf"


def elf_size(elf: Path) -> Size:
    """text/data/bss as arm-none-eabi-size (Berkeley format) counts them."""
    out = subprocess.run(
        ["arm-none-eabi-size", "-B", "-d", str(elf)], check=True, capture_output=True, text=True
    ).stdout
    fields = out.strip().splitlines()[-1].split()
    return Size(text=int(fields[0]), data=int(fields[1]), bss=int(fields[2]))


def build(env_name: str, *, verbose: bool = False, quiet: bool = False) -> Path:
    """`pio run -e env_name` offline; returns the ELF path. Raises BuildError with the log."""
    if env_name not in ENVS:
        raise BuildError(f"unknown offline environment {env_name!r}; known: {', '.join(ENVS)}")
    seed_core_dir()
    cmd = [*_pio_command(), "run", "-e", env_name, "-d", str(ROOT)]
    if verbose:
        cmd.append("-v")
    with _build_lock(CORE_DIR):
        proc = subprocess.run(cmd, env=pio_env(), capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    elf = elf_path(env_name)
    if not elf.exists():
        raise BuildError(f"pio run succeeded but {elf} is missing:\n{proc.stdout}")
    if not quiet:
        s = elf_size(elf)
        print(f"{env_name}: text={s.text} data={s.data} bss={s.bss} (flash {s.flash}, static RAM {s.ram})")
    return elf


def build_host(out: Path, *, cc: str = "cc", extra_flags: tuple[str, ...] = ()) -> Path:
    """The firmware as a host program (board/host.c: stdin/stdout link) built with the system cc."""
    sources = sorted(FIRMWARE.glob("engine/**/*.c")) + sorted(FIRMWARE.glob("app/*.c"))
    sources.append(FIRMWARE / "board" / "host.c")
    includes = [f"-I{FIRMWARE / d}" for d in ("board", "app", "engine")]
    out.parent.mkdir(parents=True, exist_ok=True)
    # No fused multiply-add, as on the device: float gradients must round identically on both.
    cmd = [cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-g", "-ffp-contract=off", *includes, *extra_flags]
    cmd += [str(s) for s in sources] + ["-o", str(out), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("envs", nargs="*", default=list(ENVS), help="environments (default: all offline ones)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    try:
        for env_name in args.envs:
            print(build(env_name, verbose=args.verbose))
    except BuildError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
