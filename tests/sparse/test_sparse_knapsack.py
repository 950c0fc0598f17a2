"""The multiple-choice knapsack DP is exact: same optimum as brute force on small random instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mcutrain.sparse.search import knapsack


def brute_force(values: list[list[float]], costs: list[list[int]], cap: int) -> float:
    best = -np.inf
    for pick in itertools.product(*(range(len(v)) for v in values)):
        if sum(c[j] for c, j in zip(costs, pick, strict=True)) <= cap:
            best = max(best, sum(v[j] for v, j in zip(values, pick, strict=True)))
    return float(best)


@pytest.mark.parametrize("seed", range(40))
def test_dp_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    groups = int(rng.integers(1, 6))
    values, costs = [], []
    for _ in range(groups):
        n = int(rng.integers(1, 5))
        values.append([0.0] + [float(v) for v in rng.uniform(-2, 10, n)])
        costs.append([0] + [int(c) for c in rng.integers(0, 30, n)])
    cap = int(rng.integers(0, 60))
    pick = knapsack(values, costs, cap)
    assert sum(c[j] for c, j in zip(costs, pick, strict=True)) <= cap
    got = sum(v[j] for v, j in zip(values, pick, strict=True))
    assert got == pytest.approx(brute_force(values, costs, cap))


def test_zero_capacity_takes_only_free_items() -> None:
    assert knapsack([[0.0, 5.0, 3.0]], [[0, 1, 0]], 0) == [2]
