"""A benchmark checkpoint's value does not depend on --budget, and the result says which
samplers are still in their random start at each budget."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from rich.console import Console
from test_bench import F1_LOSS, plateau_table

from advisor.bench import repeat_streams, run_benchmark
from advisor.render.bench import render_benchmark
from advisor.table import table_from_frame


def test_replicate_draws_of_the_first_visits_do_not_depend_on_the_budget() -> None:
    _, short = repeat_streams(0, 2, 45, 10)
    _, long = repeat_streams(0, 2, 45, 20)
    np.testing.assert_array_equal(short, long[:, :10])


def noisy_plateau_table() -> pd.DataFrame:
    """Replicates far apart (sd 0.08): which one answers a proposal changes what the surface
    sampler proposes next (with the draws made per budget, its 8-trial values changed)."""
    frame = plateau_table()
    rng = np.random.default_rng(5)
    for column in ("f1", "loss"):
        frame[column] = frame[column] + rng.normal(0, 0.08, len(frame))
    return frame


def test_checkpoint_values_are_the_same_for_every_budget() -> None:
    table = table_from_frame(noisy_plateau_table())
    samplers = ("surface", "tpe")
    short = run_benchmark(table, F1_LOSS, budget=8, repeats=2, samplers=samplers)
    long = run_benchmark(table, F1_LOSS, budget=16, repeats=2, samplers=samplers)
    for name in samplers:
        np.testing.assert_array_equal(short.ratios[name], long.ratios[name][:, :8])


def test_random_starts_are_reported_per_sampler_and_budget() -> None:
    table = table_from_frame(plateau_table())
    result = run_benchmark(
        table, F1_LOSS, budget=12, repeats=1, samplers=("surface", "tpe", "random")
    )
    assert result.random_starts == {"surface": 3, "tpe": 10, "random": None}
    assert result.in_random_start(3) == ["surface", "tpe", "random"]
    assert result.in_random_start(10) == ["tpe", "random"]
    assert result.in_random_start(11) == ["random"]
    assert result.to_json()["random_start"] == {"surface": 3, "tpe": 10, "random": None}
    buffer = io.StringIO()
    render_benchmark(result, Console(file=buffer, width=80))
    text = buffer.getvalue()
    assert all(len(line) <= 80 for line in text.splitlines())
    flat = " ".join(text.split())
    assert "tpe the first 10" in flat and "random always" in flat
    assert "N=5: tpe, random; N=10: tpe, random; N=12: random" in flat
    tpe_row = next(line for line in text.splitlines() if line.strip().startswith("tpe"))
    assert tpe_row.count("*") == 2  # N=5 and N=10, not N=12
