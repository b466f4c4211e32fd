"""A `config` baseline on a replicated grid is trained once per grid seed: its record keeps each
run, its metrics are their mean, and relative surfaces pair each run with the baseline run of
the same seed (issue 13, item 6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
from conftest import tiny_spec_text

from advisor.config import load_spec
from advisor.study.grid import baseline_seeds, run_grid
from advisor.study.storage import get_baseline, open_storage, trials_table
from advisor.surface._relative import baseline_reference

BASELINE = 'kind = "config"\nparams = { learning_rate = 1e-3, batch_size = 16, epochs = 1 }'


def test_config_baseline_is_trained_once_per_grid_seed_and_paired(
    tmp_path: Path, tiny_model: Path, sst2_sample: Path
) -> None:
    path = tmp_path / "paired.toml"
    path.write_text(
        tiny_spec_text(
            tiny_model,
            sst2_sample,
            name="paired",
            seeds="[0, 1]",
            baseline=BASELINE,
            batch="[16]",
        ),
        encoding="utf-8",
    )
    spec = load_spec(path)
    assert baseline_seeds(spec) == (0, 1)
    url = f"sqlite:///{tmp_path / 'advisor.db'}"

    run_grid(spec, url)

    study = optuna.load_study(study_name="paired", storage=open_storage(url))
    record = get_baseline(study)
    assert record is not None
    assert [run["seed"] for run in record["runs"]] == [0, 1]
    for metric in ("accuracy", "f1", "loss"):
        values = [run["metrics"][metric] for run in record["runs"]]
        assert record["metrics"][metric] == pytest.approx(np.mean(values))
    table = trials_table(study)
    assert table.baseline_runs is not None and set(table.baseline_runs) == {0, 1}
    paired, runs = baseline_reference(table, "accuracy", table.rows)
    expected = [table.baseline_runs[int(s)]["accuracy"] for s in table.rows["seed"]]
    assert list(np.asarray(paired)) == pytest.approx(expected)
    assert sorted(runs) == sorted(r["metrics"]["accuracy"] for r in record["runs"])


def test_a_single_seed_grid_trains_its_baseline_once_with_its_own_seed(
    tmp_path: Path, tiny_model: Path, sst2_sample: Path
) -> None:
    path = tmp_path / "single.toml"
    path.write_text(
        tiny_spec_text(tiny_model, sst2_sample, name="single", baseline=BASELINE + "\nseed = 7"),
        encoding="utf-8",
    )
    assert baseline_seeds(load_spec(path)) == (7,)
