"""The table-driven benchmark on small tables whose true Pareto front is known."""

from __future__ import annotations

import itertools

import numpy as np
import optuna
import pandas as pd
import pytest
from conftest import Scripted

from advisor.bench import BenchResult, plot_benchmark, prepare_table, run_benchmark, run_once
from advisor.errors import DataError
from advisor.steering import TableSpace, parse_objectives
from advisor.table import table_from_frame

F1_LOSS = parse_objectives("f1,loss")
BEST_F1 = (1e-3, 8, 3)  # f1 0.9, loss 0.35
BEST_LOSS = (1e-4, 8, 2)  # f1 0.8, loss 0.2: with BEST_F1 the whole Pareto set


def known_front_table() -> pd.DataFrame:
    """18 configurations x 2 replicates (+-0.01 around exact means); the 16 others are dominated."""
    configs = list(itertools.product((1e-5, 1e-4, 1e-3), (8, 32), (1, 2, 3)))
    others = iter(zip(np.linspace(0.1, 0.5, 16), np.linspace(0.7, 0.4, 16), strict=True))
    rows = []
    for config in configs:
        f1, loss = (
            (0.9, 0.35)
            if config == BEST_F1
            else (0.8, 0.2)
            if config == BEST_LOSS
            else next(others)
        )
        for seed, sign in ((0, 1), (1, -1)):
            rows.append(
                dict(zip(("learning_rate", "batch_size", "epochs"), config, strict=True))
                | {
                    "seed": seed,
                    "accuracy": 0.5,
                    "f1": f1 + 0.01 * sign,
                    "loss": loss - 0.01 * sign,
                }
            )
    return pd.DataFrame(rows)


def plateau_table(seed: int = 0) -> pd.DataFrame:
    """45 configurations driven by lr x steps with an under-trained plateau, 2 replicates."""
    rng = np.random.default_rng(seed)
    rows = []
    for lr, batch, epochs in itertools.product(
        (1e-5, 2e-5, 3e-5, 5e-5, 1e-4), (8, 16, 32), (1, 2, 3)
    ):
        amount = np.log10(lr / 1e-5) + np.log10(epochs) - np.log10(batch / 8)  # -0.6 .. 1.5
        learned = 1 / (1 + np.exp(-(amount - 0.4) / 0.15))
        over = max(amount - 1.0, 0.0)
        for s in range(2):
            rows.append(
                {
                    "learning_rate": lr,
                    "batch_size": batch,
                    "epochs": epochs,
                    "seed": s,
                    "accuracy": 0.6 + 0.3 * learned + rng.normal(0, 0.01),
                    "f1": 0.85 * learned - 0.05 * over + rng.normal(0, 0.01),
                    "loss": 0.69 - 0.4 * learned + 0.6 * over**2 + rng.normal(0, 0.01),
                }
            )
    return pd.DataFrame(rows)


def test_prepare_table_finds_the_known_front_and_its_hypervolume() -> None:
    bench = prepare_table(table_from_frame(known_front_table()), F1_LOSS)
    assert bench.configs.shape == (18, 3)
    assert bench.pareto_size == 2
    row = {tuple(c): i for i, c in enumerate(bench.configs)}
    np.testing.assert_allclose(bench.means[row[BEST_F1]], [0.9, 0.35])
    assert bench.replicates[row[BEST_LOSS]].shape == (2, 2)
    # Normalised: f1 median 0.32667 -> BEST_LOSS at (0.1 / 0.57333, 0); loss median 0.53 ->
    # BEST_F1 at (0, 0.15 / 0.33). Two boxes in the unit square: 1 - a * b.
    a, b = 0.1 / (0.9 - (0.1 + 8.5 * 0.4 / 15)), 0.15 / 0.33
    assert bench.true_hypervolume == pytest.approx(1 - a * b)


def test_run_once_scores_exactly_the_configurations_visited() -> None:
    bench = prepare_table(table_from_frame(known_front_table()), F1_LOSS)
    space = TableSpace(bench.configs)
    order = [3, 3, 17, 0, 10] + [i for i in range(18) if i not in (3, 17, 0, 10)]
    script = [space.candidates()[i] for i in order]
    draws = np.zeros((18, 19), dtype=int)
    ratios = run_once(bench, F1_LOSS, Scripted(script), 19, draws)
    expected = [
        bench.scale.hypervolume(bench.means[sorted(set(order[: k + 1]))]) / bench.true_hypervolume
        for k in range(19)
    ]
    np.testing.assert_allclose(ratios, expected)
    assert ratios[1] == ratios[0]  # a repeated configuration adds nothing
    assert ratios[-1] == pytest.approx(1.0)  # every configuration visited


def test_table_space_maps_levels_to_configurations() -> None:
    configs = np.array([[1e-5, 8, 1], [1e-4, 8, 1], [1e-4, 32, 3]], dtype=float)
    space = TableSpace(configs)
    assert space.distributions == {
        "learning_rate_level": optuna.distributions.IntDistribution(0, 1),
        "batch_size_level": optuna.distributions.IntDistribution(0, 1),
        "epochs_level": optuna.distributions.IntDistribution(0, 1),
    }
    assert space.candidates()[2] == {
        "learning_rate_level": 1,
        "batch_size_level": 1,
        "epochs_level": 1,
    }
    assert space.lookup({"learning_rate_level": 1, "batch_size_level": 0, "epochs_level": 0}) == 1
    # (1e-5, 32, 3) is not in the table: the nearest in level steps is (1e-4, 32, 3).
    assert space.lookup({"learning_rate_level": 0, "batch_size_level": 1, "epochs_level": 1}) == 2


def test_results_have_one_row_per_sampler_and_budget() -> None:
    result = run_benchmark(
        table_from_frame(known_front_table()),
        F1_LOSS,
        budget=6,
        repeats=3,
        samplers=("random", "surface"),
        seed=1,
    )
    rows = result.to_json()["results"]
    assert [(r["sampler"], r["budget"]) for r in rows] == [
        (s, b) for s in ("random", "surface") for b in range(1, 7)
    ]
    assert all(
        set(r) == {"sampler", "budget", "hv_ratio_mean", "hv_ratio_sd", "repeats"} for r in rows
    )
    assert all(r["repeats"] == 3 and 0 <= r["hv_ratio_mean"] <= 1 for r in rows)
    ratios = result.ratios["random"]
    assert rows[5]["hv_ratio_mean"] == pytest.approx(ratios[:, 5].mean())
    assert rows[5]["hv_ratio_sd"] == pytest.approx(ratios[:, 5].std(ddof=1))


def test_same_seed_same_results_and_repeats_differ() -> None:
    table = table_from_frame(known_front_table())

    def go(seed: int) -> np.ndarray:
        return run_benchmark(
            table, F1_LOSS, budget=5, repeats=4, samplers=("random",), seed=seed
        ).ratios["random"]

    np.testing.assert_array_equal(go(3), go(3))
    assert len({tuple(row) for row in go(3)}) > 1


def test_trials_to_threshold_uses_the_median_over_repeats() -> None:
    ratios = np.array([[0.5, 0.92, 0.96, 1.0], [0.5, 0.6, 0.91, 0.95], [0.2, 0.3, 0.4, 0.5]])
    result = BenchResult(F1_LOSS, {"x": ratios}, 18, 2, ["f1", "loss"], 0)
    assert result.trials_to(0.9) == {"x": (3.0, 2)}
    assert result.trials_to(0.95) == {"x": (4.0, 2)}
    assert result.trials_to(0.99) == {"x": (None, 1)}


def test_surface_finds_the_front_faster_than_random_search() -> None:
    result = run_benchmark(
        table_from_frame(plateau_table()),
        F1_LOSS,
        budget=15,
        repeats=8,
        samplers=("surface", "random"),
        seed=0,
    )
    surface, random = result.ratios["surface"], result.ratios["random"]
    # the random start-up never spends a trial on a configuration it has run
    assert all(len(set(row[:3])) == 3 for row in result.configs["surface"])
    assert surface[:, 14].mean() >= 0.9
    assert surface[:, 9:].mean() > random[:, 9:].mean() + 0.05


def test_plot_is_a_png(tmp_path) -> None:
    result = BenchResult(F1_LOSS, {"x": np.array([[0.5, 1.0], [0.4, 0.9]])}, 18, 2, ["f1"], 0)
    path = tmp_path / "bench.png"
    plot_benchmark(result, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_inputs_are_refused() -> None:
    table = table_from_frame(known_front_table())
    with pytest.raises(DataError, match="role=baseline"):
        prepare_table(table, parse_objectives("f1_rel,loss"))
    with pytest.raises(DataError, match="no objective varies"):
        prepare_table(table, parse_objectives("accuracy"))
    with pytest.raises(ValueError, match="choose one of: surface, nsga2, tpe, gp, random"):
        run_benchmark(table, F1_LOSS, budget=2, repeats=1, samplers=("cmaes",))
    with pytest.raises(ValueError, match="at least 1"):
        run_benchmark(table, F1_LOSS, budget=0, repeats=1)
