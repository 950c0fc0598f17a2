"""protocol.h and protocol.py must define the same codes and sizes, and the spec must name them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from mcutrain.device import protocol as proto
from mcutrain.device.link import MAX_WIRE

ROOT = Path(__file__).resolve().parents[2]
HEADER = ROOT / "firmware" / "app" / "protocol.h"
LINK_H = ROOT / "firmware" / "app" / "link.h"
SPEC = ROOT / "docs" / "protocol.md"

_DEFINE = re.compile(r"^\s*#\s*define\s+([A-Z][A-Z0-9_]*)\s+(.+?)\s*(?:/\*.*)?$")


def parse_defines(path: Path) -> dict[str, int]:
    """Numeric #defines of a header, each a literal (0x.., decimal, optional u suffix)."""
    out: dict[str, int] = {}
    for line in path.read_text().splitlines():
        m = _DEFINE.match(line)
        if not m or m.group(1).endswith("_H"):
            continue
        lit = re.fullmatch(r"(0[xX][0-9A-Fa-f]+|\d+)[uU]?", m.group(2))
        if lit:
            out[m.group(1)] = int(lit.group(1), 0)
    return out


def test_header_and_python_agree() -> None:
    c = parse_defines(HEADER)
    py = proto.c_defines()
    assert set(c) - set(py) == set(), "defined in protocol.h but not in protocol.py"
    assert set(py) - set(c) == set(), "defined in protocol.py but not in protocol.h"
    for name, value in c.items():
        assert py[name] == value, f"{name}: protocol.h says {value:#x}, protocol.py {py[name]:#x}"


def test_header_parser_sees_everything() -> None:
    # Guard against the regex silently skipping defines (e.g. someone writes an expression).
    text = HEADER.read_text()
    n_defines = len(re.findall(r"^\s*#\s*define\s+[A-Z]", text, re.M)) - 1  # minus the include guard
    assert len(parse_defines(HEADER)) == n_defines


def test_link_max_payload_agrees() -> None:
    assert parse_defines(LINK_H)["LINK_MAX_PAYLOAD"] == proto.MAX_PAYLOAD


def test_codes_unique_and_in_range() -> None:
    for enum in (proto.Cmd, proto.Status, proto.Event, proto.ResetReason):
        values = [int(m) for m in enum]
        assert len(values) == len(set(values)), enum
    for cmd in proto.Cmd:
        assert 0 < cmd <= proto.CMD_MAX
        reply = cmd | proto.REPLY_BIT
        assert reply not in (proto.FRAME_NAK, proto.FRAME_EVENT)
    assert proto.XFER_CHUNK_MAX_DATA + proto.XFER_CHUNK_HEADER.size == proto.MAX_PAYLOAD


def test_spec_names_every_code() -> None:
    spec = SPEC.read_text()
    for prefix, enum in (("CMD", proto.Cmd), ("STATUS", proto.Status), ("EVENT", proto.Event)):
        for m in enum:
            assert f"{prefix}_{m.name}" in spec, f"docs/protocol.md does not mention {prefix}_{m.name}"


def test_spec_payload_sizes_match(tmp_path: Path) -> None:
    """The C compiler agrees with the *_SIZE defines the spec tables are built from."""
    c = parse_defines(HEADER)
    prog = tmp_path / "sizes.c"
    prog.write_text(
        '#include <stdio.h>\n#include "protocol.h"\n#include "link.h"\n'
        "int main(void) {\n"
        '  printf("%u %u\\n", (unsigned)LINK_MAX_FRAME, (unsigned)LINK_MAX_WIRE);\n'
        "  return 0;\n}\n"
    )
    exe = tmp_path / "sizes"
    r = subprocess.run(
        [
            "gcc",
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-I",
            str(HEADER.parent),
            str(prog),
            "-o",
            str(exe),
        ],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.fail(r.stderr)
    frame, wire = map(int, subprocess.run([str(exe)], capture_output=True, text=True).stdout.split())
    assert frame == c["PROTO_HEADER_SIZE"] + proto.MAX_PAYLOAD + c["PROTO_CRC_SIZE"]
    assert wire == MAX_WIRE
