"""`advisor bench` end to end: CSV table, JSON and human output, plot, errors, exit codes."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from advisor.cli import app

runner = CliRunner()


def flat(output: str) -> str:
    """Output with Rich's box characters and line wrapping removed."""
    return " ".join(output.replace("│", " ").split())


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """A 27-configuration table with two replicates, a baseline row and extra columns."""
    rng = np.random.default_rng(0)
    rows = [
        {
            "role": "baseline",
            "learning_rate": 0,
            "batch_size": 0,
            "epochs": 0,
            "accuracy": 0.5,
            "f1": 0.0,
            "loss": 0.69,
        }
    ]
    for lr, batch, epochs in itertools.product((1e-5, 3e-5, 1e-4), (8, 16, 32), (1, 2, 3)):
        amount = np.log10(lr / 1e-5) + np.log10(epochs) - np.log10(batch / 8)
        learned = 1 / (1 + np.exp(-(amount - 0.3) / 0.2))
        for seed in range(2):
            rows.append(
                {
                    "role": "trial",
                    "learning_rate": lr,
                    "batch_size": batch,
                    "epochs": epochs,
                    "seed": seed,
                    "dataset": "sst2",
                    "accuracy": 0.6 + 0.3 * learned + rng.normal(0, 0.01),
                    "f1": 0.85 * learned + rng.normal(0, 0.01),
                    "loss": 0.69 - 0.4 * learned + 0.3 * max(amount - 0.9, 0) + rng.normal(0, 0.01),
                }
            )
    path = tmp_path / "table.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_json_has_one_row_per_sampler_and_budget(table: Path, tmp_path: Path) -> None:
    plot = tmp_path / "bench.png"
    result = runner.invoke(
        app,
        [
            "bench",
            "--table",
            str(table),
            "--objective",
            "f1,loss",
            "--budget",
            "8",
            "--repeats",
            "2",
            "--samplers",
            "surface,random",
            "--json",
            "--plot",
            str(plot),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    rows = payload["results"]
    assert [(r["sampler"], r["budget"]) for r in rows] == [
        (s, b) for s in ("surface", "random") for b in range(1, 9)
    ]
    for row in rows:
        assert set(row) >= {"sampler", "budget", "hv_ratio_mean", "hv_ratio_sd", "repeats"}
        assert row["repeats"] == 2 and 0.0 <= row["hv_ratio_mean"] <= 1.0
    assert payload["table"]["configurations"] == 27
    assert {r["threshold"] for r in payload["trials_to"]} == {0.9, 0.95, 0.99}
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_relative_objectives_use_the_baseline_row(table: Path) -> None:
    result = runner.invoke(
        app,
        [
            "bench",
            "--table",
            str(table),
            "--objective",
            "f1_rel,loss_rel",
            "--budget",
            "3",
            "--repeats",
            "1",
            "--samplers",
            "random",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["table"]["objectives"] == ["f1_rel", "loss_rel"]


def test_human_output_is_a_table(table: Path) -> None:
    result = runner.invoke(
        app,
        [
            "bench",
            "--table",
            str(table),
            "--objective",
            "accuracy,f1,loss",
            "--budget",
            "6",
            "--repeats",
            "2",
            "--samplers",
            "surface,tpe",
        ],
    )
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "surface" in text and "tpe" in text and "to 0.95" in text
    assert "27 configurations" in text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--samplers", "surface,cmaes"],
            "unknown sampler 'cmaes'; valid choices: surface, nsga2, tpe, gp, random",
        ),
        (
            ["--objective", "f1,precision"],
            "choose from accuracy, f1, loss, accuracy_rel, f1_rel, loss_rel",
        ),
        (["--budget", "0"], "should be greater than or equal to 1"),
    ],
)
def test_bad_choices_are_usage_errors_listing_the_valid_ones(
    table: Path, args: list[str], expected: str
) -> None:
    base = {"--objective": "f1,loss", "--budget": "2", "--repeats": "1"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    result = runner.invoke(app, ["bench", "--table", str(table), *itertools.chain(*base.items())])
    assert result.exit_code == 2
    assert expected in flat(result.output)


def test_missing_table_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["bench", "--table", str(tmp_path / "nope.csv"), "--objective", "f1,loss"]
    )
    assert result.exit_code == 1
    assert flat(result.output).startswith("error: table")
    assert "does not exist" in result.output


def test_relative_objective_without_baseline_is_a_clear_error(tmp_path: Path, table: Path) -> None:
    frame = pd.read_csv(table)
    frame[frame["role"] != "baseline"].drop(columns="role").to_csv(tmp_path / "t.csv", index=False)
    result = runner.invoke(
        app, ["bench", "--table", str(tmp_path / "t.csv"), "--objective", "f1_rel", "--budget", "2"]
    )
    assert result.exit_code == 1
    assert "role=baseline" in flat(result.output)
