"""Builds the device link code for the host with gcc (or clang), for interop tests and fuzzing.

Outputs go to build/host/protocol/. Rebuilds only when a source is newer than the output, and
writes through a temporary name so parallel test workers never see a half-written file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "firmware" / "app"
ENGINE = ROOT / "firmware" / "engine"  # the link's CRC-32 is the engine's mct_crc32
HERE = Path(__file__).resolve().parent
FUZZ = ROOT / "tests" / "fuzz"
OUT = ROOT / "build" / "host" / "protocol"

LINK_SOURCES = [APP / "link.c", APP / "cobs.c", ENGINE / "crc32.c"]
HEADERS = [APP / "link.h", APP / "cobs.h", ENGINE / "engine.h", ENGINE / "tensor.h", APP / "protocol.h"]
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


class BuildError(RuntimeError):
    pass


def build(
    name: str,
    sources: list[Path],
    *,
    shared: bool = False,
    flags: list[str] | None = None,
    cc: str = "gcc",
) -> Path:
    """Compile sources (plus the link code) into OUT/name; return its path."""
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / name
    inputs = [*LINK_SOURCES, *sources]
    deps = [*inputs, *HEADERS, *FUZZ.glob("*.h"), Path(__file__)]
    if out.exists() and out.stat().st_mtime >= max(p.stat().st_mtime for p in deps):
        return out
    if shutil.which(cc) is None:
        raise BuildError(f"{cc} not found")
    cmd = [cc, *STRICT, "-O1", "-g", "-I", str(APP), "-I", str(ENGINE), *(flags or [])]
    if shared:
        cmd += ["-fPIC", "-shared"]
    fd, tmp = tempfile.mkstemp(dir=OUT, prefix=f".{name}.")
    os.close(fd)
    cmd += [*map(str, inputs), "-o", tmp]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        os.unlink(tmp)
        raise BuildError(f"{' '.join(cmd)}\n{r.stderr}")
    os.chmod(tmp, 0o755)
    os.replace(tmp, out)
    return out


def build_shim() -> Path:
    return build("liblink_shim.so", [HERE / "link_shim.c"], shared=True)


def build_sim() -> Path:
    # POSIX sockets are outside C99; the link code itself is still compiled as strict C99.
    return build("sim_device", [HERE / "sim_device.c"], flags=["-D_POSIX_C_SOURCE=200809L"])


def build_fuzz_driver() -> Path:
    return build("fuzz_link_asan", [FUZZ / "fuzz_link.c"], flags=SANITIZE)


def build_libfuzzer() -> Path:
    return build(
        "libfuzzer_link",
        [FUZZ / "libfuzzer_link.c"],
        flags=["-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all"],
        cc="clang",
    )
