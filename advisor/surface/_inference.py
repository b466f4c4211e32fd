"""The statsmodels OLS fit of a design matrix, and the statistics read from it."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.regression.linear_model import RegressionResultsWrapper

from advisor.surface._diagnostics import VIF_LIMIT, cv_r2, lack_of_fit, vif
from advisor.surface._model import FitStats, TermStats

MIN_DF_RESID = 5  # fewer residual degrees of freedom than this earns a warning


def ols_fit(
    design: np.ndarray, y: np.ndarray, names: Sequence[str], robust: bool
) -> RegressionResultsWrapper:
    """OLS of `y` on the design (columns named by term), HC3 covariance when `robust`."""
    exog = pd.DataFrame(design, columns=list(names))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # numerical trouble is reported by fit_warnings instead
        model = sm.OLS(np.asarray(y, dtype=float), exog, hasconst=True)
        return model.fit(cov_type="HC3" if robust else "nonrobust")


def term_stats(
    results: RegressionResultsWrapper, names: Sequence[str], formulas: Sequence[str], alpha: float
) -> tuple[TermStats, ...]:
    """Coefficient, standard error, t, p, Holm-adjusted p and CI for each term."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        ci = np.asarray(results.conf_int(alpha=alpha))
    params, bse = np.asarray(results.params), np.asarray(results.bse, dtype=float)
    tvalues, pvalues = np.asarray(results.tvalues), np.asarray(results.pvalues)
    if results.df_resid <= 0:  # saturated: inference is undefined, not infinite
        bse, tvalues, pvalues = (np.full(len(names), np.nan) for _ in range(3))
        ci = np.full((len(names), 2), np.nan)
    holm = holm_adjust(pvalues, [n == "Intercept" for n in names])
    return tuple(
        TermStats(
            term=names[j],
            formula=formulas[j],
            coef=float(params[j]),
            se=float(bse[j]),
            t=float(tvalues[j]),
            p=float(pvalues[j]),
            p_holm=float(holm[j]),
            ci_low=float(ci[j, 0]),
            ci_high=float(ci[j, 1]),
        )
        for j in range(len(names))
    )


def holm_adjust(pvalues: np.ndarray, skip: Sequence[bool]) -> np.ndarray:
    """Holm-adjusted p-values over the finite, non-skipped entries (others are NaN)."""
    out = np.full(len(pvalues), np.nan)
    use = np.flatnonzero(np.array([not s for s in skip], dtype=bool) & np.isfinite(pvalues))
    if use.size:
        order = use[np.argsort(pvalues[use], kind="stable")]
        factors = use.size - np.arange(use.size)
        out[order] = np.minimum(1.0, np.maximum.accumulate(factors * pvalues[order]))
    return out


def fit_stats(
    results: RegressionResultsWrapper, design: np.ndarray, y: np.ndarray, groups: np.ndarray
) -> FitStats:
    """Whole-model statistics, with predictive R² and the lack-of-fit test."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        values = {
            "r2": float(results.rsquared),
            "adj_r2": float(results.rsquared_adj),
            "f_stat": _float(results.fvalue),
            "f_pvalue": _float(results.f_pvalue),
            "aic": float(results.aic),
            "bic": float(results.bic),
            "sigma": float(np.sqrt(results.scale)) if results.df_resid > 0 else float("nan"),
            "condition_number": float(results.condition_number),
        }
    n_params = design.shape[1]
    if results.df_resid <= 0:
        values["adj_r2"] = float("nan")
    return FitStats(
        n=int(results.nobs),
        n_configs=int(groups.max()) + 1,
        df_model=float(results.df_model),
        df_resid=float(results.df_resid),
        cv_r2=cv_r2(design, y, groups),
        lack_of_fit=lack_of_fit(y, float(results.ssr), n_params, groups),
        **values,
    )


def _float(value: object) -> float:
    try:
        return float(np.asarray(value).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        return float("nan")


def fit_warnings(
    stats: FitStats, term_stats_: Sequence[TermStats], coded_design: np.ndarray, robust: bool
) -> list[str]:
    """Numerical and statistical trouble worth telling the user (never an exception)."""
    out: list[str] = []
    if stats.df_resid <= 0:
        out.append(
            f"no residual degrees of freedom ({stats.n} rows, {len(term_stats_)} terms): "
            "the surface interpolates the data; no standard errors, p-values or "
            "intervals; add trials or lower --degree"
        )
    elif stats.df_resid < MIN_DF_RESID:
        out.append(
            f"only {stats.df_resid:g} residual degrees of freedom: p-values and intervals "
            "rest on very little data; add trials or lower --degree"
        )
    names = [t.term for t in term_stats_][1:]
    factors = vif(coded_design)
    high = [(n, v) for n, v in zip(names, factors, strict=True) if v > VIF_LIMIT]
    if high:
        listed = ", ".join(f"{n} {v:.0f}" if np.isfinite(v) else f"{n} inf" for n, v in high)
        out.append(
            f"collinear terms (variance inflation > {VIF_LIMIT:g}: {listed}): their "
            "separate coefficients and p-values are unstable, predictions are not"
        )
    if (
        robust
        and stats.df_resid > 0
        and (
            leverage(coded_design).max() > 1 - 1e-8
            or not all(np.isfinite(t.se) for t in term_stats_)
        )
    ):
        out.append(
            "HC3 standard errors are undefined for rows with leverage 1 (a configuration "
            "the fit passes through exactly); drop --robust or add replicates"
        )
    return out


def leverage(design: np.ndarray) -> np.ndarray:
    """Diagonal of the hat matrix (1: the fit passes through that row whatever its value)."""
    q, _ = np.linalg.qr(design)
    return np.sum(q**2, axis=1)
