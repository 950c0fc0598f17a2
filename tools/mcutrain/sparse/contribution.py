"""Contribution analysis: what each candidate layer's bias / weight channels add over head-only training.

Baseline ("head-only"): the classifier is replaced by a fresh one (`transfer.replace_head`, seed r) and
only it is trained (all its weights + bias), backbone frozen, for `steps` single-image SGD steps in a seeded
order over the fit set (golden model, `mode` arithmetic, QAS). Option run: the same, plus one choice on one
layer (its bias alone, or its first ratio * C_out weight channels alone). Gain = held-out accuracy of the
option run minus that of the baseline run with the same seed, in percentage points, averaged over `repeats`
seeds; the held-out cross-entropy change is recorded too. The search maximises
    score = acc_gain_pp - loss_weight * loss_delta   (loss_delta < 0 when the option lowers held-out loss)
so that options which only sharpen the predictions still count when accuracy saturates.
Memory cost of an option: compiled peak (head + option) minus compiled peak (head only).
Results are cached as JSON under build/sparse/, keyed by a hash of the model and of the configuration.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..golden.forward import forward
from ..golden.loss import dequantize_logits, logits_tensor, softmax_xent
from ..golden.train import train_step
from ..golden.update import SGDConfig, UpdateState
from ..ir import Graph
from ..paths import BUILD
from ..transfer import replace_head
from .options import RATIOS, Choice, PeakOracle, candidate_layers, channels_for, golden_scheme, layer_choices
from .task import Cache, TaskData, prefix_cache
from .threads import limit_blas_threads

CACHE_DIR = BUILD / "sparse"


@dataclass(frozen=True)
class ContribConfig:
    last_n: int = 12  # candidate layers: the last N weighted layers before the classifier
    steps: int = 120  # SGD steps per run (single images)
    repeats: int = 3  # seeds per option (head init, sample order), paired with the baseline
    lr: float = 0.05
    rounding: str = "nearest"
    mode: str = "int"  # golden arithmetic and compiler mode
    seed: int = 0
    loss_weight: float = 10.0  # score = acc_gain_pp - loss_weight * loss_delta


@dataclass
class OptionResult:
    layer: int  # op index
    name: str  # op name
    bias: bool
    ratio: float
    k: int
    acc_gain_pp: float
    loss_delta: float
    score: float
    peak_bytes: int
    cost_bytes: int  # peak - head-only peak


@dataclass
class Contribution:
    model: str
    model_hash: str
    config: dict[str, Any]
    data: str
    baseline_acc: list[float]  # held-out accuracy of the head-only run, per seed
    baseline_loss: list[float]
    head_peak_bytes: int
    layers: list[int]
    options: list[OptionResult]
    seconds: float
    cached: bool = False

    def score(self, layer: int, choice: Choice) -> float:
        """Summed score of a layer choice: its bias option + its weight option (additive, as in the paper)."""
        total = 0.0
        for o in self.options:
            if o.layer != layer:
                continue
            if (choice.bias and o.bias and o.ratio == 0) or (o.ratio > 0 and o.ratio == choice.ratio):
                total += o.score
        return total


def graph_hash(graph: Graph) -> str:
    """sha256 over op kinds, wiring, options and every constant's bytes (same model -> same hash)."""
    h = hashlib.sha256()
    for op in graph.ops:
        h.update(f"{op.kind}{op.inputs}{op.outputs}{sorted(op.options.items())}".encode())
    for t in graph.tensors:
        h.update(f"{t.shape}{t.dtype}".encode())
        if t.data is not None:
            h.update(np.ascontiguousarray(t.data).tobytes())
    return h.hexdigest()


def _evaluate(graph: Graph, caches: list[Cache], labels: np.ndarray, start: int) -> tuple[float, float]:
    """Held-out accuracy and mean cross-entropy."""
    lt = logits_tensor(graph)
    hits, losses = 0, []
    for c, y in zip(caches, labels, strict=True):
        acts = forward(graph, c, start_op=start)
        z = dequantize_logits(graph, acts[lt], lt)
        losses.append(softmax_xent(z, int(y))[0])
        hits += int(np.argmax(z)) == int(y)
    return hits / len(labels), float(np.mean(losses))


def train_run(graph: Graph, scheme: dict[int, dict[str, Any]], fit: list[Cache], fit_y: np.ndarray,
              cfg: ContribConfig, seed: int, start: int) -> Graph:
    """`cfg.steps` SGD steps in a seeded order over `fit`; returns the trained graph."""
    sgd = SGDConfig(lr=cfg.lr, rounding=cfg.rounding, seed=seed + 1)
    state = UpdateState.new(sgd)
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(fit)) for _ in range(cfg.steps // len(fit) + 1)])[: cfg.steps]
    for i in order:
        graph = train_step(graph, fit[i], int(fit_y[i]), scheme, sgd, cfg.mode, state, start).graph
    return graph


def _option_choices(graph: Graph, layer: int) -> list[Choice]:
    """The single options measured for a layer: bias alone, then each weight ratio alone."""
    out = [c for c in layer_choices(graph, layer) if c.bias and c.ratio_index == 0]
    return out + [Choice(False, r) for r in range(1, len(RATIOS))]


def _cache_path(graph: Graph, key: str) -> Path:
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in (graph.name or "model"))
    return CACHE_DIR / f"{stem}-{key}.json"


def cache_key(graph: Graph, cfg: ContribConfig, data: TaskData) -> tuple[str, str]:
    mh = graph_hash(graph)
    ch = hashlib.sha256(json.dumps([asdict(cfg), data.name], sort_keys=True).encode()).hexdigest()
    return mh, f"{mh[:12]}-{ch[:8]}"


def load_cached(path: Path) -> Contribution | None:
    try:
        d = json.loads(path.read_text())
        d["options"] = [OptionResult(**o) for o in d["options"]]
        return Contribution(**{**d, "cached": True})
    except (OSError, ValueError, TypeError, KeyError):
        return None


def analyse(graph: Graph, data: TaskData, cfg: ContribConfig = ContribConfig(), use_cache: bool = True,
            cache_dir: Path | None = None, log: Any = None) -> Contribution:
    """Contribution of every option of the last `cfg.last_n` layers (cached; see the module docstring)."""
    mh, key = cache_key(graph, cfg, data)
    path = (cache_dir or CACHE_DIR) / _cache_path(graph, key).name
    if use_cache and (hit := load_cached(path)) is not None:
        return hit
    limit_blas_threads(1)
    t0 = time.perf_counter()
    layers = candidate_layers(graph, cfg.last_n)
    if not layers:
        raise ValueError(f"model '{graph.name}' has no weighted layer before its classifier to analyse")
    start = layers[0]
    fit, val = prefix_cache(graph, data.fit_x, start), prefix_cache(graph, data.val_x, start)
    seeds = [cfg.seed + r for r in range(cfg.repeats)]
    heads = {s: replace_head(graph, data.n_classes, seed=s) for s in seeds}
    oracle = PeakOracle(heads[seeds[0]], cfg.mode)
    head_peak = oracle.head_peak()

    def measure(choices: dict[int, Choice]) -> list[tuple[float, float]]:
        out = []
        for s in seeds:
            g = train_run(heads[s], golden_scheme(heads[s], choices), fit, data.fit_y, cfg, s, start)
            out.append(_evaluate(g, val, data.val_y, start))
        return out

    base = measure({})
    options = []
    for layer in layers:
        for c in _option_choices(graph, layer):
            res = measure({layer: c})
            gain = 100 * float(np.mean([a - b[0] for (a, _), b in zip(res, base, strict=True)]))
            dloss = float(np.mean([lo - b[1] for (_, lo), b in zip(res, base, strict=True)]))
            peak = oracle.peak({layer: c})
            options.append(OptionResult(layer, graph.ops[layer].name, c.bias, c.ratio,
                                        channels_for(graph, layer, c.ratio), round(gain, 3), round(dloss, 5),
                                        round(gain - cfg.loss_weight * dloss, 3), peak, peak - head_peak))
            if log is not None:
                log(options[-1])
    result = Contribution(graph.name, mh, asdict(cfg), data.name, [b[0] for b in base], [b[1] for b in base],
                          head_peak, layers, options, round(time.perf_counter() - t0, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    d = asdict(result)
    d.pop("cached")
    path.write_text(json.dumps(d, indent=1))
    return result
