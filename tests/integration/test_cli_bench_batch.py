"""`advisor bench --batch N` through the CLI: the JSON's `rounds` rows and the rounds table;
`--batch 1` (the default) prints what it printed before the option existed."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from advisor.cli import app

runner = CliRunner()
TABLE = Path(__file__).resolve().parents[2] / "benchmarks" / "tables" / "sst2-minilm-250.csv"
ARGS = ["bench", "--table", str(TABLE), "--objective", "f1,loss", "--budget", "5"]
ARGS += ["--repeats", "2", "--samplers", "surface,random"]


def test_batch_two_json_has_a_row_per_sampler_and_round() -> None:
    result = runner.invoke(app, [*ARGS, "--batch", "2", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    rounds = payload["rounds"]
    assert {(r["sampler"], r["round"]) for r in rounds} == {
        (s, n) for s in ("surface", "random") for n in (1, 2, 3)
    }
    for row in rounds:
        assert set(row) == {"sampler", "round", "hv_ratio_mean", "hv_ratio_sd"}
        assert 0.0 <= row["hv_ratio_mean"] <= 1.0 and row["hv_ratio_sd"] >= 0.0
    at = {(r["sampler"], r["budget"]): r["hv_ratio_mean"] for r in payload["results"]}
    for row in rounds:  # round r ends at trial 2r, the last one at the budget
        assert row["hv_ratio_mean"] == at[(row["sampler"], min(2 * row["round"], 5))]
    assert payload["batch"] == 2 and set(payload["batch_repeated_share"]) == {"surface", "random"}


def test_batch_one_adds_no_rounds_and_the_table_shows_rounds_for_batches() -> None:
    single = runner.invoke(app, [*ARGS, "--json"])
    assert single.exit_code == 0, single.output
    assert "rounds" not in json.loads(single.stdout)
    human = runner.invoke(app, [*ARGS, "--batch", "2"], env={"COLUMNS": "200"})
    assert human.exit_code == 0, human.output
    assert "rounds of 2 proposals" in human.stdout and "R=3" in human.stdout
    bad = runner.invoke(app, [*ARGS, "--batch", "0"])
    assert bad.exit_code == 2
