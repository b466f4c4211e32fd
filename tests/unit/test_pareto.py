"""Pareto dominance and hypervolume against hand-checked cases and Optuna's implementation."""

from __future__ import annotations

import numpy as np
import pytest
from optuna._hypervolume import compute_hypervolume

from advisor.steering import (
    HypervolumeScale,
    epsilon_to_front,
    hypervolume,
    hypervolume_improvements,
    non_dominated_mask,
)


def test_non_dominated_mask_hand_case() -> None:
    points = [[1, 4], [2, 2], [3, 3], [4, 1], [2, 2], [5, 5]]
    assert non_dominated_mask(points).tolist() == [True, True, False, True, True, False]


def test_non_dominated_mask_three_objectives() -> None:
    points = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [0, 1, 1]]
    assert non_dominated_mask(points).tolist() == [True, True, True, False, False]


def test_non_dominated_mask_agrees_with_brute_force() -> None:
    rng = np.random.default_rng(0)
    points = rng.integers(0, 6, size=(60, 3)).astype(float)  # many ties
    dominated = [any(np.all(q <= p) and np.any(q < p) for q in points) for p in points]
    assert non_dominated_mask(points).tolist() == [not d for d in dominated]


def test_hypervolume_two_objectives_hand_case() -> None:
    # Staircase (1,3), (2,2), (3,1) under reference (4,4): 3 + 2 + 1 = 6.
    assert hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) == pytest.approx(6.0)
    # A dominated point and a point outside the reference box change nothing.
    assert hypervolume([[1, 3], [2, 2], [3, 1], [3, 3], [0, 5]], [4, 4]) == pytest.approx(6.0)


def test_hypervolume_three_objectives_hand_cases() -> None:
    # Two boxes 2*2*1 and 1*1*2 overlapping in a unit cube: 4 + 2 - 1 = 5.
    assert hypervolume([[0, 0, 1], [1, 1, 0]], [2, 2, 2]) == pytest.approx(5.0)
    # Three unit-offset corners of the 2-cube: 8 minus the unit cube no point dominates.
    assert hypervolume([[1, 0, 0], [0, 1, 0], [0, 0, 1]], [2, 2, 2]) == pytest.approx(7.0)


def test_hypervolume_one_objective_and_empty() -> None:
    assert hypervolume([[0.2], [0.5]], [1.0]) == pytest.approx(0.8)
    assert hypervolume([[2.0, 0.0]], [1.0, 1.0]) == 0.0
    assert hypervolume(np.empty((0, 2)), [1.0, 1.0]) == 0.0


@pytest.mark.parametrize("n_objectives", [2, 3, 4])
def test_hypervolume_matches_optuna(n_objectives: int) -> None:
    rng = np.random.default_rng(n_objectives)
    for _ in range(20):
        points = rng.random((int(rng.integers(1, 30)), n_objectives))
        ref = np.full(n_objectives, 1.1)
        expected = compute_hypervolume(points, ref)
        assert hypervolume(points, ref) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_hypervolume_improvements_equal_the_difference_of_volumes() -> None:
    rng = np.random.default_rng(1)
    for n_objectives in (2, 3):
        base = rng.random((8, n_objectives))
        candidates = rng.random((40, n_objectives))
        ref = np.ones(n_objectives)
        gains = hypervolume_improvements(candidates, base, ref)
        before = hypervolume(base, ref)
        for gain, candidate in zip(gains, candidates, strict=True):
            mine = hypervolume(np.vstack([base, candidate]), ref) - before
            # Candidates dominated by another candidate are reported as 0 (never the maximum).
            assert gain == pytest.approx(mine, abs=1e-12) or gain == 0.0
        best = max(hypervolume(np.vstack([base, c]), ref) - before for c in candidates)
        assert gains.max() == pytest.approx(best)


def test_epsilon_to_front_hand_case() -> None:
    base = np.array([[1.0, 3.0], [3.0, 1.0], [3.0, 3.0]])
    candidates = np.array([[2.0, 2.0], [4.0, 4.0], [2.0, 4.0]])
    # (2,2) is not dominated; (4,4) must improve by 1 to leave the boxes of (1,3) and (3,1), and
    # (2,4) by 1 to leave the box of (1,3).
    assert epsilon_to_front(candidates, base).tolist() == [0.0, 1.0, 1.0]


def test_benchmark_scale_hand_case() -> None:
    # f1 (max) and loss (min) for four configurations.
    means = np.array([[0.9, 0.5], [0.7, 0.3], [0.5, 0.6], [0.1, 0.7]])
    scale = HypervolumeScale.from_means(means, ["maximize", "minimize"])
    np.testing.assert_allclose(
        scale.transform(means), [[0, 0.8], [2 / 3, 0], [1, 1], [1, 1]], atol=1e-12
    )
    # Front (0, 0.8) and (2/3, 0) under reference (1, 1): 0.2 + 1/3 - 1/15 = 7/15.
    assert scale.hypervolume(means) == pytest.approx(7 / 15)
    assert scale.hypervolume(means[2:]) == 0.0


def test_benchmark_scale_leaves_out_an_objective_whose_best_is_its_median() -> None:
    means = np.array([[0.8, 0.9], [0.8, 0.5], [0.8, 0.1]])
    scale = HypervolumeScale.from_means(means, ["maximize", "maximize"])
    assert scale.kept.tolist() == [False, True]
    assert scale.transform(means).shape == (3, 1)
    assert scale.hypervolume(means) == pytest.approx(1.0)
