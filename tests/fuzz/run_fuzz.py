"""The big fuzz run of the device frame decoder, outside the normal test suite.

    python -m tests.fuzz.run_fuzz                      # 1,000,000 random frames + libFuzzer
    python -m tests.fuzz.run_fuzz --iterations 5000000 --seed 7 --libfuzzer-runs 0

The random-frame driver (fuzz_link.c) runs under ASan/UBSan; the libFuzzer harness
(libfuzzer_link.c) runs when clang is installed, seeded with valid frames of every command.
Exits non-zero on the first failed check or sanitizer report.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "protocol"))

import proto_build as cbuild  # noqa: E402

from mcutrain.device import protocol as proto  # noqa: E402
from mcutrain.device.link import Frame, encode_frame  # noqa: E402


def seed_corpus(where: Path) -> Path:
    """One valid request per command (with and without payload), a few events and a NAK."""
    where.mkdir(parents=True, exist_ok=True)
    for cmd in proto.Cmd:
        for n in (0, 8, 300, 1024):
            payload = (bytes(range(251)) * 5)[:n]
            (where / f"seed-{cmd.name}-{n}").write_bytes(encode_frame(Frame(cmd, n & 0xFF, 0, payload)))
    (where / "seed-event").write_bytes(encode_frame(Frame(proto.FRAME_EVENT, 0, proto.Event.LOG, b"hello")))
    (where / "seed-nak").write_bytes(encode_frame(Frame(proto.FRAME_NAK, 3, proto.Status.BAD_CRC)))
    return where


def run_driver(iterations: int, seed: int) -> str:
    exe = cbuild.build_fuzz_driver()
    t = time.monotonic()
    r = subprocess.run([str(exe), str(iterations), str(seed)], capture_output=True, text=True)
    took = time.monotonic() - t
    if r.returncode != 0:
        raise SystemExit(f"fuzz driver failed (seed {seed}):\n{r.stdout}{r.stderr}")
    return f"{r.stdout.strip()}\nseconds={took:.1f}"


def run_libfuzzer(runs: int, seconds: int) -> str:
    exe = cbuild.build_libfuzzer()
    corpus = seed_corpus(cbuild.OUT / "libfuzzer_corpus")
    args = [str(exe), f"-runs={runs}", "-max_len=4200", "-seed=1", "-print_final_stats=1"]
    if seconds:
        args.append(f"-max_total_time={seconds}")
    t = time.monotonic()
    r = subprocess.run([*args, str(corpus)], capture_output=True, text=True)
    took = time.monotonic() - t
    if r.returncode != 0:
        raise SystemExit(f"libFuzzer failed:\n{r.stderr[-4000:]}")
    stats = [line for line in r.stderr.splitlines() if line.startswith(("stat::", "Done"))]
    return "\n".join(stats) + f"\nseconds={took:.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=1_000_000, help="random-frame bursts (default 1e6)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--libfuzzer-runs", type=int, default=1_000_000, help="0 to skip libFuzzer")
    ap.add_argument("--libfuzzer-seconds", type=int, default=0, help="time cap for libFuzzer (0 = none)")
    a = ap.parse_args(argv)
    print("== random-frame driver, ASan+UBSan ==")
    print(run_driver(a.iterations, a.seed))
    if a.libfuzzer_runs:
        if shutil.which("clang") is None:
            print("== libFuzzer skipped: clang not installed (apt-get install -y clang) ==")
        else:
            print("== libFuzzer, ASan+UBSan ==")
            print(run_libfuzzer(a.libfuzzer_runs, a.libfuzzer_seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
