"""Instructions of one training step on the emulated STM32F405 (QEMU `-icount shift=0`), sparse scheme.

Forward = the board's INFER of the training program; backward + update = TRAIN - INFER (the training
step's forward also stores the masks the backward reads, so this split is approximate by those few stores).
Per MAC: forward instructions / forward MACs (every conv, depthwise and FC tap); backward instructions /
backward MACs (input gradients of every layer the gradient passes through, weight gradients of the updated
channels), both from the compiled schedule. Which kernels the default `qemu_f405` firmware runs is read
from platformio.ini (`-DMCT_USE_ARM_OPS` = optimised ops/arm/). The time on a 216 MHz Cortex-M7 is an
estimate: QEMU counts instructions, not cycles (no caches, wait states or dual issue).

Per op (`op_profile`, `python -m mcutrain.bench.device_speed --ops`): the kernels bench firmware
(firmware/bench/main.c, optimised kernels) runs the same training program op by op over one whole step and
times each op; every op's outputs are CRC-checked against the host engine run the same way.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..boards import PLATFORMIO_INI, build_flags
from ..compiler.compile import CompileResult, compile_model
from ..compiler.emit_train import TrainConfig, emit_training
from ..ir import Graph, Op
from .memory import LR, PROJECT, SEED, BenchModel, sample_inputs, training_graph

M7_HZ = 216e6
ESTIMATE = "estimate: QEMU counts instructions, not cycles"
SAMPLES = 3


def default_kernels(ini: Path = PLATFORMIO_INI) -> str:
    """'optimised' when the qemu_f405 environment builds with -DMCT_USE_ARM_OPS, else 'reference'."""
    return "optimised" if "-DMCT_USE_ARM_OPS" in build_flags("qemu_f405", ini) else "reference"


def op_macs(g: Graph, op: Op) -> int:
    out = g.tensors[op.outputs[0]].shape
    w = g.tensors[op.inputs[1]].shape
    n = 1
    for d in out:
        n *= d
    if op.kind == "CONV_2D":
        return n * w[1] * w[2] * w[3]
    if op.kind == "DEPTHWISE_CONV_2D":
        return n * w[1] * w[2]
    if op.kind == "FULLY_CONNECTED":
        return n * w[1]
    return 0


def backward_macs(res: CompileResult) -> int:
    g = res.train.graph
    total = 0
    for s in res.train.steps:
        if s.kind == "GRAD_INPUT":
            total += op_macs(g, g.ops[s.op])
        elif s.kind == "GRAD_WEIGHT":
            op = g.ops[s.op]
            c_out = g.tensors[op.outputs[0]].shape[-1]
            total += op_macs(g, op) * int(s.attrs.get("k", c_out)) // c_out
    return total


def run(elf: Path, kernels: dict[str, Any] | None = None, m: BenchModel = PROJECT,
        samples: int = SAMPLES) -> dict[str, Any]:
    from ..device.client import DeviceTarget

    g = training_graph(m)
    res = compile_model(g, m.sparse_scheme, None, mode="int")
    prog = emit_training(res, TrainConfig(lr=LR, seed=SEED + 1))
    infer, train = [], []
    with DeviceTarget.qemu(elf, program=prog.blob) as dev:
        for i, x in enumerate(sample_inputs(g, samples, seed=1)):
            dev.infer(x)
            infer.append(dev.infer_instructions())
            train.append(dev.train_step(x, i % 2).instructions)
    fwd, step = int(statistics.median(infer)), int(statistics.median(train))
    bwd = step - fwd
    fmacs, bmacs = g.macs(), backward_macs(res)
    out: dict[str, Any] = {
        "model": m.key,
        "scheme": m.sparse_scheme.stem,
        "firmware_kernels": default_kernels(),
        "samples": samples,
        "forward_macs": fmacs,
        "backward_macs": bmacs,
        "instructions_forward": fwd,
        "instructions_step": step,
        "instructions_backward_update": bwd,
        "instr_per_mac_forward": fwd / fmacs,
        "instr_per_mac_backward": bwd / bmacs if bmacs else None,
        "instr_per_mac_step": step / (fmacs + bmacs),
        "m7_216mhz_step_ms_estimate": 1e3 * step / M7_HZ,
        "m7_216mhz_forward_ms_estimate": 1e3 * fwd / M7_HZ,
        "estimate_note": ESTIMATE,
    }
    if kernels:
        for k in ("conv", "dw", "total"):
            for v in ("ref", "opt"):
                out[f"kernels_instr_per_mac_{k}_{v}"] = kernels.get(f"instr_per_mac_{k}_{v}")
        # what the forward would cost with the other kernel set, scaled by the whole-inference ratio of the
        # kernels bench (person detection): a labelled estimate, not a measurement
        ratio = kernels["instructions_opt"] / kernels["instructions_ref"]
        if out["firmware_kernels"] == "reference":
            out["forward_optimised_estimate"] = int(fwd * ratio)
        else:
            out["forward_reference_estimate"] = int(fwd / ratio)
    return out


def format_table(d: dict[str, Any]) -> str:
    ms = d["m7_216mhz_step_ms_estimate"]
    lines = [
        f"Sparse scheme `{d['scheme']}` on {d['model']}; default `qemu_f405` firmware runs the "
        f"**{d['firmware_kernels']}** kernels; median of {d['samples']} samples.",
        "",
        "| part | MACs | instructions (QEMU) | instr/MAC | 216 MHz M7 (estimate) |",
        "|---|---:|---:|---:|---:|",
        f"| forward (INFER) | {d['forward_macs']:,} | {d['instructions_forward']:,} | "
        f"{d['instr_per_mac_forward']:.2f} | {d['m7_216mhz_forward_ms_estimate']:.0f} ms |",
        f"| backward + update (TRAIN − INFER) | {d['backward_macs']:,} | {d['instructions_backward_update']:,} | "
        f"{(d['instr_per_mac_backward'] or 0):.2f} | "
        f"{1e3 * d['instructions_backward_update'] / M7_HZ:.0f} ms |",
        f"| training step (TRAIN) | {d['forward_macs'] + d['backward_macs']:,} | {d['instructions_step']:,} | "
        f"{d['instr_per_mac_step']:.2f} | **{ms:.0f} ms** |",
        "",
        f"Time columns: instructions / 216e6 ({ESTIMATE}).",
    ]
    if "kernels_instr_per_mac_conv_ref" in d:
        lines += [
            "",
            "| forward kernels, instr/MAC (`bench/kernels.py`, person detection, one inference) | reference | "
            "optimised (ops/arm) |",
            "|---|---:|---:|",
        ]
        for k, name in (("conv", "CONV_2D"), ("dw", "DEPTHWISE_CONV_2D"), ("total", "whole inference")):
            lines.append(
                f"| {name} | {d[f'kernels_instr_per_mac_{k}_ref']:.2f} | {d[f'kernels_instr_per_mac_{k}_opt']:.2f} |"
            )
        if "forward_optimised_estimate" in d:
            lines.append(
                f"\nWith the optimised kernels this forward would take ≈ {d['forward_optimised_estimate']:,} "
                "instructions (estimate: measured forward × the kernels bench's opt/ref instruction ratio)."
            )
    return "\n".join(lines)


# ---- per-op profile of one training step -------------------------------------------------------------

CONV, DW, FC = 0x01, 0x02, 0x03
GRAD_INPUT = {0x41: "CONV", 0x42: "DW", 0x43: "FC"}
GRAD_WEIGHT = {0x44: "CONV", 0x45: "DW", 0x46: "FC"}
OP_KIND = {
    0x01: "CONV_2D", 0x02: "DEPTHWISE_CONV_2D", 0x03: "FULLY_CONNECTED", 0x04: "ADD", 0x05: "AVERAGE_POOL_2D",
    0x06: "MAX_POOL_2D", 0x07: "MEAN", 0x08: "PAD", 0x09: "SOFTMAX", 0x0A: "RESHAPE", 0x0B: "QUANTIZE",
    0x0C: "DEQUANTIZE", 0x0D: "REQUANTIZE", 0x40: "ACT_GRAD", 0x41: "CONV_GRAD_INPUT", 0x42: "DW_GRAD_INPUT",
    0x43: "FC_GRAD_INPUT", 0x44: "CONV_GRAD_WEIGHT", 0x45: "DW_GRAD_WEIGHT", 0x46: "FC_GRAD_WEIGHT",
    0x47: "GRAD_BIAS", 0x48: "GRAD_COPY", 0x49: "AVG_POOL_GRAD", 0x4A: "MAX_POOL_GRAD", 0x4B: "MEAN_GRAD",
    0x4C: "PAD_GRAD", 0x4D: "NORMALIZE", 0x80: "SOFTMAX_XENT", 0xA0: "UPDATE_WEIGHT", 0xA1: "UPDATE_BIAS",
    0xC0: "MASK",
}
SPLIT_W = 1  # op flag bit 0 (docs/schedule-format.md): a forward conv / depthwise / FC with RAM channels


@dataclass
class OpRow:
    index: int
    kind: str
    kernel: str  # which C ran on the board
    macs: int
    instructions: int
    forward: bool


def _dims(blob: bytes, tid: int) -> list[int]:
    t_off = struct.unpack_from("<I", blob, 24)[0]
    rec = t_off + 32 * tid
    return list(struct.unpack_from("<4H", blob, rec + 4)[: blob[rec + 2]])


def _prod(v: list[int]) -> int:
    n = 1
    for d in v:
        n *= d
    return n


def _op_macs(blob: bytes, opcode: int, ins: list[int], outs: list[int]) -> int:
    """Multiply-accumulates of a forward or gradient op: every kernel tap (as `op_macs`)."""
    if opcode in (CONV, DW):
        f = _dims(blob, ins[1])  # conv [Co,KH,KW,Ci], depthwise [1,KH,KW,Co]
        return _prod(_dims(blob, outs[0])) * f[1] * f[2] * (f[3] if opcode == CONV else 1)
    if opcode == FC:
        return _prod(_dims(blob, outs[0])) * _dims(blob, ins[1])[1]
    if opcode in GRAD_INPUT:  # gy, filter -> gx: the forward's MACs
        f = _dims(blob, ins[1])
        if opcode == 0x43:
            return f[0] * f[1]
        return _prod(_dims(blob, ins[0])) * f[1] * f[2] * (f[3] if opcode == 0x41 else 1)
    if opcode in GRAD_WEIGHT:  # gy, x -> gw: positions x the k channels' taps
        gw = _prod(_dims(blob, outs[0]))
        if opcode == 0x46:
            return gw
        gy = _dims(blob, ins[0])
        return _prod(gy[:-1]) * gw
    return 0


# Ops with a Cortex-M kernel in ops/arm/ (docs/kernels.md); the profile runs integer gradients, whose input
# gradient of a conv (0x41) has one.
ADD, CONV_GRAD_INPUT = 0x04, 0x41
ARM_OPS = (CONV, DW, FC, ADD, CONV_GRAD_INPUT)


def _kernel(opcode: int, flags: int, arm: bool) -> str:
    if opcode in (CONV, DW, FC) and flags & SPLIT_W:
        return "split"
    return "optimised" if arm and opcode in ARM_OPS else "reference"


def op_profile(m: BenchModel = PROJECT, label: int = 0, seed: int = 1) -> dict[str, Any]:
    """Instructions of every op of one training step (kernels bench firmware, optimised kernels, QEMU)."""
    from ..hostlib import Engine
    from . import kernels

    g = training_graph(m)
    res = compile_model(g, m.sparse_scheme, None, mode="int")
    prog = emit_training(res, TrainConfig(lr=LR, seed=SEED + 1))
    x = sample_inputs(g, 1, seed=seed)[0]
    blob = prog.blob
    o_off, n_ops = struct.unpack_from("<I", blob, 28)[0], struct.unpack_from("<H", blob, 22)[0]
    recs = []
    for i in range(n_ops):
        r = o_off + 32 * i
        ids = struct.unpack_from("<8H", blob, r + 4)
        recs.append((blob[r], blob[r + 3], list(ids[: blob[r + 1]]), list(ids[blob[r + 1]: blob[r + 1] + blob[r + 2]])))
    # the host engine op by op (reference kernels): the CRCs the board must reproduce
    eng = Engine(blob)
    eng.write(prog.input_id, x)
    eng.write(prog.label_id, np.array([label], np.int32))

    def raw(tid: int) -> bytes:  # a tensor's bytes as the firmware CRCs them (packed bit masks included)
        n = ctypes.c_uint32()
        addr = eng.lib.mct_engine_tensor(ctypes.byref(eng._eng), tid, ctypes.byref(n))
        return ctypes.string_at(addr, n.value) if addr else b""

    want = []
    for i, (_, _, _, outs) in enumerate(recs):
        eng.run(i, i + 1)
        crc = 0
        for t in outs:
            if t != 0xFFFF:
                crc = zlib.crc32(raw(t), crc)
        want.append(crc & 0xFFFFFFFF)
    dev = kernels.run_device(kernels.build_bench("opt"), kernels.bench_image(blob, x, label), timeout=300.0)
    bad = [i for i, (a, b) in enumerate(zip(dev.crcs, want, strict=True)) if a != b]
    if len(dev.crcs) != n_ops or bad:
        raise kernels.BenchError(f"training step on the board differs from the host engine at ops {bad}")
    n_fwd = dev.forward_ops if dev.forward_ops is not None else prog.n_forward_ops
    arm = dev.kernels == "arm"
    rows = [
        OpRow(i, OP_KIND.get(op, hex(op)), _kernel(op, fl, arm), _op_macs(blob, op, ins, outs), dev.instructions(i),
              i < n_fwd)
        for i, (op, fl, ins, outs) in enumerate(recs)
    ]
    fwd = sum(r.instructions for r in rows if r.forward)
    step = sum(r.instructions for r in rows)
    groups: dict[tuple[str, str, str], list[int]] = {}
    for r in rows:
        key = ("forward" if r.forward else "backward", r.kind, r.kernel)
        acc = groups.setdefault(key, [0, 0, 0])
        acc[0] += 1
        acc[1] += r.macs
        acc[2] += r.instructions
    return {
        "model": m.key,
        "scheme": m.sparse_scheme.stem,
        "kernels": dev.kernels,
        "instructions_forward": fwd,
        "instructions_backward_update": step - fwd,
        "instructions_step": step,
        "ops": [r.__dict__ for r in rows],
        "groups": [
            {"part": k[0], "kind": k[1], "kernel": k[2], "ops": v[0], "macs": v[1], "instructions": v[2]}
            for k, v in sorted(groups.items(), key=lambda kv: -kv[1][2])
        ],
    }


def format_profile(d: dict[str, Any], per_op: bool = False) -> str:
    step = d["instructions_step"]
    lines = [
        f"One training step of {d['model']} (`{d['scheme']}`, int gradients), bench firmware with the "
        f"{d['kernels']} kernels, every op timed alone (sum of ops: forward {d['instructions_forward']:,}, "
        f"backward + update {d['instructions_backward_update']:,}, step {step:,} instructions).",
        "",
        "| part | op kind | kernel | ops | MACs | instructions | instr/MAC | share of step |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for gr in d["groups"]:
        per = f"{gr['instructions'] / gr['macs']:.2f}" if gr["macs"] else ""
        lines.append(
            f"| {gr['part']} | {gr['kind']} | {gr['kernel']} | {gr['ops']} | {gr['macs']:,} | "
            f"{gr['instructions']:,} | {per} | {100 * gr['instructions'] / step:.1f} % |"
        )
    if per_op:
        lines += ["", "| op | part | kind | kernel | MACs | instructions | instr/MAC |",
                  "|---:|---|---|---|---:|---:|---:|"]
        for r in d["ops"]:
            per = f"{r['instructions'] / r['macs']:.2f}" if r["macs"] else ""
            lines.append(
                f"| {r['index']} | {'fwd' if r['forward'] else 'bwd'} | {r['kind']} | {r['kernel']} | {r['macs']:,} | "
                f"{r['instructions']:,} | {per} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import json

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ops", action="store_true", help="per-op profile of one step (kernels bench firmware)")
    ap.add_argument("--all-ops", action="store_true", help="with --ops: also one row per op")
    ap.add_argument("--json", type=Path, help="write the results dict here")
    args = ap.parse_args(argv)
    if args.ops:
        d = op_profile()
        print(format_profile(d, per_op=args.all_ops))
    else:
        from ..build import build

        d = run(build("qemu_f405", quiet=True))
        print(format_table(d))
    if args.json:
        args.json.write_text(json.dumps(d, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
