"""The verdict on a surface and the design diagnostics, against known truth and statsmodels."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from advisor.surface import ResponseSurface
from advisor.surface._findings import slope_at_centre

pytestmark = pytest.mark.filterwarnings("ignore::advisor.surface.SurfaceWarning")


def grid(lrs=(1e-5, 3e-5, 1e-4), batches=(8, 16, 32), epochs=(1, 2, 3), seeds=(0,)):
    rows = itertools.product(lrs, batches, epochs, seeds)
    return pd.DataFrame(rows, columns=["learning_rate", "batch_size", "epochs", "seed"])


def smooth(frame: pd.DataFrame, seed: int = 0, sd: float = 0.01) -> np.ndarray:
    """A concave accuracy-like surface inside [0, 1] plus Gaussian noise."""
    a = np.log10(frame["learning_rate"]) + 4.5
    b = np.log2(frame["batch_size"]) - 4
    c = frame["epochs"] - 2.0
    mean = 0.8 + 0.06 * a - 0.02 * b + 0.02 * c - 0.05 * a**2 + 0.02 * a * b
    return np.asarray(mean + np.random.default_rng(seed).normal(0, sd, len(frame)))


def coded_data(surface, frame: pd.DataFrame, y) -> pd.DataFrame:
    data = pd.DataFrame({f.name: f.encode(frame[f.param]) for f in surface.factors})
    data["y"] = np.asarray(y, dtype=float)
    return data


def test_a_saturated_design_is_not_trustworthy_and_has_no_findings():
    # 10 distinct configurations for the 10 terms of a degree-2 surface; 21 rows at one of them
    rng = np.random.default_rng(0)
    configs = grid().sample(10, random_state=3).drop(columns="seed")
    frame = pd.concat([configs, *[configs.iloc[[0]]] * 20], ignore_index=True)
    y = smooth(frame, sd=0.02) + rng.normal(0, 0.001, len(frame))
    est = ResponseSurface(degree=2).fit(frame, y, metric="accuracy")
    d = est.diagnostics_
    assert (d.rows, d.configs, d.terms, d.saturated) == (30, 10, 10, True)
    assert d.top_rows == 21 and d.max_leverage == pytest.approx(1.0)
    assert not est.trustworthy_ and est.findings_ == []
    saturated = est.reasons_[0]
    assert "saturated design: 10 distinct configurations for 10 estimable terms" in saturated
    assert "run at least 5 more distinct configurations, or use --degree 1 (4 terms)" in saturated
    assert est.cv_r2_ is None and "cannot be fitted" in est.surface_.stats.cv_note
    assert any("cross-validation cannot be done" in r for r in est.reasons_)


def test_a_clean_surface_is_trustworthy_and_keeps_its_findings():
    frame = grid()
    est = ResponseSurface().fit(frame, smooth(frame, sd=0.005), metric="accuracy")
    assert est.trustworthy_ and est.reasons_ == []
    assert est.findings_ and est.diagnostics_.influential == ()
    assert est.diagnostics_.inference == "ols" and est.surface_.cov_type == "nonrobust"


def test_cluster_robust_p_values_equal_a_direct_statsmodels_cluster_fit():
    frame = grid(seeds=(0, 1, 2))
    y = smooth(frame, 4, sd=0.01) + 0.02 * np.sin(7 * np.log10(frame["learning_rate"]))
    est = ResponseSurface(degree=2).fit(frame, y, metric="accuracy")
    s = est.surface_
    assert s.cov_type == "cluster" and est.diagnostics_.inference == "cluster"
    cells = frame[["learning_rate", "batch_size", "epochs"]].astype(str).agg("|".join, axis=1)
    groups = pd.factorize(cells)[0]
    direct = smf.ols(s.formula, coded_data(s, frame, y)).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    names = [t.formula for t in s.term_stats]
    np.testing.assert_allclose(est.bse_, direct.bse[names], rtol=1e-9)
    np.testing.assert_allclose(est.pvalues_, direct.pvalues[names], rtol=1e-9, atol=1e-14)
    ci = direct.conf_int(alpha=s.alpha).loc[names]
    np.testing.assert_allclose(est.conf_int_["lower"], ci[0], rtol=1e-9)
    assert s.t_df == 26  # 27 configurations - 1
    # the interval of the mean uses the same covariance and the same t (26 df) as the table
    point = frame.iloc[[5]]
    ref = direct.get_prediction(coded_data(s, point, [0.0])).summary_frame(alpha=s.alpha)
    ours = est.predict(point).iloc[0]
    assert ours["mean_se"] == pytest.approx(ref["mean_se"].iloc[0], rel=1e-9)
    crit = stats.t.ppf(1 - s.alpha / 2, 26)
    assert ours["mean_lower"] == pytest.approx(ours["mean"] - crit * ours["mean_se"], rel=1e-12)
    # seed-to-seed SD is the pooled within-configuration SD
    pooled = np.sqrt(((y - pd.Series(y).groupby(groups).transform("mean")) ** 2).sum() / 54)
    assert est.diagnostics_.seed_sd == pytest.approx(pooled, rel=1e-12)
    assert any("seed-to-seed SD" in f and "cluster-robust" in f for f in est.findings_)


@pytest.mark.parametrize("robust", [False, True])
def test_table_and_findings_use_one_t_distribution(robust):
    frame = grid()
    y = smooth(frame, 2, sd=0.01)
    est = ResponseSurface(degree=1, robust=robust).fit(frame, y, metric="accuracy")
    s = est.surface_
    assert s.cov_type == ("HC3" if robust else "nonrobust")
    for i, name in enumerate(("lr", "batch", "epochs")):
        _slope, se, p = slope_at_centre(s, i)  # degree 1: the slope is coef / scale
        assert p == pytest.approx(est.pvalues_[name], rel=1e-9)
        assert se == pytest.approx(est.bse_[name] / s.factors[i].scale, rel=1e-9)
    direct = smf.ols(s.formula, coded_data(s, frame, y)).fit(
        cov_type="HC3" if robust else "nonrobust", use_t=True
    )
    np.testing.assert_allclose(est.pvalues_, direct.pvalues[est.terms_], rtol=1e-9)


def test_hc3_is_refused_where_a_row_has_leverage_one():
    frame = grid()
    lonely = pd.DataFrame([{"learning_rate": 3e-5, "batch_size": 16, "epochs": 5, "seed": 0}])
    frame = pd.concat([frame, lonely], ignore_index=True)  # the only run with 5 epochs
    est = ResponseSurface(degree=3, robust=True).fit(frame, smooth(frame, 1), metric="accuracy")
    assert est.surface_.cov_type == "nonrobust"
    assert np.isfinite(est.bse_).all()
    assert any(
        w.startswith("--robust refused: HC3 standard errors are undefined") for w in est.warnings_
    )
    assert {"learning_rate": 3e-5, "batch_size": 16, "epochs": 5} in est.diagnostics_.leverage_one


def test_cv_is_null_with_a_reason_when_a_fold_cannot_be_fitted():
    frame = grid()
    lonely = pd.DataFrame([{"learning_rate": 3e-5, "batch_size": 16, "epochs": 5, "seed": 0}])
    frame = pd.concat([frame, lonely], ignore_index=True)
    est = ResponseSurface(degree=3).fit(frame, smooth(frame, 1), metric="accuracy")
    # without the lonely configuration epochs^3 has three levels left: that fold cannot be fitted
    assert est.cv_r2_ is None
    assert "alone determines" in est.surface_.stats.cv_note
    assert est.diagnostics_.cv_r2 is None and not est.trustworthy_


@pytest.mark.parametrize("robust", [False, True])
def test_holm_survivors_are_identical_across_codings(robust):
    frame = grid(seeds=(0, 1)) if not robust else grid()
    y = smooth(frame, 6, sd=0.015)
    coded = ResponseSurface(robust=robust, coding="coded").fit(frame, y)
    natural = ResponseSurface(robust=robust, coding="natural").fit(frame, y)
    holm_coded = pd.Series([t.p_holm for t in coded.surface_.term_stats], index=coded.terms_)
    holm_natural = pd.Series([t.p_holm for t in natural.surface_.term_stats], index=natural.terms_)
    pd.testing.assert_series_equal(holm_coded, holm_natural, rtol=1e-9)
    # the lower-order p-values themselves differ (other hypotheses), the corrected family does not
    assert not np.allclose(coded.pvalues_["lr"], natural.pvalues_["lr"])
    survivors = [t.term for t in coded.surface_.term_stats if t.p_holm < 0.05]
    assert survivors and survivors == [
        t.term for t in natural.surface_.term_stats if t.p_holm < 0.05
    ]


def test_one_broken_run_that_changes_the_significant_terms_is_named():
    frame = grid()
    y = smooth(frame, 3, sd=0.01).copy()
    broken = (frame["learning_rate"] == 1e-4) & (frame["batch_size"] == 32) & (frame["epochs"] == 3)
    y[broken.to_numpy()] = 0.05  # a broken model, as on harvested cards
    est = ResponseSurface().fit(frame, y, metric="accuracy")
    assert not est.trustworthy_ and est.findings_ == []
    assert {"learning_rate": 1e-4, "batch_size": 32, "epochs": 3} in est.diagnostics_.influential
    reason = next(r for r in est.reasons_ if r.startswith("one configuration changes"))
    assert "without lr 0.0001, batch 32, epochs 3 (1 run(s))" in reason
    drivers = [d["config"] for d in est.diagnostics_.drivers]
    assert drivers[0] == {"learning_rate": 1e-4, "batch_size": 32, "epochs": 3}


def test_accuracy_predicted_outside_0_1_inside_the_tried_region_is_a_reason():
    frame = grid()
    y = np.where(frame["learning_rate"] == 1e-5, 0.02, 0.97) + np.random.default_rng(0).normal(
        0, 0.01, len(frame)
    )
    y = np.where((frame["learning_rate"] == 3e-5) & (frame["epochs"] == 1), 0.02, y)
    est = ResponseSurface().fit(frame, y, metric="accuracy")
    assert any(
        "predicts accuracy outside [0, 1] inside the tried region" in r for r in est.reasons_
    )
    loss = ResponseSurface().fit(frame, y, metric="loss")  # loss is not bounded above by 1
    assert not any("outside [0, 1]" in r for r in loss.reasons_)


def test_extrapolation_is_judged_by_leverage_not_the_bounding_box():
    # an L-shaped design: the corner (high lr, high batch) is inside the box but never tried
    frame = grid()
    frame = frame[~((frame["learning_rate"] == 1e-4) & (frame["batch_size"] >= 16))]
    frame = frame.reset_index(drop=True)
    est = ResponseSurface().fit(frame, smooth(frame, 1), metric="accuracy")
    corner = pd.DataFrame({"learning_rate": [1e-4], "batch_size": [32], "epochs": [2]})
    centre = pd.DataFrame({"learning_rate": [3e-5], "batch_size": [16], "epochs": [2]})
    assert not est.surface_.outside_range(corner)[0]  # inside the bounding box ...
    assert est.predict(corner)["extrapolated"].iloc[0]  # ... but past every tried leverage
    assert not est.predict(centre)["extrapolated"].iloc[0]
    tried = est.surface_.leverage(frame)
    assert tried.max() == pytest.approx(est.diagnostics_.max_leverage, rel=1e-9)
