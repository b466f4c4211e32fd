"""What a new user meets first: `advisor --version`, help that reads at 80 columns, and a
model name the Hub cannot give answered in seconds (not minutes of retries)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import tiny_spec_text
from typer.testing import CliRunner

from advisor.cli import app

runner = CliRunner()
COMMANDS = (
    "grid",
    "export",
    "fit-surface",
    "suggest",
    "tune",
    "report",
    "bench",
    "harvest",
    "status",
)


def test_version_names_advisor_and_its_libraries() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("advisor 0.1.0 (Python 3.")
    assert "optuna " in result.stdout and "transformers " in result.stdout


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_reads_at_80_columns(command: str | None) -> None:
    args = ["--help"] if command is None else [command, "--help"]
    done = subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
        check=True,
    )
    text = done.stdout
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "…" not in text and "..." not in text.replace("[ARGS]...", "")  # nothing cut off
    if command == "grid":
        flat = " ".join(text.split())
        assert "Seconds without a heartbeat before another worker takes a trial over." in flat


def test_an_unknown_model_fails_in_seconds_with_the_local_options(
    tmp_path: Path, sst2_sample: Path
) -> None:
    spec = tmp_path / "hub.toml"
    spec.write_text(
        tiny_spec_text(Path("minilm-l6"), sst2_sample, name="hub"),  # not a folder: a Hub id
        encoding="utf-8",
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    }
    for offline in ({}, {"HF_HUB_OFFLINE": "1"}):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "advisor", "grid", str(spec)],
            capture_output=True,
            text=True,
            env={**env, **offline},
            cwd=tmp_path,
            timeout=300,
        )
        seconds = time.perf_counter() - started
        assert done.returncode == 1, done.stderr
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "'minilm-l6'" in errors[0], done.stderr
        assert 'model.name = "minilm"' in errors[0]
        assert "HF_HUB_OFFLINE=1" in errors[0] or "is not on the Hugging Face Hub" in errors[0]
        assert "Retrying" not in done.stderr and "retry" not in done.stderr.lower()
        assert seconds < 60, f"{seconds:.0f} s to fail on the Hub (was 135 s of retries)"


def test_a_hub_dataset_without_the_hub_fails_in_seconds(tmp_path: Path, tiny_model: Path) -> None:
    spec = tmp_path / "hubdata.toml"
    text = tiny_spec_text(tiny_model, tmp_path, name="hubdata")
    text = text.replace('source = "files"', 'source = "glue/sst2"')
    # small, should the Hub answer after all (the test then skips)
    text = text.replace(
        'label_column = "label"', 'label_column = "label"\ntrain_size = 32\neval_size = 32'
    )
    text = text.replace(f'train = "{tmp_path / "train.tsv"}"', 'train = "train"')
    text = text.replace(f'eval = "{tmp_path / "validation.tsv"}"', 'eval = "validation"')
    spec.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "advisor", "grid", str(spec)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    seconds = time.perf_counter() - started
    if done.returncode == 0:  # pragma: no cover - a machine with the Hub
        pytest.skip("the Hub is reachable here")
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "'glue'" in errors[0], done.stderr
    assert 'data.source = "files"' in errors[0] and "HF_HUB_OFFLINE=1" in errors[0]
    assert seconds < 60, f"{seconds:.0f} s to fail on the Hub"
