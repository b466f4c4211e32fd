"""`advisor report` end to end: harvest --cards -> fit-surface -> report, a study without a
baseline, a table with seed replicates, and the errors."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from typer.testing import CliRunner

from advisor.cli import app

CARDS = Path(__file__).resolve().parents[1] / "fixtures" / "cards" / "sst2"
BASE = "distilbert-base-uncased-finetuned-sst-2-english"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
runner = CliRunner(env={"COLUMNS": "240"})


def invoke(*args: str) -> object:
    return runner.invoke(app, list(args))


def report_json(*args: str) -> dict:
    result = invoke("report", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def check_outputs(payload: dict) -> str:
    """Every figure is a real PNG, embedded in the page; the page loads nothing from outside."""
    html_path = Path(payload["html"])
    html = html_path.read_text(encoding="utf-8")
    assert html_path.name == "report.html" and html.startswith("<!DOCTYPE html>")
    for figure in map(Path, payload["figures"]):
        data = figure.read_bytes()
        assert figure.parent == Path(payload["out"]) and data.startswith(PNG_SIGNATURE)
        assert len(data) > 15_000, f"{figure.name} is suspiciously small"
        assert figure.name in html
    sources = re.findall(r'\bsrc\s*=\s*"([^"]*)"', html)
    assert len(sources) == len(payload["figures"])
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert all(h.startswith("#") for h in re.findall(r'\bhref\s*=\s*"([^"]*)"', html))
    assert not re.search(r"<(script|link|iframe)\b", html)
    return html


def names(payload: dict) -> set[str]:
    return {Path(f).name for f in payload["figures"]}


def test_cards_harvest_fit_surface_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    harvested = invoke(
        "harvest",
        "--study",
        "cards",
        "--storage",
        url,
        "--cards",
        str(CARDS),
        "--base",
        BASE,
        "--json",
    )
    assert harvested.exit_code == 0, harvested.output
    fitted = invoke("fit-surface", "--study", "cards", "--storage", url, "--degree", "1")
    assert fitted.exit_code == 0, fitted.output
    payload = report_json("--study", "cards", "--storage", url, "--out", str(tmp_path / "rep"))
    html = check_outputs(payload)
    assert names(payload) == {
        "pareto_f1_loss.png",
        "coefficients.png",
        *(
            f"{m}_{kind}.png"
            for m in ("accuracy", "f1", "loss")
            for kind in ("main_effects", "contour", "rel_contour")
        ),
    }
    notes = payload["notes"]
    assert "f1: interaction plot skipped: the degree-1 surface has no interaction term" in notes
    assert "seed variability skipped: no configuration was run with more than one seed" in notes
    assert not any("refitted" in n or "no surface stored" in n for n in notes), notes
    assert "alice/" not in html and "lr 2e-05 · batch 16 · 3 ep" in html  # observed front
    assert "Baseline: accuracy 0.9106, F1 0.9137, eval loss 0.3901." in html


def test_report_fits_surfaces_itself_and_refits_stale_ones(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    assert (
        invoke(
            "harvest",
            "--study",
            "cards",
            "--storage",
            url,
            "--cards",
            str(CARDS),
            "--base",
            BASE,
            "--json",
        ).exit_code
        == 0
    )
    payload = report_json("--study", "cards", "--storage", url, "--out", str(tmp_path / "a"))
    assert any(
        n.startswith("f1: no surface stored: fitted here")
        and "at degree 1 (too few trials for degree 2)" in n
        for n in payload["notes"]
    )
    assert (
        invoke(
            "fit-surface", "--study", "cards", "--storage", url, "--degree", "1", "--json"
        ).exit_code
        == 0
    )
    study = optuna.load_study(study_name="cards", storage=url)
    trial = study.trials[0]
    extra = optuna.trial.create_trial(
        params={"learning_rate": 3e-5, "batch_size": 64, "epochs": 3.0},
        distributions=trial.distributions,
        values=[0.91, 0.912, 0.27],
        user_attrs={"accuracy": 0.91, "f1": 0.912, "loss": 0.27},
    )
    study.add_trial(extra)
    payload = report_json("--study", "cards", "--storage", url, "--out", str(tmp_path / "b"))
    assert (
        "f1: stored surface fitted on 5 trials, now 6: refitted here (run "
        "`advisor fit-surface` to store it)" in payload["notes"]
    )


def no_baseline_study(url: str) -> None:
    study = optuna.create_study(
        storage=url, study_name="plain", directions=["maximize", "maximize", "minimize"]
    )
    study.set_metric_names(["accuracy", "f1", "loss"])
    rng = np.random.default_rng(1)
    dists = {
        "learning_rate": FloatDistribution(1e-5, 1e-4, log=True),
        "batch_size": IntDistribution(8, 32),
        "epochs": IntDistribution(1, 3),
    }
    for lr, batch, epochs in itertools.product([1e-5, 3e-5, 1e-4], [8, 16, 32], [1, 2, 3]):
        progress = 1 - np.exp(-(lr / 1e-5) * epochs * (8 / batch))
        metrics = {
            "accuracy": 0.6 + 0.3 * progress + rng.normal(0, 0.01),
            "f1": 0.8 * progress + rng.normal(0, 0.02),
            "loss": 0.69 - 0.3 * progress + rng.normal(0, 0.01),
        }
        study.add_trial(
            optuna.trial.create_trial(
                params={"learning_rate": lr, "batch_size": batch, "epochs": epochs},
                distributions=dists,
                values=list(metrics.values()),
                user_attrs=metrics,
            )
        )


def test_study_without_baseline_skips_relative_plots_and_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    no_baseline_study(url)
    out = tmp_path / "rep"
    payload = report_json("--study", "plain", "--storage", url, "--out", str(out))
    html = check_outputs(payload)
    assert not any("_rel" in n for n in names(payload))
    assert {"f1_interaction.png", "loss_contour.png", "coefficients.png"} <= names(payload)
    assert any(n.startswith("no baseline: relative plots") for n in payload["notes"])
    assert "No baseline: the relative (metric − baseline) plots are skipped." in html
    result = invoke(
        "report",
        "--study",
        "plain",
        "--storage",
        url,
        "--out",
        str(out),
        "--objective",
        "f1_rel,loss",
    )
    assert result.exit_code == 0, result.output
    assert "no baseline: relative plots (metric − baseline) skipped" in result.output
    assert (
        "Pareto front skipped: no trial has f1_rel (relative metrics need a baseline)"
        in result.output
    )


def test_table_with_replicates_and_baseline(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    rows = [{"role": "baseline", "accuracy": 0.8, "f1": 0.78, "loss": 0.46}]
    for lr, batch, epochs, seed in itertools.product(
        [1e-5, 3e-5, 1e-4], [8, 16, 32], [1, 2, 3], [0, 1]
    ):
        progress = 1 - np.exp(-(lr / 1e-5) * epochs * (8 / batch))
        rows.append(
            {
                "role": "trial",
                "learning_rate": lr,
                "batch_size": batch,
                "epochs": epochs,
                "seed": seed,
                "accuracy": 0.6 + 0.25 * progress + rng.normal(0, 0.01),
                "f1": 0.85 * progress + rng.normal(0, 0.02),
                "loss": 0.69 - 0.3 * progress + rng.normal(0, 0.01),
            }
        )
    path = tmp_path / "t.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    payload = report_json(
        "--table", str(path), "--out", str(tmp_path / "rep"), "--objective", "accuracy,loss_rel"
    )
    html = check_outputs(payload)
    assert {
        "seed_variability.png",
        "pareto_accuracy_loss_rel.png",
        "f1_rel_contour.png",
        "f1_interaction.png",
    } <= names(payload)
    assert payload["notes"] == []  # a table is fitted here as a matter of course
    assert "seed SD (pooled)" in html and "Predicted front" in html


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--out", "x"], 2, "pass exactly one of --study NAME or --table FILE.csv"),
        (["--table", "t.csv", "--out", "x", "--objective", "f1,speed"], 2, "'speed'"),
        (["--table", "t.csv", "--out", "x", "--objective", "f1"], 2, "at least two objectives"),
        (["--study", "nope", "--out", "x"], 1, "no storage at"),  # and none is created
        (["--table", "missing.csv", "--out", "x"], 1, "does not exist"),
    ],
)
def test_errors(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    result = invoke("report", *args, "--storage", url)
    assert result.exit_code == code, result.output
    assert message in result.output
