"""Collapsed runs: detection, the Firth collapse model, and the two-part surface."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from advisor.surface import fit_surfaces, surface_from_dict, surface_to_dict
from advisor.surface._collapse import collapsed_rule, firth_logistic
from advisor.surface._two_part import expected_prediction
from advisor.table import TrialsTable, table_from_frame
from advisor.training.metrics import predicted_single_class


def _grid(seeds: int = 2) -> pd.DataFrame:
    lrs = np.geomspace(1e-5, 1e-3, 7)
    rows = [
        {"learning_rate": lr, "batch_size": b, "epochs": e, "seed": s}
        for lr in lrs
        for b in (8, 16, 32, 64)
        for e in (1, 2, 3)
        for s in range(seeds)
    ]
    return pd.DataFrame(rows)


def _boundary_lr(batch: float) -> float:
    """Truth: runs collapse below this learning rate (higher for larger batches)."""
    return 10 ** (-4.5 + 0.25 * (np.log2(batch) - 4))


def _two_part_table() -> TrialsTable:
    rng = np.random.default_rng(0)
    frame = _grid()
    x = np.log10(frame["learning_rate"]) + 4
    collapsed = frame["learning_rate"] < _boundary_lr(frame["batch_size"])
    trained_f1 = 0.85 + 0.03 * x - 0.04 * x**2 + 0.01 * frame["epochs"]
    frame["f1"] = np.where(collapsed, 0.0, trained_f1 + rng.normal(0, 0.005, len(frame)))
    frame["accuracy"] = np.where(collapsed, 0.7, frame["f1"])
    frame["loss"] = np.where(collapsed, 0.61, 1.0 - frame["f1"])
    return TrialsTable(rows=frame)


def test_rule_reads_the_one_class_signature() -> None:
    accuracy = np.array([0.509, 0.70, 0.85, 0.52, 0.92])
    f1 = np.array([2 * 0.509 / 1.509, 0.0, 0.86, 0.60, 2 * 0.92 / 1.92])
    assert collapsed_rule(accuracy, f1).tolist() == [True, True, False, False, False]


def test_table_column_is_read_as_booleans() -> None:
    frame = pd.DataFrame(
        {
            "learning_rate": [1e-5, 1e-4],
            "batch_size": [8, 8],
            "epochs": [1, 1],
            "accuracy": [0.5, 0.8],
            "f1": [0.66, 0.8],
            "loss": [0.7, 0.4],
            "collapsed": ["true", "False"],
        }
    )
    assert table_from_frame(frame).rows["collapsed"].tolist() == [True, False]


def test_single_class_predictions_are_detected() -> None:
    logits = np.zeros((100, 2))
    logits[:, 1] = 1.0
    assert predicted_single_class(logits)
    logits[:10, 0] = 2.0  # 10% predicted negative: a model that separates something
    assert not predicted_single_class(logits)


def test_firth_matches_maximum_likelihood_without_separation_and_stays_finite_with_it() -> None:
    rng = np.random.default_rng(1)
    x = np.column_stack([np.ones(4000), rng.normal(size=4000)])
    y = (rng.random(4000) < 1 / (1 + np.exp(-(0.3 + 1.2 * x[:, 1])))).astype(float)
    coef, cov = firth_logistic(x, y)
    mle = sm.Logit(y, x).fit(disp=0)
    assert coef == pytest.approx(np.asarray(mle.params), abs=0.01)
    assert np.sqrt(np.diag(cov)) == pytest.approx(np.asarray(mle.bse), rel=0.02)
    separated = (x[:, 1] > 0).astype(float)
    coef, cov = firth_logistic(x[:200], separated[:200])
    assert np.isfinite(coef).all() and np.isfinite(cov).all() and coef[1] > 5


def test_two_part_fit_recovers_the_collapse_boundary() -> None:
    table = _two_part_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        surface = fit_surfaces(table, "f1", "absolute").surfaces[0]
    model = surface.collapse
    assert model is not None and model.source == "rule"
    truth = table.rows["learning_rate"] < _boundary_lr(table.rows["batch_size"])
    assert model.n_collapsed == int(truth.sum()) and surface.stats.n == int((~truth).sum())
    assert model.plateau == pytest.approx(0.0)
    # the 50% boundary in learning rate at each batch size lies between the tried rates that
    # bracket the true boundary
    lrs = np.geomspace(1e-5, 1e-3, 7)
    for batch in (8, 16, 32, 64):
        dense = pd.DataFrame(
            {"learning_rate": np.geomspace(1e-5, 1e-3, 400), "batch_size": batch, "epochs": 2}
        )
        p, _ = model.probability(dense)
        found = dense["learning_rate"].to_numpy()[np.argmin(np.abs(p - 0.5))]
        true = _boundary_lr(batch)
        below, above = lrs[lrs < true].max(), lrs[lrs >= true].min()
        assert below <= found <= above, (batch, found, true)
    assert any("collapse below learning rate" in f for f in surface.findings)
    # the trained part fits the trained runs alone: no plateau drags the curvature down
    terms = {t.term: t.coef for t in surface.term_stats}
    assert terms["lr^2"] < 0


def test_expected_prediction_mixes_plateau_and_trained_surface() -> None:
    table = _two_part_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        surface = fit_surfaces(table, "f1", "absolute").surfaces[0]
    frame = pd.DataFrame(
        {"learning_rate": [1e-5, 1e-3, 6e-5], "batch_size": [64, 8, 16], "epochs": [2, 2, 2]}
    )
    trained = surface.predict(frame)["mean"].to_numpy()
    mixed = expected_prediction(surface, frame)
    p = mixed["p_collapse"].to_numpy()
    assert p[0] > 0.95 and p[1] < 0.05
    expected = p * surface.collapse.plateau + (1 - p) * trained
    assert mixed["mean"].to_numpy() == pytest.approx(expected)
    assert mixed["mean"].iloc[0] < 0.1  # deep in the collapsed corner: the plateau
    assert (mixed["mean_lower"] <= mixed["mean"]).all() and (
        mixed["mean"] <= mixed["mean_upper"]
    ).all()


def test_collapse_model_survives_storage() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        surface = fit_surfaces(_two_part_table(), "f1", "absolute").surfaces[0]
    back = surface_from_dict(surface_to_dict(surface))
    assert back.collapse is not None
    assert back.collapse.coef == pytest.approx(surface.collapse.coef)
    frame = pd.DataFrame({"learning_rate": [3e-5], "batch_size": [16], "epochs": [2]})
    assert expected_prediction(back, frame)["mean"].iloc[0] == pytest.approx(
        expected_prediction(surface, frame)["mean"].iloc[0]
    )
