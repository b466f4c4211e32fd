"""`advisor grid` end to end on tiny real fine-tunes: trials land in SQLite with every metric,
re-running skips finished points, `advisor export` writes the benchmark table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
from typer.testing import CliRunner

from advisor.cli import app
from advisor.study.storage import BASELINE_ATTR, SPEC_ATTR
from advisor.table import ALL_METRICS, read_table

runner = CliRunner()


def _grid(spec: Path, url: str) -> dict:
    result = runner.invoke(app, ["grid", str(spec), "--storage", url, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_grid_lands_every_point_with_all_metrics_and_resumes(
    tiny_spec: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    first = _grid(tiny_spec, url)
    assert first["study"] == "tiny" and first["storage"] == url
    assert len(first["trials"]) == 4  # 2 learning rates x 2 batch sizes x 1 epoch x 1 seed
    study = optuna.load_study(study_name="tiny", storage=url)
    assert study.metric_names == ["accuracy", "f1", "loss"]
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MAXIMIZE", "MINIMIZE"]
    baseline = study.user_attrs[BASELINE_ATTR]
    assert baseline["kind"] == "checkpoint" and set(baseline["metrics"]) == {
        "accuracy",
        "f1",
        "loss",
    }
    assert SPEC_ATTR in study.user_attrs
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 4
    for trial in trials:
        assert set(trial.params) == {"learning_rate", "batch_size", "epochs", "seed"}
        for metric in ALL_METRICS:
            assert metric in trial.user_attrs, metric
        assert trial.values == [trial.user_attrs[m] for m in ("accuracy", "f1", "loss")]
        assert 0.0 <= trial.user_attrs["accuracy"] <= 1.0
        assert trial.user_attrs["loss"] > 0
        rel = trial.user_attrs["f1"] - baseline["metrics"]["f1"]
        assert abs(trial.user_attrs["f1_rel"] - rel) < 1e-12
        assert trial.user_attrs["train_samples_per_second"] > 0
        assert trial.user_attrs["wall_time_s"] > 0
    seen = {(t.params["learning_rate"], t.params["batch_size"]) for t in trials}
    assert seen == {(1e-4, 16), (1e-4, 32), (1e-3, 16), (1e-3, 32)}

    again = _grid(tiny_spec, url)
    assert again["trials"] == []
    assert len(optuna.load_study(study_name="tiny", storage=url).trials) == 4

    out = tmp_path / "table.csv"
    result = runner.invoke(app, ["export", "--study", "tiny", "--out", str(out), "--storage", url])
    assert result.exit_code == 0, result.output
    table = read_table(out)
    assert len(table.rows) == 4 and table.baseline == baseline["metrics"]
    raw = pd.read_csv(out)
    assert list(raw.columns[:8]) == [
        "role",
        "learning_rate",
        "batch_size",
        "epochs",
        "seed",
        "accuracy",
        "f1",
        "loss",
    ]


def test_misspelled_key_fails_before_training(tmp_path: Path, tiny_spec: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(tiny_spec.read_text().replace("label_column", "label_colum"))
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    result = runner.invoke(app, ["grid", str(bad), "--storage", url])
    assert result.exit_code == 1
    assert "data.label_colum" in result.stderr
    assert not (tmp_path / "advisor.db").exists() or not optuna.get_all_study_names(url)


def test_missing_label_column_is_a_clear_error(tmp_path: Path, tiny_spec: Path) -> None:
    spec = tmp_path / "nolabel.toml"
    spec.write_text(
        tiny_spec.read_text().replace('label_column = "label"', 'label_column = "sentiment"')
    )
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    result = runner.invoke(app, ["grid", str(spec), "--storage", url])
    assert result.exit_code == 1
    assert "no column 'sentiment'" in result.stderr and "data.label_column" in result.stderr
    assert optuna.get_all_study_names(url) == []


def test_help_is_fast_and_imports_no_torch() -> None:
    code = (
        "import sys; from advisor.cli import app; "
        "from typer.testing import CliRunner; r = CliRunner().invoke(app, ['--help']); "
        "assert r.exit_code == 0, r.output; "
        "heavy = [m for m in ('torch', 'transformers', 'statsmodels', 'matplotlib', "
        "'sklearn', 'datasets') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    subprocess.run([sys.executable, "-m", "advisor", "--help"], check=True, capture_output=True)
