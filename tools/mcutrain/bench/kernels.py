"""Instruction counts of the reference vs the Cortex-M (ops/arm/) kernels on the emulated STM32F405.

    python -m mcutrain.bench.kernels                   # person-detection model, table + JSON
    python -m mcutrain.bench.kernels --json out.json --host-runs 20

Builds firmware/bench/main.c twice (PlatformIO envs qemu_f405_bench_ref / qemu_f405_bench_opt),
preloads a bench image (program + input) into the emulated flash, runs QEMU with -icount shift=0
(SysTick ticks -> instructions, `qemu.ticks_to_instructions`), and reads one line per op. Every
op's outputs are CRC-checked against the host build of the engine run op by op, for both kernel
sets, so a count is only reported for a bit-exact run. MACs count every kernel tap, padding
included (TFLite Micro's convention in docs/kernels.md). Also: the host speed of one inference of
our engine vs the tflite-micro interpreter (median of several).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import re
import statistics
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import serial

from mcutrain.build import CORE_DIR, BuildError, elf_path, pio_env, seed_core_dir
from mcutrain.compiler.emit import OPCODES, Program, compile_graph
from mcutrain.device.qemu import QemuBoard, ticks_to_instructions
from mcutrain.hostlib import Engine
from mcutrain.paths import ROOT, shared_data
from mcutrain.tflite_import import parse_tflite

ENVS = {"ref": "qemu_f405_bench_ref", "opt": "qemu_f405_bench_opt"}
IMAGE_ADDR = 0x08080000  # BENCH_IMAGE_ADDR in firmware/bench/main.c
IMAGE_MAX = 512 * 1024  # flash from there to the end of the 1 MB
MODEL = shared_data() / "tflm_person_detection" / "person_detect.tflite"
INPUT = shared_data() / "tflm_person_detection" / "person_int8.npy"
OPNAMES = {v: k for k, v in OPCODES.items()}
CONV, DW, FC = OPCODES["CONV_2D"], OPCODES["DEPTHWISE_CONV_2D"], OPCODES["FULLY_CONNECTED"]

# TFLite Micro on the same emulated board (docs: /work/shared/notes/environment.md), person detection.
TFLM = {
    "reference": {"instructions": 95_823_480, "total": 13.39, "conv": 8.75, "dw": 43.2},
    "cmsis-nn": {"instructions": 22_928_824, "total": 3.20, "conv": 2.35, "dw": 8.64},
}


class BenchError(RuntimeError):
    pass


# ---- program introspection (docs/schedule-format.md) ---------------------------------------------


@dataclass
class OpInfo:
    index: int
    opcode: int
    inputs: list[int]
    outputs: list[int]
    macs: int


def _tensor_dims(blob: bytes, tid: int) -> list[int]:
    t_off = struct.unpack_from("<I", blob, 24)[0]
    rec = t_off + 32 * tid
    rank = blob[rec + 2]
    return list(struct.unpack_from("<4H", blob, rec + 4)[:rank])


def program_ops(blob: bytes) -> list[OpInfo]:
    n_ops = struct.unpack_from("<H", blob, 22)[0]
    o_off = struct.unpack_from("<I", blob, 28)[0]
    ops = []
    for i in range(n_ops):
        rec = o_off + 32 * i
        opcode, n_in, n_out = blob[rec], blob[rec + 1], blob[rec + 2]
        ids = struct.unpack_from("<8H", blob, rec + 4)
        ins, outs = list(ids[:n_in]), list(ids[n_in : n_in + n_out])
        macs = 0
        if opcode in (CONV, DW):
            out = int(np.prod(_tensor_dims(blob, outs[0])))
            f = _tensor_dims(blob, ins[1])  # conv [Co,KH,KW,Ci], depthwise [1,KH,KW,Co]
            macs = out * f[1] * f[2] * (f[3] if opcode == CONV else 1)
        elif opcode == FC:
            units, depth = _tensor_dims(blob, ins[1])
            macs = int(np.prod(_tensor_dims(blob, outs[0]))) * depth
            del units
        ops.append(OpInfo(i, opcode, ins, outs, macs))
    return ops


def host_op_crcs(prog: Program, x: np.ndarray, arm_ops: bool = False) -> tuple[list[int], bytes]:
    """CRC-32 of every op's outputs (as the bench firmware computes them) and output 0's bytes."""
    eng = Engine(prog.blob, arm_ops=arm_ops)
    eng.write(prog.inputs[0], x)
    crcs = []
    for op in program_ops(prog.blob):
        eng.run(op.index, op.index + 1)
        crc = 0
        for t in op.outputs:
            crc = zlib.crc32(eng.read(t).tobytes(), crc)
        crcs.append(crc & 0xFFFFFFFF)
    return crcs, eng.read(prog.outputs[0]).tobytes()


# ---- firmware --------------------------------------------------------------------------------------


def build_bench(kind: str) -> Path:
    """`pio run` of the bench environment (offline platform, project-local core dir)."""
    env = ENVS[kind]
    seed_core_dir()
    exe = Path(sys.executable).with_name("pio")
    cmd = [str(exe) if exe.exists() else "pio", "run", "-e", env, "-d", str(ROOT)]
    CORE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CORE_DIR / ".build.lock", "w") as lock:  # the lock mcutrain.build takes, too
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.run(cmd, env=pio_env(), capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elf_path(env)


def bench_image(blob: bytes, x: np.ndarray, label: int = 0) -> bytes:
    """The flash image firmware/bench/main.c reads; `label` is used by training programs only."""
    data = np.ascontiguousarray(x).tobytes()
    pad = (-len(blob)) % 4
    img = b"MCTB" + struct.pack("<III", len(blob), len(data), label) + blob + bytes(pad) + data
    if len(img) > IMAGE_MAX:
        raise BenchError(f"bench image of {len(img)} bytes does not fit the {IMAGE_MAX} bytes of flash left")
    return img


@dataclass
class DeviceRun:
    kernels: str
    cal_ticks: int
    ticks: list[int] = field(default_factory=list)
    crcs: list[int] = field(default_factory=list)
    flags: list[int] = field(default_factory=list)  # op flags (1: split-weight forward)
    forward_ops: int | None = None  # training programs: ops [0, forward_ops) are the forward
    output: bytes = b""
    seconds: float = 0.0

    def instructions(self, i: int) -> int:
        return ticks_to_instructions(max(self.ticks[i] - self.cal_ticks, 0))


def run_device(elf: Path, image: bytes, timeout: float = 120.0) -> DeviceRun:
    t0 = time.monotonic()
    with QemuBoard(elf, preload={IMAGE_ADDR: image}) as q:
        buf = b""
        deadline = t0 + timeout
        # until the END line is complete (the firmware then waits for our byte before it exits)
        while not re.search(rb"END \d+\n", buf):
            if time.monotonic() > deadline:
                raise BenchError(f"bench did not finish in {timeout:g}s; got:\n{buf.decode(errors='replace')}")
            try:
                buf += q.port.read(4096)
            except serial.SerialException:
                break
        with contextlib.suppress(serial.SerialException):
            q.port.write(b"\n")  # the firmware waits for this before it exits
        q.wait(10.0)
        if not re.search(rb"END \d+\n", buf):
            raise BenchError(f"QEMU exited ({q.exit_code}) early:\n{buf.decode(errors='replace')}\n{q.log()}")
    run = DeviceRun(kernels="", cal_ticks=0, seconds=time.monotonic() - t0)
    for line in buf.decode(errors="replace").splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "BENCH":
            run.kernels = f[3]
        elif f[0] == "CAL":
            run.cal_ticks = int(f[1])
        elif f[0] == "TRAIN":
            run.forward_ops = int(f[1])
        elif f[0] == "OP":
            run.ticks.append(int(f[3]))
            run.crcs.append(int(f[4], 16))
            run.flags.append(int(f[5]) if len(f) > 5 else 0)
        elif f[0] == "OUT":
            run.output = bytes.fromhex(f[1]) if len(f) > 1 else b""
        elif f[0] == "END" and f[1] != "0":
            raise BenchError(f"bench firmware failed with engine status {f[1]}:\n{buf.decode(errors='replace')}")
        elif f[0] == "FAULT":
            raise BenchError(f"bench firmware faulted: {line}")
    return run


# ---- host speed ------------------------------------------------------------------------------------


def host_speed(model: bytes, prog: Program, x: np.ndarray, runs: int = 15) -> dict[str, float]:
    """Median seconds of one inference: our host engine (reference kernels, -O2) vs tflite-micro."""
    from tflite_micro.python.tflite_micro import runtime

    eng = Engine(prog.blob)
    it = runtime.Interpreter.from_bytes(model)

    def ours() -> None:
        eng.write(prog.inputs[0], x)
        eng.run()

    def tflm() -> None:
        it.set_input(x, 0)
        it.invoke()

    out: dict[str, float] = {}
    for name, fn in (("ours", ours), ("tflm", tflm)):
        fn()  # warm up
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        out[name] = statistics.median(times)
    out["speedup_vs_tflm"] = out["tflm"] / out["ours"]
    return out


# ---- the benchmark -------------------------------------------------------------------------------


def run(model_path: Path = MODEL, input_path: Path = INPUT, host_runs: int = 15, verbose: bool = True) -> dict:
    model = model_path.read_bytes()
    prog = compile_graph(parse_tflite(model, model_path.name), model_path.name)
    x = np.load(input_path) if input_path.suffix == ".npy" else np.zeros((1, 96, 96, 1), np.int8)
    image = bench_image(prog.blob, x)
    ops = program_ops(prog.blob)
    want_crcs, want_out = host_op_crcs(prog, x)
    runs: dict[str, DeviceRun] = {}
    for kind in ("ref", "opt"):
        r = run_device(build_bench(kind), image)
        if len(r.crcs) != len(ops):
            raise BenchError(f"{kind}: {len(r.crcs)} op lines for {len(ops)} ops")
        bad = [i for i, (a, b) in enumerate(zip(r.crcs, want_crcs, strict=True)) if a != b]
        if bad or r.output != want_out:
            raise BenchError(f"{kind}: device outputs differ from the host engine at ops {bad}")
        runs[kind] = r

    def total(kind: str, opcodes: tuple[int, ...] | None) -> tuple[int, int]:
        sel = [o for o in ops if opcodes is None or o.opcode in opcodes]
        return sum(runs[kind].instructions(o.index) for o in sel), sum(o.macs for o in sel)

    res: dict = {"model": model_path.name, "macs": sum(o.macs for o in ops)}
    for kind in ("ref", "opt"):
        for key, sel in (("conv", (CONV,)), ("dw", (DW,)), ("fc", (FC,)), ("total", None)):
            ins, macs = total(kind, sel)
            if macs:
                res[f"instr_per_mac_{key}_{kind}"] = ins / macs
        res[f"instructions_{kind}"] = total(kind, None)[0]
    res["speedup_opt_vs_ref"] = res["instructions_ref"] / res["instructions_opt"]
    res["speedup_opt_vs_tflm_cmsis"] = TFLM["cmsis-nn"]["instructions"] / res["instructions_opt"]
    res["output"] = list(np.frombuffer(want_out, np.int8).tolist())
    res["host"] = host_speed(model, prog, x, host_runs) if host_runs > 0 else {}
    res["layers"] = [
        {
            "op": o.index,
            "kind": OPNAMES.get(o.opcode, hex(o.opcode)),
            "macs": o.macs,
            "instr_ref": runs["ref"].instructions(o.index),
            "instr_opt": runs["opt"].instructions(o.index),
        }
        for o in ops
    ]
    if verbose:
        print(format_table(res))
    return res


def format_table(res: dict) -> str:
    lines = [f"{res['model']}: {res['macs']:,} MACs; instructions on the emulated Cortex-M4 (QEMU -icount)", ""]
    hdr = f"{'op':>3} {'kind':<18} {'MACs':>10} {'instr ref':>12} {'instr opt':>11} {'i/MAC ref':>9} {'i/MAC opt':>9}"
    lines += [hdr + f" {'ref/opt':>7}", "-" * (len(hdr) + 8)]
    for row in res["layers"]:
        m = row["macs"]
        per = f"{row['instr_ref'] / m:9.2f} {row['instr_opt'] / m:9.2f}" if m else f"{'':9} {'':9}"
        ratio = row["instr_ref"] / row["instr_opt"] if row["instr_opt"] else float("nan")
        lines.append(
            f"{row['op']:>3} {row['kind']:<18} {m:>10,} {row['instr_ref']:>12,} {row['instr_opt']:>11,} "
            f"{per} {ratio:7.2f}"
        )
    lines.append("")
    lines.append(f"{'instr/MAC':<12} {'ours ref':>9} {'ours opt':>9} {'TFLM ref':>9} {'TFLM+CMSIS':>11}")
    for key, tk in (("conv", "conv"), ("dw", "dw"), ("total", "total")):
        lines.append(
            f"{key:<12} {res[f'instr_per_mac_{key}_ref']:9.2f} {res[f'instr_per_mac_{key}_opt']:9.2f} "
            f"{TFLM['reference'][tk]:9.2f} {TFLM['cmsis-nn'][tk]:11.2f}"
        )
    lines.append(
        f"{'instructions':<12} {res['instructions_ref']:>9,} {res['instructions_opt']:>9,} "
        f"{TFLM['reference']['instructions']:>9,} {TFLM['cmsis-nn']['instructions']:>11,}"
    )
    lines.append(
        f"opt vs ref: {res['speedup_opt_vs_ref']:.2f}x fewer instructions; "
        f"vs TFLM+CMSIS-NN: {res['speedup_opt_vs_tflm_cmsis']:.2f}x; output {res['output']}"
    )
    h = res["host"]
    if h:
        lines.append(
            f"host, one inference (median): ours {h['ours'] * 1e3:.3f} ms, "
            f"tflite-micro {h['tflm'] * 1e3:.3f} ms -> {h['speedup_vs_tflm']:.1f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=MODEL)
    ap.add_argument("--input", type=Path, default=INPUT, help=".npy int8 input (default: person_int8.npy)")
    ap.add_argument("--host-runs", type=int, default=15)
    ap.add_argument("--json", type=Path, help="write the results dict here")
    args = ap.parse_args(argv)
    try:
        res = run(args.model, args.input, args.host_runs)
    except (BenchError, BuildError) as e:
        print(e, file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
