"""Quick, seeded fuzzing in the normal suite (the >= 1M run is python -m tests.fuzz.run_fuzz)."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

import proto_build as cbuild  # noqa: E402

from mcutrain.device import protocol as proto  # noqa: E402
from mcutrain.device.link import Deframer, Frame, encode_frame  # noqa: E402


@pytest.fixture(scope="module")
def driver() -> Path:
    try:
        return cbuild.build_fuzz_driver()
    except cbuild.BuildError as e:
        pytest.skip(f"cannot build the sanitized fuzz driver: {e}")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_c_decoder_seeded_fuzz(driver: Path, seed: int) -> None:
    """20k bursts per seed under ASan/UBSan; the driver aborts if a clean frame after a burst is
    not accepted, if a duplicate is re-executed or if the link writes a malformed frame."""
    r = subprocess.run([str(driver), "20000", str(seed)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    stats = dict(kv.split("=") for kv in r.stdout.split() if "=" in kv and "," not in kv)
    assert int(stats["probes_ok"]) == 20000
    assert int(stats["nak_crc"]) > 0 and int(stats["nak_bad"]) > 0 and int(stats["delivered"]) > 20000


def test_libfuzzer_short_run(tmp_path: Path) -> None:
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    try:
        exe = cbuild.build_libfuzzer()
    except cbuild.BuildError as e:
        pytest.skip(f"cannot build the libFuzzer harness: {e}")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for cmd in (proto.Cmd.PING, proto.Cmd.TRAIN, proto.Cmd.HELLO):
        (corpus / cmd.name).write_bytes(encode_frame(Frame(cmd, 1, 0, b"seed\0data")))
    r = subprocess.run(
        [str(exe), "-runs=20000", "-max_len=4200", "-seed=7", str(corpus)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr[-3000:]


def test_python_deframer_resyncs_after_garbage() -> None:
    """The host side of the same property: after any garbage, the next frame gets through."""
    rng = random.Random(5)
    d = Deframer()
    for i in range(3000):
        garbage = rng.randbytes(rng.choice([0, 1, 10, 300, 5000]))
        if rng.random() < 0.3:
            good = bytearray(encode_frame(Frame(proto.Cmd.PING | 0x80, 1, 0, b"x" * 40)))
            good[rng.randrange(len(good) - 1)] ^= 1 << rng.randrange(8)
            garbage += bytes(good)
        d.feed(garbage)
        probe = Frame(proto.FRAME_EVENT, i & 0xFF, proto.Event.LOG, b"probe %d" % i)
        got = d.feed(b"\0" + encode_frame(probe))
        assert got[-1] == probe
