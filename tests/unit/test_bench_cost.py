"""`bench --cost seconds` and pruning on small synthetic tables with and without curves."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import Scripted
from typer.testing import CliRunner

from advisor.bench import prepare_table, run_benchmark
from advisor.bench_cost import COST_FRACTIONS, cost_to_reach, hv_at_cost
from advisor.bench_search import run_search
from advisor.cli import app
from advisor.steering import TableSpace, parse_objectives
from advisor.table import TrialsTable, table_from_frame

F1_LOSS = parse_objectives("f1,loss")
FRONT = {(1e-3, 8, 3): (0.9, 0.35), (1e-4, 8, 2): (0.8, 0.2)}  # the whole Pareto set


def curve_table(times: bool = True) -> pd.DataFrame:
    """18 configurations x 2 replicates with curves; the 16 off the front are bad from epoch 1.

    An epoch costs `5 * 32 / batch` train seconds; after epoch K of E a run's F1 is
    `0.15 * (1 - K/E)` below its final value and its loss `0.2 * (1 - K/E)` above it.
    """
    configs = list(itertools.product((1e-5, 1e-4, 1e-3), (8, 32), (1, 2, 3)))
    others = iter(zip(np.linspace(0.1, 0.5, 16), np.linspace(0.7, 0.4, 16), strict=True))
    rows = []
    for lr, batch, epochs in configs:
        f1, loss = FRONT.get((lr, batch, epochs)) or next(others)
        for seed, sign in ((0, 1), (1, -1)):
            row = {"learning_rate": lr, "batch_size": batch, "epochs": epochs, "seed": seed}
            row |= {"accuracy": 0.5, "f1": f1 + 0.01 * sign, "loss": loss - 0.01 * sign}
            per_epoch = 5.0 * 32 / batch
            for k in range(1, epochs + 1):
                left = 1 - k / epochs
                row[f"accuracy@{k}"] = 0.5
                row[f"f1@{k}"] = row["f1"] - 0.15 * left
                row[f"loss@{k}"] = row["loss"] + 0.2 * left
                if times:
                    row[f"train_seconds@{k}"] = per_epoch * k
            if times:
                row["train_seconds"] = per_epoch * epochs
            rows.append(row)
    return pd.DataFrame(rows)


def as_table(frame: pd.DataFrame) -> TrialsTable:
    return table_from_frame(frame)


def test_prepare_table_reads_costs_curves_and_the_total_cost() -> None:
    bench = prepare_table(as_table(curve_table()), F1_LOSS)
    assert bench.cost_unit == "train_seconds" and bench.has_curves
    # per configuration: epochs * 5 * 32 / batch; batch 8 -> 20 s an epoch, 32 -> 5 s
    assert bench.total_cost == pytest.approx(3 * (20 + 5) * (1 + 2 + 3))
    row = {tuple(c): i for i, c in enumerate(bench.configs)}[(1e-3, 8.0, 3.0)]
    first = bench.curves[row][0]
    assert first is not None and [p["epoch"] for p in first] == [1, 2, 3]
    assert first[0]["train_seconds"] == 20.0 and first[-1]["f1"] == pytest.approx(0.91)
    mixed = curve_table()
    mixed["wall_time_s"] = mixed["train_seconds"] + 100.0
    mixed.loc[0, "train_seconds"] = np.nan  # this run's cost is read from its wall time
    costs = np.concatenate(prepare_table(as_table(mixed), F1_LOSS).costs)
    assert np.sort(costs)[-1] == pytest.approx(120.0) and (costs < 100).sum() == 35
    no_time = prepare_table(as_table(curve_table(times=False)), F1_LOSS)
    assert no_time.cost_unit == "epochs" and no_time.total_cost == pytest.approx(36.0)


def test_a_pruned_trial_is_charged_its_train_seconds_at_the_epoch_it_stopped() -> None:
    bench = prepare_table(as_table(curve_table()), F1_LOSS)
    space = TableSpace(bench.configs)
    rows = {tuple(c): i for i, c in enumerate(bench.configs)}
    front = [rows[(1e-3, 8.0, 3.0)], rows[(1e-4, 8.0, 2.0)]]
    # the front first, then 3-epoch runs far behind it (mostly after 4 finished curves)
    behind = [i for i, c in enumerate(bench.configs) if c[2] == 3 and i not in front]
    order = front + behind + [i for i, c in enumerate(bench.configs) if c[2] == 2][:4]
    script = [space.candidates()[i] for i in order]
    draws = np.zeros((len(bench.configs), len(order)), dtype=int)
    trace = run_search(bench, F1_LOSS, Scripted(script), len(order), draws, pruner="pareto")
    assert not trace.pruned[: len(front)].any()
    assert trace.pruned.any()
    for b, index in enumerate(order):
        full = bench.costs[index][0]
        if trace.pruned[b]:
            curve = bench.curves[index][0]
            assert curve is not None
            charged = [p["train_seconds"] for p in curve[:-1]]
            assert trace.costs[b] in charged and trace.costs[b] < full
        else:
            assert trace.costs[b] == full
    # a pruned run adds nothing to what was found: the ratio never falls below the front's
    assert trace.ratios[len(front) - 1] == pytest.approx(1.0)


def test_hv_at_cost_and_cost_to_reach_follow_the_spent_share() -> None:
    ratios = np.array([[0.2, 0.5, 0.5, 1.0]])
    spent = np.array([[0.04, 0.12, 0.2, 0.45]])
    at = hv_at_cost(ratios, spent, COST_FRACTIONS)
    np.testing.assert_allclose(at[0, :4], [0.2, 0.2, 0.5, 0.5])
    assert np.isnan(at[0, 4])  # the search ended at 45% of the cost
    assert cost_to_reach(ratios, spent, 0.9)[0] == pytest.approx(0.45)
    assert np.isinf(cost_to_reach(ratios[:, :3], spent[:, :3], 0.9)[0])


def test_cost_mode_prunes_the_surface_sampler_and_scores_cost_fractions() -> None:
    table = as_table(curve_table())
    result = run_benchmark(
        table, F1_LOSS, budget=14, repeats=2, samplers=("surface", "random"), cost="seconds"
    )
    payload = result.to_json()
    assert payload["pruning"] == {"surface": "pareto", "random": None}
    assert payload["cost_unit"] == "train_seconds"
    assert payload["pruned_share"]["random"] == 0.0
    assert any("one objective only" in n for n in payload["notes"])
    for name in ("surface", "random"):
        rows = [r for r in payload["cost"] if r["sampler"] == name]
        assert [r["cost_fraction"] for r in rows] == list(COST_FRACTIONS)
        means = [r["hv_ratio_mean"] for r in rows if r["hv_ratio_mean"] is not None]
        assert means and all(a <= b + 1e-12 for a, b in itertools.pairwise(means))
    targets = {(r["sampler"], r["target"]) for r in payload["cost_to_target"]}
    assert targets == {(s, t) for s in ("surface", "random") for t in (0.9, 0.95, 0.99)}
    # trials mode on the same table: no pruning by default, no cost keys
    plain = run_benchmark(table, F1_LOSS, budget=3, repeats=1, samplers=("random",))
    assert "cost" not in plain.to_json() and "pruning" not in plain.to_json()


def test_one_objective_runs_optuna_samplers_with_optunas_own_pruner() -> None:
    result = run_benchmark(
        as_table(curve_table()),
        parse_objectives("f1"),
        budget=12,
        repeats=1,
        samplers=("surface", "tpe"),
        cost="seconds",
    )
    assert result.pruners == {"surface": "pareto", "tpe": "optuna"}
    assert result.pruned_share()["tpe"] > 0  # MedianPruner stops runs below the median
    assert any("MedianPruner" in n for n in result.notes)


def test_the_surface_sampler_does_not_propose_a_pruned_configuration_again() -> None:
    from advisor.bench import repeat_streams, surface_sampler

    bench = prepare_table(as_table(curve_table()), F1_LOSS)
    seed, draws = repeat_streams(0, 0, len(bench.configs), 14)
    trace = run_search(
        bench, F1_LOSS, surface_sampler(bench, seed), 14, draws, pruner="pareto", seed=seed
    )
    pruned = trace.configs[trace.pruned].tolist()
    assert pruned and len(set(pruned)) == len(pruned)  # 18 configurations: fresh ones remain


def test_bench_cli_cost_seconds_json_with_curves_and_without_time_columns(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    for times, unit in ((True, "train_seconds"), (False, "epochs")):
        path = tmp_path / f"table_{times}.csv"
        curve_table(times).to_csv(path, index=False)
        args = ["bench", "--table", str(path), "--objective", "f1,loss", "--budget", "6"]
        args += ["--repeats", "1", "--samplers", "surface,tpe", "--cost", "seconds", "--json"]
        outcome = runner.invoke(app, args)
        assert outcome.exit_code == 0, outcome.output
        payload = json.loads(outcome.stdout)
        assert payload["cost_unit"] == unit
        assert {r["sampler"] for r in payload["cost"]} == {"surface", "tpe"}
        assert any("epochs are the cost" in n for n in payload["notes"]) is (not times)
        assert payload["results"][0].keys() == {
            "sampler",
            "budget",
            "hv_ratio_mean",
            "hv_ratio_sd",
            "repeats",
        }
    none = runner.invoke(app, [*args[:-1], "--no-prune", "--json"])
    assert json.loads(none.stdout)["pruning"] == {"surface": None, "tpe": None}
