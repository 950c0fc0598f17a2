"""Pick the update scheme with the largest summed contribution score whose compiled peak fits a byte budget.

Two searches over per-layer choices (bias yes/no x weight ratio 0, 1/8, 1/4, 1/2, 1), head always in full:
- `knapsack`: exact multiple-choice knapsack (DP over bytes) with each layer choice's *marginal* cost, i.e.
  compiled peak(head + that choice) - peak(head). Memory is not additive: alone, most choices hide under the
  forward-pass peak (cost ~ their parameters), together their parameters and gradients pile up at the backward
  peak, so the sum can under-count. The DP answer is exact for its cost model; it is then compiled, and the
  capacity tightened by the excess until the real peak fits (`notes["rounds"]`).
- `evolve`: a seeded genetic search whose fitness is the summed score when the *real* compiled peak fits.
`search` runs both, compiles both answers and returns the better one that fits (ties: smaller peak).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..ir import Graph
from .contribution import Contribution
from .options import NONE, RATIOS, Choice, PeakOracle, layer_choices


@dataclass
class SearchResult:
    method: str
    choices: dict[int, Choice]
    score: float  # summed contribution score
    peak_bytes: int  # real compiled peak
    seconds: float
    compiles: int = 0  # compilations this search ran (memoized ones not counted)
    notes: dict[str, object] = field(default_factory=dict)

    def fits(self, budget: int) -> bool:
        return self.peak_bytes <= budget


def knapsack(values: Sequence[Sequence[float]], costs: Sequence[Sequence[int]], capacity: int) -> list[int]:
    """Exact multiple-choice knapsack: pick one item per group, maximise the summed value with summed cost
    <= capacity; returns the item index per group. Costs are non-negative integers and every group needs an
    item of cost 0 (here: "update nothing more"). O(groups * items * capacity), vectorized over capacity."""
    if capacity < 0:
        raise ValueError("capacity must be >= 0")
    neg = -np.inf
    best = np.zeros(capacity + 1)  # best[c] = best value with cost <= c
    picks = []
    for vals, cs in zip(values, costs, strict=True):
        new = np.full(capacity + 1, neg)
        arg = np.zeros(capacity + 1, np.int16)
        for j, (v, c) in enumerate(zip(vals, cs, strict=True)):
            if c < 0:
                raise ValueError("costs must be >= 0")
            if c > capacity:
                continue
            cand = np.full(capacity + 1, neg)
            cand[c:] = best[: capacity + 1 - c] + v
            better = cand > new
            new[better], arg[better] = cand[better], j
        best = new
        picks.append(arg)
    out, c = [], capacity
    for g in range(len(picks) - 1, -1, -1):
        j = int(picks[g][c])
        out.append(j)
        c -= costs[g][j]
    return out[::-1]


def _layer_table(graph: Graph, contrib: Contribution, oracle: PeakOracle) -> list[tuple[int, list[Choice],
                                                                                         list[float], list[int]]]:
    """Per candidate layer: its choices, their summed scores and marginal costs (compiled)."""
    head = oracle.head_peak()
    rows = []
    for layer in contrib.layers:
        chs = layer_choices(graph, layer)
        vals = [contrib.score(layer, c) for c in chs]
        costs = [max(0, oracle.peak({layer: c}) - head) if not c.empty else 0 for c in chs]
        rows.append((layer, chs, vals, costs))
    return rows


def search_knapsack(graph: Graph, contrib: Contribution, budget: int, oracle: PeakOracle,
                    granularity: int = 16, max_rounds: int = 12) -> SearchResult:
    """DP over bytes (costs rounded *up* to `granularity`), then checked with the real compiler. Marginal costs
    can also under-count (updated parameters stay in SRAM all program long and add up at the backward peak),
    so while the real peak exceeds the budget the DP capacity is tightened by the excess and the DP re-run."""
    t0, calls0 = time.perf_counter(), oracle.calls
    rows = _layer_table(graph, contrib, oracle)
    head = oracle.head_peak()
    if budget < head:
        raise ValueError("budget below the head-only peak")
    costs = [[math.ceil(c / granularity) for c in r[3]] for r in rows]
    capacity, rounds = budget - head, []
    while True:
        picks = knapsack([r[2] for r in rows], costs, capacity // granularity)
        choices = {r[0]: r[1][j] for r, j in zip(rows, picks, strict=True) if not r[1][j].empty}
        peak = oracle.peak(choices)
        model_cost = sum(r[3][j] for r, j in zip(rows, picks, strict=True))
        rounds.append({"capacity": capacity, "modelled_peak_bytes": head + model_cost, "peak_bytes": peak})
        if peak <= budget or capacity <= 0 or len(rounds) >= max_rounds:
            break
        capacity = max(0, capacity - max(granularity, peak - budget))
    score = sum(r[2][j] for r, j in zip(rows, picks, strict=True))
    return SearchResult("knapsack", choices, round(score, 3), peak, round(time.perf_counter() - t0, 2),
                        oracle.calls - calls0, {"rounds": rounds})


def _genome_choices(layers: list[int], genome: np.ndarray) -> dict[int, Choice]:
    return {layer: Choice(bool(b), int(r)) for layer, (b, r) in zip(layers, genome, strict=True) if b or r}


def search_evolve(graph: Graph, contrib: Contribution, budget: int, oracle: PeakOracle, population: int = 32,
                  generations: int = 30, mutation: float = 0.15, seed: int = 0,
                  initial: Sequence[dict[int, Choice]] = ()) -> SearchResult:
    """Genetic search: genome = (bias bit, ratio index) per candidate layer; fitness = summed score if the real
    compiled peak fits, else -inf. Over-budget children are repaired by dropping random genes (up to 8 tries).
    Elitist: the best quarter survives; children from tournament-picked parents, uniform crossover, mutation."""
    t0, calls0 = time.perf_counter(), oracle.calls
    rng = np.random.default_rng(seed)
    layers = contrib.layers
    can_bias = np.array([any(c.bias for c in layer_choices(graph, la)) for la in layers])
    score_of = {la: {c: contrib.score(la, c) for c in layer_choices(graph, la)} for la in layers}

    def fitness(gen: np.ndarray) -> float:
        ch = _genome_choices(layers, gen)
        if oracle.peak(ch) > budget:
            return -math.inf
        return sum(score_of[la][ch.get(la, NONE)] for la in layers)

    def repair(gen: np.ndarray) -> np.ndarray:
        for _ in range(8):
            if oracle.peak(_genome_choices(layers, gen)) <= budget:
                break
            on = np.flatnonzero(gen.any(axis=1))
            if not len(on):
                break
            i = int(rng.choice(on))
            if gen[i, 1] and (not gen[i, 0] or rng.random() < 0.7):
                gen[i, 1] = int(rng.integers(0, gen[i, 1]))
            else:
                gen[i, 0] = 0
        return gen

    def random_genome(density: float) -> np.ndarray:
        g = np.zeros((len(layers), 2), np.int64)
        g[:, 0] = (rng.random(len(layers)) < density) & can_bias
        g[:, 1] = np.where(rng.random(len(layers)) < density / 2, rng.integers(1, len(RATIOS), len(layers)), 0)
        return repair(g)

    pop = [np.zeros((len(layers), 2), np.int64)]
    for ch in initial:
        pop.append(np.array([[int(ch.get(la, NONE).bias), ch.get(la, NONE).ratio_index] for la in layers]))
    while len(pop) < population:
        pop.append(random_genome(float(rng.uniform(0.1, 0.6))))
    fit = [fitness(g) for g in pop]
    for _ in range(generations):
        order = np.argsort(fit)[::-1]
        elite = [pop[i] for i in order[: max(2, population // 4)]]
        children = []
        while len(children) < population - len(elite):
            a, b = (pop[max(rng.choice(len(pop), 3), key=lambda i: fit[i])] for _ in range(2))
            child = np.where(rng.random((len(layers), 1)) < 0.5, a, b).copy()
            m = rng.random(len(layers)) < mutation
            child[m, 0] = rng.integers(0, 2, int(m.sum())) * can_bias[m]
            m = rng.random(len(layers)) < mutation
            child[m, 1] = rng.integers(0, len(RATIOS), int(m.sum()))
            children.append(repair(child))
        pop = elite + children
        fit = [fitness(g) for g in pop]
    best = int(np.argmax(fit))
    choices = _genome_choices(layers, pop[best])
    return SearchResult("evolutionary", choices, round(float(fit[best]), 3), oracle.peak(choices),
                        round(time.perf_counter() - t0, 2), oracle.calls - calls0,
                        {"population": population, "generations": generations, "seed": seed})


def search(graph: Graph, contrib: Contribution, budget: int, mode: str = "both", seed: int = 0,
           oracle: PeakOracle | None = None, population: int = 32,
           generations: int = 30) -> tuple[SearchResult, list[SearchResult]]:
    """(the better fitting result, [knapsack, evolutionary]); ValueError when not even the head fits."""
    oracle = oracle or PeakOracle(graph, mode)
    if oracle.head_peak() > budget:
        raise ValueError(f"budget {budget:,} B is below the head-only peak {oracle.head_peak():,} B")
    dp = search_knapsack(graph, contrib, budget, oracle)
    ev = search_evolve(graph, contrib, budget, oracle, population, generations, seed=seed)
    valid = [r for r in (dp, ev) if r.fits(budget)]
    best = max(valid, key=lambda r: (r.score, -r.peak_bytes))
    return best, [dp, ev]
