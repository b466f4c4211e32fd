"""What a user sees while `advisor grid` runs with its output in a log (not a terminal):
a line from the first second, one flushed line per finished fine-tune with its time and the
grid's ETA, the summary with collapsed runs flagged, the next step, and what a Ctrl-C stopped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
import transformers
from conftest import tiny_spec_text
from typer.testing import CliRunner

from advisor.cli import app

runner = CliRunner()


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "80", "HF_HUB_OFFLINE": "1"}


def test_a_grid_logged_to_files_prints_lines_from_the_first_second(
    tmp_path: Path, tiny_model: Path, sst2_sample: Path
) -> None:
    spec = tmp_path / "logged.toml"
    spec.write_text(
        tiny_spec_text(
            tiny_model,
            sst2_sample,
            name="logged",
            baseline='kind = "config"\nparams = { learning_rate = 1e-3, batch_size = 16, '
            "epochs = 1 }",
        ),
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "advisor", "grid", str(spec), "--storage", url],
        capture_output=True,  # pipes: neither stdout nor stderr is a terminal
        text=True,
        env=_env(),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("[0:0") and "loading data (train.tsv, validation.tsv)" in lines[0]
    assert any("loading model" in line for line in lines[:3])
    assert any("baseline: fine-tune lr=0.001 batch=16 epochs=1" in line for line in lines)
    finished = [line for line in lines if " finished in 0:" in line]
    assert len(finished) == 4  # one line per fine-tune, each with its time and the grid's
    assert all("accuracy=" in line and "/4 grid points" in line for line in finished)
    assert "ETA" in finished[0] and "4/4 grid points" in finished[-1]
    assert not any("\r" in line or "\x1b[" in line for line in lines)  # no bars in a log
    out = done.stdout
    assert "logged: trials finished by this run" in out
    assert "baseline (config, lr=0.001 batch=16 epochs=1" in out
    assert "next: advisor fit-surface --study logged --storage " in out
    assert "then: advisor suggest --study logged --objective f1,loss" in out
    table = [line for line in out.splitlines() if not line.startswith(("next:", "then:"))]
    assert all(len(line.rstrip()) <= 80 for line in table), out  # next: lines soft-wrap


def test_ctrl_c_during_the_baseline_says_nothing_was_stored(
    tmp_path: Path, tiny_model: Path, sst2_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "base.toml"
    spec.write_text(
        tiny_spec_text(
            tiny_model,
            sst2_sample,
            name="base-stop",
            baseline='kind = "config"\nparams = { learning_rate = 1e-3, batch_size = 16, '
            "epochs = 1 }",
        ),
        encoding="utf-8",
    )

    def train(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(transformers.Trainer, "train", train)
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    result = runner.invoke(app, ["grid", str(spec), "--storage", url])
    assert result.exit_code == 130
    assert "the baseline fine-tune was stopped before it finished; nothing was stored" in (
        result.stderr
    )
    assert "marked failed" not in result.stderr
    assert "Run the same command again" in result.stderr
    assert optuna.load_study(study_name="base-stop", storage=url).trials == []


def test_ctrl_c_in_a_trial_names_it_and_how_to_resume(
    tmp_path: Path, tiny_model: Path, sst2_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "trial.toml"
    spec.write_text(
        tiny_spec_text(tiny_model, sst2_sample, name="trial-stop", baseline='kind = "none"'),
        encoding="utf-8",
    )
    real_train = transformers.Trainer.train
    calls: list[int] = []

    def train(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_train(self, *args, **kwargs)

    monkeypatch.setattr(transformers.Trainer, "train", train)
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    result = runner.invoke(app, ["grid", str(spec), "--storage", url])
    assert result.exit_code == 130
    study = optuna.load_study(study_name="trial-stop", storage=url)
    (stopped,) = study.get_trials(states=(optuna.trial.TrialState.FAIL,))  # the second claimed
    message = f'trial {stopped.number} was stopped and is marked failed (reason "interrupted")'
    assert message in result.stderr
    assert "the 1 fine-tune(s) finished before it are stored" in result.stderr
    assert "Run the same command again to resume" in result.stderr
