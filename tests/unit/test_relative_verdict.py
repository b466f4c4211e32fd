"""A relative surface's inference at the baseline's configuration carries the baseline's noise:
the intercept's SE, t, p and CI, and the finding quoted for the baseline's configuration, are
recomputed after the variance of the baseline's mean is added (issue 13: "at the baseline's own
configuration the tool says the configuration is significantly worse than itself")."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from advisor.surface import fit_surfaces
from advisor.surface._relative import restate_at
from advisor.table import TrialsTable

BASE_CONFIG = {"learning_rate": 1e-4, "batch_size": 16.0, "epochs": 2.0}


def _rows() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = [
        {"learning_rate": lr, "batch_size": b, "epochs": e, "seed": s}
        for lr in np.geomspace(1e-5, 1e-3, 5)
        for b in (8, 16, 32, 64)
        for e in (1, 2, 3)
        for s in (0, 1, 2)
    ]
    frame = pd.DataFrame(rows)
    x = np.log10(frame["learning_rate"]) + 4
    z = np.log2(frame["batch_size"]) - 4
    frame["f1"] = (0.8 + 0.04 * x - 0.03 * x**2 - 0.01 * z + 0.005 * frame["epochs"]) + rng.normal(
        0, 0.02, len(frame)
    )
    frame["accuracy"] = frame["f1"]
    frame["loss"] = 1 - frame["f1"]
    return frame


def _fits(baseline: float):
    table = TrialsTable(rows=_rows(), baseline={"f1": baseline}, baseline_params=BASE_CONFIG)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_surfaces(table, "f1", "both").by_target()


def test_the_baseline_is_not_significantly_different_from_itself() -> None:
    absolute = _fits(0.0)["f1"]
    at_base = restate_at(absolute, BASE_CONFIG)  # absolute surface coded at the baseline
    se_fit = float(np.sqrt(at_base.cov[0, 0]))
    # a baseline measured 3 fit-SEs below the surface at its own configuration: noise of one
    # run (seed SD about 0.02) makes that gap unremarkable
    baseline = float(at_base.coef[0]) - 3.0 * se_fit
    relative = _fits(baseline)["f1_rel"]
    df = relative.t_df
    assert 2 * stats.t.sf(3.0, df) < 0.05  # what the tool said before the noise went in
    intercept = relative.term_stats[0]
    assert intercept.term == "Intercept"
    assert intercept.coef == pytest.approx(3.0 * se_fit, rel=1e-6)
    se = np.sqrt(se_fit**2 + relative.baseline_sd**2)
    assert intercept.se == pytest.approx(se, rel=1e-6)
    assert intercept.p == pytest.approx(2 * stats.t.sf(3.0 * se_fit / se, df), rel=1e-6)
    assert intercept.p > 0.05 and intercept.ci_low < 0 < intercept.ci_high
    crit = stats.t.ppf(1 - relative.alpha / 2, df)
    assert intercept.ci_high - intercept.ci_low == pytest.approx(2 * crit * se, rel=1e-6)
    # the finding quoted for the baseline's configuration uses the same widened interval
    line = next(f for f in relative.findings if "the baseline's own configuration" in f)
    assert f"{intercept.ci_low:+.3g} to {intercept.ci_high:+.3g}" in line
    assert "the baseline's own noise" in line
