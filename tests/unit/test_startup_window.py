"""The surface sampler's start-up window (`TrainingWindow`): where fine-tunes are expected to
train, how the start-up keeps to it, and how a collapse inside it sets it aside."""

from __future__ import annotations

import io
import itertools

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import create_trial
from rich.console import Console

from advisor.bench import prepare_table, random_start, run_benchmark, surface_sampler
from advisor.bench_search import search_notes
from advisor.render.bench import render_benchmark
from advisor.steering import SurfaceSampler, TableSpace, TrainingWindow, parse_objectives
from advisor.table import table_from_frame, train_size

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {
    "learning_rate": CategoricalDistribution((2e-5, 1e-4, 1e-3)),
    "batch_size": CategoricalDistribution((8, 32)),
    "epochs": IntDistribution(1, 3),
}
CANDIDATES = [
    {"learning_rate": lr, "batch_size": b, "epochs": e}
    for lr, b, e in itertools.product((2e-5, 1e-4, 1e-3), (8, 32), (1, 2, 3))
]
WINDOW = TrainingWindow(train_size=400)


def inside(params: dict) -> bool:
    return bool(WINDOW.trains([params])[0])


def test_the_window_is_learning_rate_times_optimizer_steps() -> None:
    rows = [
        {"learning_rate": 1e-4, "batch_size": 16, "epochs": 1},  # 2.5e-3: too few steps
        {"learning_rate": 1e-4, "batch_size": 8, "epochs": 1},  # 5e-3
        {"learning_rate": 3e-4, "batch_size": 8, "epochs": 3},  # 4.5e-2, at most 4e-4: trains
        {"learning_rate": 8e-4, "batch_size": 8, "epochs": 3},  # 1.2e-1 above 4e-4: collapses
        {"learning_rate": 8e-4, "batch_size": 32, "epochs": 2},  # 2e-2 above 4e-4: trains
    ]
    np.testing.assert_allclose(WINDOW.lr_steps(rows), [2.5e-3, 5e-3, 4.5e-2, 1.2e-1, 2e-2])
    assert WINDOW.trains(rows).tolist() == [False, True, True, False, True]
    # a parameter the study does not search comes from `fixed`; without it, no judgement
    fixed = TrainingWindow(train_size=400, fixed={"epochs": 3})
    assert fixed.trains([{"learning_rate": 8e-4, "batch_size": 8}]).tolist() == [False]
    assert WINDOW.trains([{"learning_rate": 8e-4, "batch_size": 8}]).tolist() == [True]
    assert "400 training examples" in WINDOW.describe()
    with pytest.raises(ValueError, match="train_size"):
        TrainingWindow(train_size=0)
    with pytest.raises(ValueError, match="low < high"):
        TrainingWindow(train_size=10, low=0.1, high=0.01)


def sampler(seed: int, window=WINDOW, **options) -> SurfaceSampler:
    return SurfaceSampler(
        candidates=CANDIDATES,
        search_space=SPACE,
        n_startup_trials=6,
        seed=seed,
        startup_window=window,
        **options,
    )


def test_start_up_draws_only_where_the_window_expects_training() -> None:
    expected = [c for c in CANDIDATES if inside(c)]
    assert 0 < len(expected) < len(CANDIDATES) // 2  # the window rules most of the grid out
    outside_without = 0
    for seed in range(6):
        ours = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler(seed))
        picks = [ours.ask(SPACE).params for _ in range(len(expected))]
        assert all(inside(p) for p in picks)
        assert len({tuple(p.values()) for p in picks}) == len(expected)  # none twice
        reason = ours.sampler.decisions_[0].reason
        assert "where fine-tunes are expected to train" in reason
        # once every configuration inside is taken, the start-up draws from the rest
        assert not inside(ours.ask(SPACE).params)
        assert "no untaken configuration lies in the window" in ours.sampler.decisions_[-1].reason
        plain = optuna.create_study(sampler=sampler(seed, window=None))
        outside_without += sum(not inside(plain.ask(SPACE).params) for _ in range(3))
    assert outside_without > 0  # without the window, the same seeds draw outside it


def test_continuous_spaces_keep_to_the_window_too() -> None:
    space = {
        "learning_rate": FloatDistribution(1e-5, 1e-3, log=True),
        "batch_size": CategoricalDistribution((8, 16, 32)),
        "epochs": IntDistribution(1, 3),
    }
    for seed in range(4):
        ours = optuna.create_study(
            sampler=SurfaceSampler(
                search_space=space, n_startup_trials=5, seed=seed, startup_window=WINDOW
            )
        )
        assert all(inside(ours.ask(space).params) for _ in range(5))


def finished(study: optuna.Study, params: dict, collapsed: bool) -> None:
    study.add_trial(
        create_trial(
            params=params,
            distributions=SPACE,
            values=[0.67 if collapsed else 0.8, 0.69 if collapsed else 0.45],
            user_attrs={"collapsed": collapsed},
        )
    )


def test_a_collapse_inside_the_window_sets_it_aside() -> None:
    first, second = [c for c in CANDIDATES if inside(c)][:2]
    picked_outside = 0
    for seed in range(6):
        study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler(seed))
        study.set_metric_names(["f1", "loss"])
        finished(study, first, collapsed=False)
        assert inside(study.ask(SPACE).params)
        finished(study, second, collapsed=True)  # the window expected it to train
        trial = study.ask(SPACE)
        reason = study.sampler.decisions_[-1].reason
        assert "start-up window is set aside: trial 2 collapsed" in reason
        picked_outside += not inside(trial.params)
    assert picked_outside > 0
    # a collapse outside the window says nothing against it
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler(0))
    finished(study, next(c for c in CANDIDATES if not inside(c)), collapsed=True)
    assert inside(study.ask(SPACE).params)
    assert "set aside" not in study.sampler.decisions_[-1].reason


def table_frame(with_throughput: bool) -> pd.DataFrame:
    rows = []
    for lr, batch, epochs in itertools.product((2e-5, 1e-4, 1e-3), (8, 32), (1, 2, 3)):
        trains = inside({"learning_rate": lr, "batch_size": batch, "epochs": epochs})
        seconds = 0.05 * 400 * epochs
        rows.append(
            {
                "learning_rate": lr,
                "batch_size": batch,
                "epochs": epochs,
                "accuracy": 0.8 + 50 * lr if trains else 0.509,
                "f1": 0.8 + 40 * lr - 0.01 * epochs if trains else 0.675,
                "loss": 0.5 - 30 * lr + 0.02 * epochs if trains else 0.69,
                "train_seconds": seconds,
                "train_samples_per_second": 400 * epochs / seconds,
            }
        )
    frame = pd.DataFrame(rows)
    return frame if with_throughput else frame.drop(columns="train_samples_per_second")


def test_bench_reads_the_train_size_and_gives_the_surface_sampler_its_window() -> None:
    objectives = parse_objectives("f1,loss")
    assert train_size(table_frame(True)) == 400
    assert train_size(table_frame(False)) is None
    bench = prepare_table(table_from_frame(table_frame(True)), objectives)
    assert bench.train_size == 400
    ours = surface_sampler(bench, seed=0)
    assert random_start(ours) == 0  # its start-up is not a random search's
    space = TableSpace(bench.configs)
    rows = space.candidates()
    by_levels = ours.startup_window.trains(rows)
    by_values = WINDOW.trains([space.values(r) for r in rows])
    assert by_levels.tolist() == by_values.tolist() and 0 < by_levels.sum() < len(rows)
    assert "expected to train" in search_notes(bench, objectives, ["surface"], "trials", None)[0]
    result = run_benchmark(
        table_from_frame(table_frame(True)), objectives, budget=4, repeats=1, samplers=["surface"]
    )
    buffer = io.StringIO()
    render_benchmark(result, Console(file=buffer, width=80))
    flat = " ".join(buffer.getvalue().split())
    assert "surface none (its start-up keeps to a window: see the notes)" in flat
    assert "start-up draws where fine-tunes are expected to train" in flat
    older = prepare_table(table_from_frame(table_frame(False)), objectives)
    assert older.train_size is None
    assert surface_sampler(older, seed=0).startup_window is None
    assert random_start(surface_sampler(older, seed=0)) == 3
    assert "no train size" in search_notes(older, objectives, ["surface"], "trials", None)[0]
