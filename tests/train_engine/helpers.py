"""Shared by the training-engine tests: run the C engine (host build) and the numpy golden side by side."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np

from mcutrain import hostlib
from mcutrain.compiler.compile import CompileResult, compile_model
from mcutrain.compiler.emit_train import TrainConfig, TrainProgram, emit_training
from mcutrain.compiler.scheme import Scheme
from mcutrain.golden.train import train_step
from mcutrain.golden.update import SGDConfig, UpdateState
from mcutrain.ir import Graph, Quant


def _compiler_fixtures():  # noqa: ANN202 - the compiler tests' conftest, loaded by path (its name is taken)
    spec = importlib.util.spec_from_file_location("compiler_fixtures",
                                                  Path(__file__).resolve().parents[1] / "compiler" / "conftest.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


toy_graph = _compiler_fixtures().toy_graph


def toy() -> Graph:
    """The compiler's residual toy graph with a TFLite softmax output (1/256, -128). Its MEAN keeps the input's
    quantization, as TFLite converters emit it (the golden and the engine both follow TFLM's requantizing MEAN)."""
    g = toy_graph()
    q = g.tensors[g.outputs[0]]
    g.tensors[g.outputs[0]] = replace(q, quant=Quant(np.array([1 / 256], np.float32), np.array([-128]), 0))
    mean = g.ops[6]
    x, y = g.tensors[mean.inputs[0]], g.tensors[mean.outputs[0]]
    assert mean.kind == "MEAN" and (x.scale, x.zero_point) == (y.scale, y.zero_point)
    return g


def golden_cfg(cfg: TrainConfig) -> SGDConfig:
    return SGDConfig(lr=cfg.lr, qas=cfg.qas, rounding=cfg.rounding, seed=cfg.seed, acc_bits=cfg.acc_bits)


def build(g: Graph, scheme: str | Scheme, mode: str, cfg: TrainConfig, **kw: object) -> tuple[CompileResult,
                                                                                              TrainProgram]:
    r = compile_model(g, scheme, mode=mode, **kw)  # type: ignore[arg-type]
    return r, emit_training(r, cfg)


def updated_params(trainer: hostlib.Trainer, prog: TrainProgram, g: Graph, scheme: Scheme) -> dict[str, np.ndarray]:
    out = {}
    for i, ids in prog.params.items():
        for kind, tid in ids.items():
            out[f"{kind}:{i}"] = trainer.read(tid)
    return out


def golden_params(g: Graph, scheme: Scheme) -> dict[str, np.ndarray]:
    out = {}
    for i, u in scheme.layers.items():
        op = g.ops[i]
        if u.k > 0:
            w = g.tensors[op.inputs[1]].data
            full = u.k == (w.shape[3] if op.kind == "DEPTHWISE_CONV_2D" else w.shape[0])
            out[f"w:{i}"] = w if full else (w[..., : u.k] if op.kind == "DEPTHWISE_CONV_2D" else w[: u.k])
        if u.bias and op.input(2) >= 0:
            out[f"b:{i}"] = g.tensors[op.inputs[2]].data
    return out


def run_both(g: Graph, scheme: Scheme, mode: str, cfg: TrainConfig, samples: list[tuple[np.ndarray, int]],
             **kw: object) -> tuple[list[tuple[float, int]], list[tuple[float, int]], dict, dict, TrainProgram]:
    """N steps on the engine and on the golden; returns per-step (loss, predicted) and final parameters."""
    r, prog = build(g, scheme, mode, cfg, **kw)
    t = hostlib.Trainer(prog.blob)
    gcfg = golden_cfg(cfg)
    state = UpdateState.new(gcfg)
    gs = r.scheme.to_golden()
    c_res, g_res = [], []
    gg = g
    for x, label in samples:
        c_res.append(t.train_step(x, label))
        res = train_step(gg, x, label, gs, gcfg, mode, state)
        gg = res.graph
        g_res.append((res.loss, int(np.argmax(res.logits.reshape(-1)))))
    return c_res, g_res, updated_params(t, prog, g, r.scheme), golden_params(gg, r.scheme), prog
