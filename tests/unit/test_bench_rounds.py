"""`advisor bench --batch N`: rounds of N proposals asked before any is told, scored against
rounds (`advisor.bench_rounds`), and the samplers' batches on a committed table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from advisor.bench import prepare_table, run_benchmark
from advisor.bench_rounds import repeated_share, round_ends, round_rows, rounds_to_rows
from advisor.bench_search import run_search
from advisor.steering import parse_objectives
from advisor.table import read_table

TABLE = Path(__file__).resolve().parents[2] / "benchmarks" / "tables" / "sst2-minilm-250.csv"
OBJECTIVES = parse_objectives("f1,loss")


def test_round_ends_stop_at_the_budget() -> None:
    assert round_ends(7, 3).tolist() == [3, 6, 7]
    assert round_ends(8, 4).tolist() == [4, 8]
    assert round_ends(5, 1).tolist() == [1, 2, 3, 4, 5]


def test_round_rows_read_the_ratio_after_each_round() -> None:
    ratios = {"s": np.array([[0.1, 0.2, 0.3, 0.4, 0.5], [0.3, 0.4, 0.5, 0.6, 0.7]])}
    rows = round_rows(ratios, 2)
    assert [r["round"] for r in rows] == [1, 2, 3]
    assert [r["hv_ratio_mean"] for r in rows] == pytest.approx([0.3, 0.5, 0.6])
    assert rows[0]["hv_ratio_sd"] == pytest.approx(np.std([0.2, 0.4], ddof=1))
    assert set(rows[0]) == {"sampler", "round", "hv_ratio_mean", "hv_ratio_sd"}


def test_rounds_to_counts_rounds_not_trials() -> None:
    ratios = {"s": np.array([[0.0, 0.0, 0.96, 1.0], [0.0, 0.0, 0.0, 0.2], [0.96, 1.0, 1, 1]])}
    (row,) = rounds_to_rows(ratios, 2, [0.95])
    # first hits at trials 3, never, 1 -> rounds 2, inf, 1: the median is 2
    assert row["median_rounds"] == 2.0 and row["reached"] == 2 and row["repeats"] == 3
    (none,) = rounds_to_rows({"s": np.zeros((3, 4))}, 2, [0.95])
    assert none["median_rounds"] is None


def test_repeated_share_counts_repeats_inside_a_round_only() -> None:
    configs = np.array([[1, 1, 2, 2], [1, 2, 1, 2]])
    # batch 2: rounds (1, 1), (2, 2) repeat once each in the first row; none in the second
    assert repeated_share(configs, 2) == pytest.approx(2 / 8)
    assert repeated_share(configs, 1) == 0.0


class _Watcher(optuna.samplers.RandomSampler):
    """Random proposals that record how many trials were RUNNING at each ask."""

    def __init__(self) -> None:
        super().__init__(seed=0)
        self.running_at_ask: list[int] = []

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        self.running_at_ask.append(len(running) - 1)  # less the trial being asked
        super().before_trial(study, trial)


def test_a_round_is_asked_before_any_of_it_is_told() -> None:
    bench = prepare_table(read_table(TABLE), OBJECTIVES)
    draws = np.zeros((len(bench.configs), 7), dtype=int)
    batched, single = _Watcher(), _Watcher()
    run_search(bench, OBJECTIVES, batched, 7, draws, batch=3)
    run_search(bench, OBJECTIVES, single, 7, draws)
    assert batched.running_at_ask == [0, 1, 2, 0, 1, 2, 0]
    assert single.running_at_ask == [0] * 7


def test_the_surface_sampler_proposes_distinct_configurations_in_a_round() -> None:
    """Once the surfaces steer (after 3 finished trials: the first round of 4 is its
    fallback's random start), no round repeats a configuration: RUNNING ones are excluded."""
    result = run_benchmark(
        read_table(TABLE), OBJECTIVES, budget=16, repeats=4, samplers=["surface"], batch=4
    )
    configs = result.configs["surface"]
    for row in configs:
        for first in range(4, 16, 4):
            assert len(set(row[first : first + 4])) == 4, row
    payload = result.to_json()
    assert [r["round"] for r in payload["rounds"]] == [1, 2, 3, 4]
    by_budget = {r["budget"]: r["hv_ratio_mean"] for r in payload["results"]}
    assert [r["hv_ratio_mean"] for r in payload["rounds"]] == [by_budget[b] for b in (4, 8, 12, 16)]
