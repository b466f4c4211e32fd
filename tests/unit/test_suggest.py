"""The surface-predicted Pareto set: candidates stay inside the space, the front is the set of
non-dominated predicted means, a single-point front is called out."""

from __future__ import annotations

import numpy as np
import pandas as pd
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from advisor.steering import parse_objectives
from advisor.suggest import candidate_grid, predicted_front
from advisor.surface import fit_surfaces
from advisor.table import TrialsTable

SPACE = {
    "learning_rate": FloatDistribution(1e-5, 1e-3, log=True),
    "batch_size": CategoricalDistribution([8, 16, 32]),
    "epochs": IntDistribution(1, 4),
}


def _table(f1: callable, loss: callable, seed: int = 0) -> TrialsTable:
    rng = np.random.default_rng(seed)
    grid = candidate_grid(SPACE).sample(40, random_state=seed).reset_index(drop=True)
    x = np.log10(grid["learning_rate"]) + 4  # -1..1
    noise = lambda: rng.normal(0, 0.002, len(grid))  # noqa: E731
    grid["f1"] = f1(x, grid) + noise()
    grid["loss"] = loss(x, grid) + noise()
    grid["accuracy"] = grid["f1"]
    return TrialsTable(rows=grid, baseline={"accuracy": 0.7, "f1": 0.7, "loss": 0.5})


def test_candidate_grid_covers_the_space_and_nothing_else() -> None:
    grid = candidate_grid(SPACE)
    assert grid["learning_rate"].between(1e-5, 1e-3).all()
    assert set(grid["batch_size"]) == {8, 16, 32}
    assert set(grid["epochs"]) == {1, 2, 3, 4}
    assert len(grid) == 25 * 3 * 4


def test_trade_off_front_is_non_dominated_and_spread() -> None:
    # f1 rises with learning rate, loss rises too: every learning rate is a trade-off
    table = _table(lambda x, g: 0.8 + 0.05 * x, lambda x, g: 0.5 + 0.1 * x)
    surfaces = fit_surfaces(table, metrics=["f1", "loss"], mode="absolute").by_target()
    objectives = parse_objectives("f1,loss")
    front = predicted_front(surfaces, objectives, candidate_grid(SPACE), 5, table.baseline)
    assert front.front_size > 5 and len(front.suggestions) == 5
    means = [(s.predicted["f1"]["mean"], s.predicted["loss"]["mean"]) for s in front.suggestions]
    for a in means:
        assert not any(b[0] >= a[0] and b[1] <= a[1] and b != a for b in means)
    lrs = [s.params["learning_rate"] for s in front.suggestions]
    assert min(lrs) < 3e-5 and max(lrs) > 3e-4  # both ends of the trade-off are offered
    for s in front.suggestions:
        assert 0.0 <= s.front_share <= 1.0
        assert s.predicted["f1"]["lower"] < s.predicted["f1"]["mean"] < s.predicted["f1"]["upper"]
        assert "p_beats_baseline" in s.predicted["f1"]
    assert front.notes == []


def test_single_point_front_is_called_out_with_its_certainty() -> None:
    # the highest learning rate, smallest batch and most epochs are best for both objectives
    table = _table(
        lambda x, g: 0.8 + 0.05 * x + 0.01 * g["epochs"] - 0.01 * np.log2(g["batch_size"]),
        lambda x, g: 0.5 - 0.1 * x - 0.01 * g["epochs"] + 0.01 * np.log2(g["batch_size"]),
    )
    surfaces = fit_surfaces(table, metrics=["f1", "loss"], mode="absolute").by_target()
    front = predicted_front(
        surfaces, parse_objectives("f1,loss"), candidate_grid(SPACE), 5, table.baseline
    )
    assert front.front_size == 1
    best = front.suggestions[0]
    assert best.params == {"learning_rate": 1e-3, "batch_size": 8, "epochs": 4}
    assert best.front_share > 0.5
    assert front.notes and "no trade-off" in front.notes[0] and "%" in front.notes[0]


def test_relative_objective_probability_of_beating_baseline() -> None:
    table = _table(lambda x, g: 0.8 + 0.05 * x, lambda x, g: 0.5 + 0.1 * x)
    surfaces = fit_surfaces(table, metrics=["f1"], mode="relative").by_target()
    front = predicted_front(
        surfaces, parse_objectives("f1_rel"), candidate_grid(SPACE), 1, table.baseline
    )
    p = front.suggestions[0].predicted["f1_rel"]
    assert p["mean"] > 0.1 and p["p_beats_baseline"] > 0.99  # 0.85 vs a 0.70 baseline
    assert isinstance(pd.Series([p["mean"]]).iloc[0], float)
