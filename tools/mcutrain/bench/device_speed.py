"""Instructions of one training step on the emulated STM32F405 (QEMU `-icount shift=0`), sparse scheme.

Forward = the board's INFER of the training program; backward + update = TRAIN - INFER (the training
step's forward also stores the masks the backward reads, so this split is approximate by those few stores).
Per MAC: forward instructions / forward MACs (every conv, depthwise and FC tap); backward instructions /
backward MACs (input gradients of every layer the gradient passes through, weight gradients of the updated
channels), both from the compiled schedule. Which kernels the default `qemu_f405` firmware runs is read
from platformio.ini (`-DMCT_USE_ARM_OPS` = optimised ops/arm/). The time on a 216 MHz Cortex-M7 is an
estimate: QEMU counts instructions, not cycles (no caches, wait states or dual issue).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

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
