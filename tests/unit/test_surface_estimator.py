"""ResponseSurface against known truth and against direct statsmodels fits of the same formula."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests

from advisor.errors import FitError, NotFittedError
from advisor.surface import ResponseSurface, SurfaceWarning, surface_to_dict
from advisor.surface._findings import slope_at_centre
from advisor.surface._inference import holm_adjust

pytestmark = pytest.mark.filterwarnings("ignore::advisor.surface.SurfaceWarning")

TRUTH = {  # natural coding: log10(lr), log2(batch), epochs
    "Intercept": 0.3,
    "lr": -0.12,
    "batch": 0.05,
    "epochs": 0.02,
    "lr^2": -0.03,
    "batch^2": -0.004,
    "epochs^2": 0.0,
    "lr:batch": 0.015,
    "lr:epochs": 0.0,
    "batch:epochs": -0.006,
}


def grid_frame(lrs=(1e-5, 3e-5, 1e-4), batches=(8, 16, 32, 64), epochs=(1, 2, 3), seeds=(0, 1)):
    rows = itertools.product(lrs, batches, epochs, seeds)
    return pd.DataFrame(rows, columns=["learning_rate", "batch_size", "epochs", "seed"])


def true_mean(frame: pd.DataFrame) -> np.ndarray:
    a, b = np.log10(frame["learning_rate"]), np.log2(frame["batch_size"])
    c = frame["epochs"].astype(float)
    t = TRUTH
    return np.asarray(
        t["Intercept"]
        + t["lr"] * a
        + t["batch"] * b
        + t["epochs"] * c
        + t["lr^2"] * a**2
        + t["batch^2"] * b**2
        + t["epochs^2"] * c**2
        + t["lr:batch"] * a * b
        + t["lr:epochs"] * a * c
        + t["batch:epochs"] * b * c
    )


def noisy(frame: pd.DataFrame, seed: int, sd: float = 0.01) -> np.ndarray:
    return true_mean(frame) + np.random.default_rng(seed).normal(0.0, sd, len(frame))


def coded_frame(surface, frame: pd.DataFrame, y) -> pd.DataFrame:
    data = pd.DataFrame({f.name: f.encode(frame[f.param]) for f in surface.factors})
    data["y"] = np.asarray(y, dtype=float)
    return data


def test_recovers_known_coefficients_within_their_intervals():
    frame = grid_frame()
    est = ResponseSurface(coding="natural", alpha=0.01).fit(frame, noisy(frame, 7))
    truth = pd.Series(TRUTH)[est.terms_]
    assert ((est.conf_int_["lower"] <= truth) & (truth <= est.conf_int_["upper"])).all()
    assert (np.abs(est.coef_ - truth) < 4 * est.bse_).all()
    assert est.rsquared_ > 0.9 and est.nobs_ == len(frame)


def test_interval_coverage_is_nominal_over_repeated_noise():
    frame = grid_frame()
    hits = []
    for seed in range(60):
        est = ResponseSurface(coding="natural").fit(frame, noisy(frame, 1000 + seed))
        truth = pd.Series(TRUTH)[est.terms_]
        hits.append(((est.conf_int_["lower"] <= truth) & (truth <= est.conf_int_["upper"])).values)
    coverage = np.mean(hits)
    assert abs(coverage - 0.95) < 0.035, coverage


def test_coded_and_natural_codings_predict_the_same_surface():
    frame = grid_frame()
    y = noisy(frame, 3)
    coded = ResponseSurface(coding="coded").fit(frame, y)
    natural = ResponseSurface(coding="natural").fit(frame, y)
    new = pd.DataFrame({"learning_rate": [2e-5, 5e-5], "batch_size": [12, 48], "epochs": [1, 3]})
    pd.testing.assert_frame_equal(coded.predict(new), natural.predict(new), rtol=1e-8)
    assert coded.rsquared_ == pytest.approx(natural.rsquared_, abs=1e-12)
    assert coded.surface_.coding == "coded" and natural.surface_.coding == "natural"
    lr = coded.surface_.factors[0]
    assert (lr.center, lr.scale) == pytest.approx((-4.5, 0.5))


@pytest.mark.parametrize(
    ("degree", "coding", "robust"),
    [
        (1, "coded", False),
        (2, "coded", False),
        (2, "natural", True),
        (3, "coded", False),
        (3, "natural", True),
    ],
)
def test_matches_direct_statsmodels_fit_of_the_stored_formula(degree, coding, robust):
    rng = np.random.default_rng(degree)
    frame = pd.DataFrame(
        {
            "learning_rate": 10 ** rng.uniform(-5.3, -3.7, 40),
            "batch_size": rng.choice([8, 16, 32, 64, 128], 40),
            "epochs": rng.integers(1, 6, 40),
        }
    )
    y = rng.normal(0.8, 0.05, 40)
    est = ResponseSurface(degree, coding=coding, robust=robust).fit(frame, y)
    s = est.surface_
    direct = smf.ols(s.formula, coded_frame(s, frame, y)).fit(
        cov_type="HC3" if robust else "nonrobust",
        use_t=True,  # t everywhere, HC3 included
    )
    names = [t.formula for t in s.term_stats]
    assert sorted(names) == sorted(direct.params.index)
    np.testing.assert_allclose(s.coef, direct.params[names], rtol=0, atol=1e-9)
    np.testing.assert_allclose(est.bse_, direct.bse[names], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.pvalues_, direct.pvalues[names], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(s.cov, direct.cov_params().loc[names, names], atol=1e-12)
    assert est.rsquared_ == pytest.approx(direct.rsquared, abs=1e-9)
    assert est.rsquared_adj_ == pytest.approx(direct.rsquared_adj, abs=1e-9)
    assert est.aic_ == pytest.approx(direct.aic, abs=1e-9)
    assert est.bic_ == pytest.approx(direct.bic, abs=1e-9)
    assert est.f_pvalue_ == pytest.approx(float(direct.f_pvalue), rel=1e-9, abs=1e-15)
    assert est.df_resid_ == direct.df_resid


def test_prediction_intervals_match_statsmodels_get_prediction():
    frame = grid_frame(
        seeds=(0,)
    )  # no replicates: plain OLS (clustered fits: test_surface_verdict)
    y = noisy(frame, 11)
    est = ResponseSurface().fit(frame, y)
    s = est.surface_
    direct = smf.ols(s.formula, coded_frame(s, frame, y)).fit()
    new = pd.DataFrame({"learning_rate": [1e-5, 4e-5], "batch_size": [8, 40], "epochs": [2, 3]})
    ref = direct.get_prediction(coded_frame(s, new, np.zeros(2))).summary_frame(alpha=0.1)
    ours = est.predict(new, alpha=0.1)
    np.testing.assert_allclose(ours["mean"], ref["mean"], atol=1e-10)
    np.testing.assert_allclose(ours["mean_lower"], ref["mean_ci_lower"], atol=1e-10)
    np.testing.assert_allclose(ours["mean_upper"], ref["mean_ci_upper"], atol=1e-10)
    np.testing.assert_allclose(ours["obs_lower"], ref["obs_ci_lower"], atol=1e-10)
    np.testing.assert_allclose(ours["obs_upper"], ref["obs_ci_upper"], atol=1e-10)
    assert not ours["extrapolated"].any()
    outside = pd.DataFrame({"learning_rate": [1e-3], "batch_size": [16], "epochs": [2]})
    assert est.predict(outside)["extrapolated"].iloc[0]


def test_thompson_draws_follow_the_coefficient_covariance():
    frame = grid_frame()
    est = ResponseSurface().fit(frame, noisy(frame, 5))
    point = frame.iloc[[0]]
    draws = est.surface_.sample_means(point, np.random.default_rng(0), n_draws=20000)[:, 0]
    pred = est.predict(point).iloc[0]
    assert draws.mean() == pytest.approx(pred["mean"], abs=4 * pred["mean_se"] / np.sqrt(20000))
    assert draws.std() == pytest.approx(pred["mean_se"], rel=0.03)


def test_lack_of_fit_equals_anova_against_cell_means():
    frame = grid_frame()
    y = noisy(frame, 2) + 0.03 * np.sin(3 * np.log2(frame["batch_size"]))  # not polynomial
    est = ResponseSurface(degree=1).fit(frame, y)
    s = est.surface_
    data = coded_frame(s, frame, y)
    data["cell"] = frame[["learning_rate", "batch_size", "epochs"]].astype(str).agg("|".join, 1)
    reduced = smf.ols(s.formula, data).fit()
    full = smf.ols("y ~ C(cell)", data).fit()
    table = anova_lm(reduced, full)
    lof = est.lack_of_fit_
    assert lof.f == pytest.approx(table["F"].iloc[1], rel=1e-9)
    assert lof.p == pytest.approx(table["Pr(>F)"].iloc[1], rel=1e-6, abs=1e-12)
    assert lof.df_pure == 36 and lof.df_lack == 36 - 4
    assert lof.p < 0.001


def test_no_lack_of_fit_test_without_replicates():
    frame = grid_frame(seeds=(0,))
    est = ResponseSurface().fit(frame, noisy(frame, 4))
    assert est.lack_of_fit_ is None


def test_cv_r2_without_replicates_is_the_press_statistic():
    frame = grid_frame(seeds=(0,))
    y = noisy(frame, 9, sd=0.02)
    est = ResponseSurface().fit(frame, y)
    s = est.surface_
    direct = smf.ols(s.formula, coded_frame(s, frame, y)).fit()
    leverage = direct.get_influence().hat_matrix_diag
    press = np.sum((direct.resid / (1 - leverage)) ** 2)
    expected = 1 - press / np.sum((y - y.mean()) ** 2)
    assert est.cv_r2_ == pytest.approx(expected, abs=1e-9)
    assert est.cv_r2_ < est.rsquared_


def test_cv_r2_on_pure_noise_says_the_surface_does_not_predict():
    frame = grid_frame()
    y = np.random.default_rng(0).normal(0.5, 0.1, len(frame))
    est = ResponseSurface().fit(frame, y, metric="accuracy")
    assert est.cv_r2_ < 0.2
    assert not est.trustworthy_ and est.findings_ == []
    assert any(
        "cross-validated R²" in r and "no better than their average" in r for r in est.reasons_
    )


def test_unfitted_predict_raises_not_fitted():
    with pytest.raises(NotFittedError, match="fit"):
        ResponseSurface().predict(grid_frame())


def test_fewer_rows_than_terms_is_a_clear_error():
    frame = grid_frame().sample(6, random_state=0)
    with pytest.raises(FitError, match=r"6 rows are fewer than the 10 estimable terms.*degree 1"):
        ResponseSurface().fit(frame, np.arange(6.0))


def test_nan_and_constant_targets_are_clear_errors():
    frame = grid_frame()
    y = noisy(frame, 1)
    y[[3, 5]] = np.nan
    with pytest.raises(FitError, match=r"f1 is missing \(NaN\).*2 of 72 rows.*rows 3, 5"):
        ResponseSurface().fit(frame, y, metric="f1")
    with pytest.raises(FitError, match=r"f1 is constant \(0\) in all 72 rows"):
        ResponseSurface().fit(frame, np.zeros(len(frame)), metric="f1")


def test_bad_parameters_are_clear_errors():
    frame = grid_frame()
    y = noisy(frame, 1)
    with pytest.raises(FitError, match="learning_rate must be > 0"):
        ResponseSurface().fit(frame.assign(learning_rate=0.0), y)
    with pytest.raises(FitError, match="missing column"):
        ResponseSurface().fit(frame.drop(columns="epochs"), y)
    with pytest.raises(FitError, match="each constant"):
        ResponseSurface().fit(frame.assign(learning_rate=1e-5, batch_size=8, epochs=1), y)
    with pytest.raises(FitError, match="valid choices: 1, 2, 3"):
        ResponseSurface(degree=4).fit(frame, y)
    with pytest.raises(FitError, match="valid choices: aic, bic"):
        ResponseSurface(select="r2").fit(frame, y)


def test_constant_factor_is_dropped_with_a_warning():
    frame = grid_frame().assign(epochs=3)
    with pytest.warns(SurfaceWarning, match="epochs is constant"):
        est = ResponseSurface().fit(frame, noisy(frame, 1))
    assert "epochs" not in est.terms_ and "lr:batch" in est.terms_
    assert {d.term for d in est.dropped_terms_} == {
        "epochs",
        "epochs^2",
        "lr:epochs",
        "batch:epochs",
    }


def test_square_of_a_two_level_factor_is_dropped_and_saturated_fit_still_works():
    frame = grid_frame(lrs=(1e-5, 1e-4), batches=(16, 64), epochs=(1, 3), seeds=(0,))
    y = noisy(frame, 1)
    with pytest.warns(SurfaceWarning, match=r"has only 2 distinct values \(a square needs 3"):
        est = ResponseSurface(degree=3).fit(frame, y)
    assert est.terms_ == [
        "Intercept",
        "lr",
        "batch",
        "epochs",
        "lr:batch",
        "lr:epochs",
        "batch:epochs",
        "lr:batch:epochs",
    ]
    assert est.df_resid_ == 0
    assert any("no residual degrees of freedom" in w for w in est.warnings_)
    assert np.isnan(est.bse_).all()
    record = surface_to_dict(est.surface_)
    json.dumps(record, allow_nan=False)  # NaN is stored as null
    assert record["terms"][1]["se"] is None


def test_aliased_term_is_dropped_with_its_partner_named():
    frame = grid_frame(seeds=(0,))
    frame["batch_size"] = (frame["learning_rate"] * 1e6).round().astype(int)  # batch tied to lr
    with pytest.warns(SurfaceWarning, match="aliased with"):
        est = ResponseSurface().fit(frame, noisy(frame, 1))
    dropped = {d.term: d.reason for d in est.dropped_terms_}
    assert "batch" in dropped and "lr" in dropped["batch"]
    assert "batch" not in est.terms_


def test_collinearity_and_few_residual_dof_warn_but_fit():
    rng = np.random.default_rng(0)
    lr = 10 ** rng.uniform(-5, -4, 14)
    frame = pd.DataFrame(
        {
            "learning_rate": lr,
            "batch_size": 2 ** ((np.log10(lr) + 5) * 3 + 3 + rng.normal(0, 0.02, 14)),
            "epochs": rng.integers(1, 4, 14),
        }
    )
    with pytest.warns(SurfaceWarning):
        est = ResponseSurface().fit(frame, rng.normal(0.8, 0.02, 14))
    assert any("collinear" in w for w in est.warnings_)
    assert any("only 4 residual degrees of freedom" in w for w in est.warnings_)


def test_selection_keeps_true_terms_and_stays_hierarchical():
    frame = grid_frame()
    a, b = np.log10(frame["learning_rate"]) + 4.5, np.log2(frame["batch_size"]) - 4.5
    y = 0.8 + 0.1 * a - 0.03 * b + 0.05 * a * b
    y = y + np.random.default_rng(0).normal(0, 0.005, len(frame))
    est = ResponseSurface(select="bic").fit(frame, y)
    assert {"lr", "batch", "lr:batch"} <= set(est.terms_)
    assert "epochs^2" not in est.terms_ and "batch:epochs" not in est.terms_
    terms = est.surface_.terms
    for term in terms:
        assert all(any(t.powers == lower for t in terms) for lower in _lower_terms(term.powers)), (
            term
        )
    assert any("selection" in n for n in est.surface_.notes)
    assert any("chosen by BIC" in f for f in est.findings_)


def _lower_terms(powers):
    for i, p in enumerate(powers):
        if p:
            yield tuple(q - (j == i) for j, q in enumerate(powers))


def test_findings_name_significant_effects_with_direction():
    frame = grid_frame()
    est = ResponseSurface().fit(frame, noisy(frame, 1, sd=0.005), metric="loss")
    text = "\n".join(est.findings_)
    # truth at the centre (log10 lr -4.5, log2 batch 4.5, epochs 2): d/d log10(lr) = +0.2175
    assert "a higher learning rate raises loss (worse): +0.217 per 10x" in text
    assert "a larger batch size lowers loss (better)" in text
    assert (
        "learning rate and batch size interact (p<0.001): a higher learning rate helps "
        "less (or hurts more) at larger batch sizes" in text
    )
    assert "Holm" in text and "9 terms were tested" in text
    assert "curves downward in learning rate" in text
    assert "epochs and" not in text.split("interact")[0]  # the true lr:epochs is 0


def test_slope_at_centre_matches_the_true_gradient():
    frame = grid_frame()
    est = ResponseSurface(coding="coded").fit(frame, noisy(frame, 2))
    truth = {
        0: -0.12 + 2 * -0.03 * -4.5 + 0.015 * 4.5,
        1: 0.05 + 2 * -0.004 * 4.5 + 0.015 * -4.5 - 0.006 * 2,
        2: 0.02 - 0.006 * 4.5,
    }
    for factor, expected in truth.items():
        slope, se, p = slope_at_centre(est.surface_, factor)
        assert abs(slope - expected) < 4 * se, (factor, slope, expected, se)
        assert p < 0.01


def test_findings_on_noise_say_nothing_is_clear():
    frame = grid_frame()
    y = np.random.default_rng(3).normal(0.5, 0.1, len(frame))
    est = ResponseSurface(degree=1).fit(frame, y, metric="accuracy")
    assert not est.trustworthy_ and est.findings_ == []  # withheld, replaced by the reasons
    assert any("not significant (global F-test p=" in r for r in est.reasons_)


def test_holm_adjustment_matches_statsmodels():
    p = np.array([0.2, 0.001, np.nan, 0.04, 0.03, 0.5, 0.0])
    skip = [False, False, False, False, False, False, True]
    ours = holm_adjust(p, skip)
    use = [0, 1, 3, 4, 5]
    np.testing.assert_allclose(ours[use], multipletests(p[use], method="holm")[1], atol=1e-15)
    assert np.isnan(ours[[2, 6]]).all()


def test_robust_errors_warn_when_a_row_has_leverage_one():
    frame = grid_frame(batches=(8, 16, 32), seeds=(0,))
    lonely = {"learning_rate": 3e-5, "batch_size": 16, "epochs": 5, "seed": 0}  # only epochs=5
    frame = pd.concat([frame, pd.DataFrame([lonely])], ignore_index=True)
    y = noisy(frame, 1)
    assert not any("HC3" in w for w in ResponseSurface(degree=3).fit(frame, y).warnings_)
    est = ResponseSurface(degree=3, robust=True).fit(frame, y)
    assert any("HC3 standard errors are undefined" in w for w in est.warnings_)
