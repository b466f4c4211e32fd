"""`advisor fit-surface` end to end: a study in SQLite, a CSV table, errors and exit codes."""

from __future__ import annotations

import itertools
import json

import numpy as np
import optuna
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from optuna.distributions import FloatDistribution, IntDistribution
from typer.testing import CliRunner

from advisor.cli import app
from advisor.study.storage import BASELINE_ATTR, PARTIAL_ATTR, SURFACES_ATTR
from advisor.study.surfaces import load_surfaces

runner = CliRunner()
BASELINE = {"accuracy": 0.5, "f1": 0.1, "loss": 0.69}
DISTRIBUTIONS = {
    "learning_rate": FloatDistribution(1e-6, 1e-3, log=True),
    "batch_size": IntDistribution(1, 512),
    "epochs": IntDistribution(1, 20),
    "seed": IntDistribution(0, 100),
}


def measured_rows(seeds=(0, 1)) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for lr, batch, epochs, seed in itertools.product(
        [1e-5, 3e-5, 1e-4], [8, 16, 32], [1, 2, 3], seeds
    ):
        progress = 1 - np.exp(-(lr / 1e-5) * epochs * (8 / batch))
        rows.append(
            {
                "learning_rate": lr,
                "batch_size": batch,
                "epochs": epochs,
                "seed": seed,
                "accuracy": 0.6 + 0.3 * progress + rng.normal(0, 0.01),
                "f1": 0.8 * progress + rng.normal(0, 0.02),
                "loss": 0.69 - 0.3 * progress + rng.normal(0, 0.01),
            }
        )
    return rows


def make_study(tmp_path, baseline=True, name="grid"):
    url = f"sqlite:///{tmp_path}/x.db"
    study = optuna.create_study(
        storage=url, study_name=name, directions=["maximize", "maximize", "minimize"]
    )
    study.set_metric_names(["accuracy", "f1", "loss"])
    if baseline:
        study.set_user_attr(BASELINE_ATTR, {"kind": "checkpoint", "metrics": BASELINE})
    for row in measured_rows():
        metrics = {m: row[m] for m in ("accuracy", "f1", "loss")}
        attrs = dict(metrics)
        if baseline:
            attrs.update({f"{m}_rel": v - BASELINE[m] for m, v in metrics.items()})
        study.add_trial(
            optuna.trial.create_trial(
                params={k: row[k] for k in DISTRIBUTIONS},
                distributions=DISTRIBUTIONS,
                values=list(metrics.values()),
                user_attrs=attrs,
            )
        )
    return url, study


def flat(output: str) -> str:
    """Output with Rich's box characters and line wrapping removed."""
    return " ".join(output.replace("│", " ").split())


def write_table(path, baseline=True, rows=None):
    frame = pd.DataFrame(rows or measured_rows()).assign(role="trial", dataset="sst2")
    if baseline:
        frame = pd.concat([pd.DataFrame([{"role": "baseline", **BASELINE}]), frame])
    frame.to_csv(path, index=False)
    return path


def test_fits_a_study_prints_tables_and_stores_the_surfaces(tmp_path):
    url, _ = make_study(tmp_path)
    result = runner.invoke(app, ["fit-surface", "--study", "grid", "--storage", url, "--full"])
    assert result.exit_code == 0, result.output
    for text in (
        "f1_rel",
        "loss  (absolute",
        "Intercept",
        "lr:batch",
        "95% low",
        "CV R²",
        "stored 6 surface(s) with study grid",
        "***",
    ):
        assert text in result.output
    study = optuna.load_study(study_name="grid", storage=url)
    assert study.user_attrs[SURFACES_ATTR]["format"] == 1
    surfaces = load_surfaces(study)
    assert set(surfaces) == {"accuracy", "accuracy_rel", "f1", "f1_rel", "loss", "loss_rel"}
    frame = pd.DataFrame({"learning_rate": [5e-5], "batch_size": [16], "epochs": [2]})
    assert surfaces["f1"].predict(frame)["mean"].iloc[0] > 0.5


def test_default_output_is_a_summary_with_the_verdict_and_no_tables(tmp_path):
    url, _ = make_study(tmp_path)
    result = runner.invoke(
        app, ["fit-surface", "--study", "grid", "--storage", url, "--no-store", "--metric", "f1"]
    )
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "f1 (absolute, degree 2): trustworthy" in text
    assert "design: 54 rows, 27 configs for 10 terms" in text
    assert "seed SD" in text and "inference: cluster-robust by configuration (27 clusters" in text
    assert "effects that survive Holm's correction:" in text
    assert "Intercept" not in text and "95% low" not in text  # tables only with --full
    assert "f1_rel: the f1 surface shifted by the baseline" in text  # one line, no second table


def test_saturated_table_is_not_trustworthy_in_text_and_json(tmp_path):
    few = measured_rows(seeds=(0,))[::2][:10]  # 10 configurations (3 levels each), 10 terms
    path = write_table(tmp_path / "few.csv", rows=few)
    result = runner.invoke(app, ["fit-surface", "--table", str(path), "--metric", "loss"])
    assert result.exit_code == 0, result.output
    assert "NOT trustworthy" in result.output and "saturated design" in flat(result.output)
    payload = json.loads(
        runner.invoke(
            app, ["fit-surface", "--table", str(path), "--metric", "loss", "--json"]
        ).stdout
    )
    surface = payload["surfaces"][0]
    assert surface["trustworthy"] is False and surface["findings"] == []
    assert surface["reasons"][0].startswith("saturated design: ")
    d = surface["diagnostics"]
    assert {
        "configs",
        "terms",
        "condition_number",
        "max_leverage",
        "cv_r2",
        "seed_sd",
        "influential",
    } <= set(d)
    assert (d["configs"], d["terms"], d["cv_r2"]) == (10, 10, None)


def test_partial_trials_count_for_the_metrics_they_have(tmp_path):
    url, study = make_study(tmp_path)
    study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.PRUNED,
            params={"learning_rate": 5e-5, "batch_size": 16, "epochs": 2, "seed": 0},
            distributions=DISTRIBUTIONS,
            user_attrs={"accuracy": 0.85, "loss": 0.4, PARTIAL_ATTR: ["f1"]},
        )
    )
    result = runner.invoke(
        app, ["fit-surface", "--study", "grid", "--storage", url, "--mode", "absolute", "--json"]
    )
    assert result.exit_code == 0, result.output
    surfaces = {s["metric"]: s for s in json.loads(result.stdout)["surfaces"]}
    assert surfaces["accuracy"]["n"] == 55 and surfaces["f1"]["n"] == 54
    assert "1 of 55 rows have no f1 value and were left out" in surfaces["f1"]["warnings"]


def test_json_output_has_the_contract_shape_and_matches_statsmodels(tmp_path):
    url, _ = make_study(tmp_path)
    result = runner.invoke(
        app,
        [
            "fit-surface",
            "--study",
            "grid",
            "--storage",
            url,
            "--metric",
            "f1",
            "--mode",
            "absolute",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output

    def no_nan(value):
        raise AssertionError(f"non-JSON constant {value}")

    payload = json.loads(result.stdout, parse_constant=no_nan)
    assert payload["stored"] is True and len(payload["surfaces"]) == 1
    surface = payload["surfaces"][0]
    assert (surface["metric"], surface["mode"], surface["n"]) == ("f1", "absolute", 54)
    assert {"term", "coef", "se", "p"} <= set(surface["terms"][0])
    data = pd.DataFrame(measured_rows())
    coded = pd.DataFrame(
        {
            f["name"]: (
                {"log10": np.log10, "log2": np.log2}.get(f["transform"], lambda v: v)(
                    data[f["param"]].astype(float)
                )
                - f["center"]
            )
            / f["scale"]
            for f in surface["factors"]
        }
    ).assign(y=data["f1"])
    direct = smf.ols(surface["formula"], coded).fit()
    for term in surface["terms"]:
        assert term["coef"] == pytest.approx(direct.params[term["formula"]], abs=1e-9)
    assert surface["r2"] == pytest.approx(direct.rsquared, abs=1e-9)


def test_fits_a_table_without_any_study_or_storage(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADVISOR_STORAGE", raising=False)
    path = write_table(tmp_path / "trials.csv")
    result = runner.invoke(app, ["fit-surface", "--table", str(path), "--degree", "1"])
    assert result.exit_code == 0, result.output
    assert "accuracy_rel" in result.output and "degree 1" in result.output
    assert not (tmp_path / "advisor.db").exists()
    result = runner.invoke(app, ["fit-surface", "--table", str(path), "--json"])
    payload = json.loads(result.stdout)
    assert payload["stored"] is False
    assert {(s["metric"], s["mode"]) for s in payload["surfaces"]} == {
        (m, mode) for m in ("accuracy", "f1", "loss") for mode in ("absolute", "relative")
    }


def test_relative_needs_a_baseline_and_both_skips_with_a_note(tmp_path):
    path = write_table(tmp_path / "trials.csv", baseline=False)
    result = runner.invoke(app, ["fit-surface", "--table", str(path), "--mode", "relative"])
    assert result.exit_code == 1 and "relative surfaces need a baseline" in flat(result.output)
    result = runner.invoke(app, ["fit-surface", "--table", str(path), "--metric", "f1"])
    assert result.exit_code == 0, result.output
    assert "skipped f1 (relative)" in flat(result.output)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--metric", "f1,recall"], "valid choices: accuracy, f1, loss"),
        (["--mode", "sideways"], "absolute"),
        (["--select", "r2"], "aic"),
        (["--degree", "4"], "valid choices: 1, 2, 3"),
        (["--alpha", "1.5"], "between 0 and 1"),
    ],
)
def test_bad_choices_are_usage_errors_listing_the_valid_ones(tmp_path, args, expected):
    path = write_table(tmp_path / "trials.csv")
    result = runner.invoke(app, ["fit-surface", "--table", str(path), *args])
    assert result.exit_code == 2
    assert expected in flat(result.output)


def test_study_or_table_exactly_one(tmp_path):
    path = write_table(tmp_path / "trials.csv")
    assert runner.invoke(app, ["fit-surface"]).exit_code == 2
    both = runner.invoke(app, ["fit-surface", "--table", str(path), "--study", "x"])
    assert both.exit_code == 2 and "exactly one" in flat(both.output)


def test_clear_errors_exit_1_with_one_line(tmp_path):
    url, _ = make_study(tmp_path)
    missing = runner.invoke(app, ["fit-surface", "--study", "nope", "--storage", url])
    assert missing.exit_code == 1 and "studies: grid" in flat(missing.output)
    few = write_table(tmp_path / "few.csv", rows=measured_rows()[::13][:4])
    result = runner.invoke(app, ["fit-surface", "--table", str(few)])
    assert result.exit_code == 1 and "fewer than" in flat(result.output)
    assert flat(result.output).startswith("error: 4 rows are fewer than the 9 estimable terms")
