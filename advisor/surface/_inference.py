"""The statsmodels OLS fit of a design matrix, and the statistics read from it."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.regression.linear_model import RegressionResultsWrapper

from advisor.surface._diagnostics import (
    LEVERAGE_ONE,
    VIF_LIMIT,
    cv_r2,
    lack_of_fit,
    leverage,
    vif,
)
from advisor.surface._model import FitStats, TermStats

MIN_DF_RESID = 5  # fewer residual degrees of freedom than this earns a warning
OLS, CLUSTER, HC3 = "nonrobust", "cluster", "HC3"  # cov_type values (statsmodels' names)


@dataclass(frozen=True)
class Inference:
    """How standard errors are computed, in words, and why (a refused --robust says so)."""

    cov_type: str
    note: str
    refusal: str | None = None


def choose_inference(robust: bool, design: np.ndarray, groups: np.ndarray) -> Inference:
    """Cluster-robust by configuration when configurations are replicated, else OLS or HC3.

    Seeds of one configuration share its misfit, so with replicates OLS p-values (which treat
    every row as independent) are too small; clustering by configuration allows for that. HC3
    divides by 1 - leverage: where a row has leverage 1 it is undefined, and is refused.
    """
    n, p = design.shape
    n_configs = int(groups.max()) + 1
    if n <= p:
        return Inference(OLS, "no residual degrees of freedom: no standard errors")
    if n_configs < n and n_configs > p:
        note = (
            f"cluster-robust by configuration ({n_configs} clusters; t with {n_configs - 1} df): "
            "seeds of one configuration are not independent evidence"
        )
        if robust:
            note += "; --robust adds nothing (clustered errors already allow unequal noise)"
        return Inference(CLUSTER, note)
    if n_configs < n:  # replicated, but too few configurations to cluster
        base = Inference(OLS, "OLS (too few configurations to cluster by configuration)")
    else:
        base = Inference(OLS, "OLS (no replicated configurations)")
    if not robust:
        return base
    one = leverage(design) > 1 - LEVERAGE_ONE
    if one.any():
        refusal = (
            f"--robust refused: HC3 standard errors are undefined for the {int(one.sum())} rows "
            "with leverage 1 (configurations the fit passes through exactly); these are OLS "
            "errors; add runs near those configurations or lower --degree"
        )
        return Inference(OLS, base.note, refusal)
    return Inference(HC3, "HC3 heteroscedasticity-robust")


def ols_fit(
    design: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    inference: Inference | bool,
    groups: np.ndarray | None = None,
) -> RegressionResultsWrapper:
    """OLS of `y` on the design (columns named by term), with the chosen covariance.

    Every covariance uses the t distribution (statsmodels' `use_t=True`): the table, the
    findings and the intervals share one reference distribution.
    """
    if isinstance(inference, bool):  # the old signature: robust flag
        inference = Inference(HC3 if inference else OLS, "")
    exog = pd.DataFrame(design, columns=list(names))
    kwargs: dict[str, object] = {"cov_type": inference.cov_type, "use_t": True}
    if inference.cov_type == CLUSTER:
        kwargs["cov_kwds"] = {"groups": np.asarray(groups)}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # numerical trouble is reported by fit_warnings instead
        model = sm.OLS(np.asarray(y, dtype=float), exog, hasconst=True)
        return model.fit(**kwargs)


def inference_df(results: RegressionResultsWrapper) -> float:
    """The t degrees of freedom statsmodels used (configurations - 1 when clustered)."""
    df = getattr(results, "df_resid_inference", None)
    return float(results.df_resid if df is None else df)


def term_stats(
    results: RegressionResultsWrapper,
    names: Sequence[str],
    formulas: Sequence[str],
    alpha: float,
    holm_pvalues: np.ndarray | None = None,
) -> tuple[TermStats, ...]:
    """Coefficient, standard error, t, p, Holm-adjusted p and CI for each term.

    `holm_pvalues` are the p-values Holm's correction runs over (default: this fit's). The
    estimator passes those of the coded fit, so the corrected family is the same hypotheses
    (each term at the centre of the grid) whatever --coding.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        ci = np.asarray(results.conf_int(alpha=alpha))
    params, bse = np.asarray(results.params), np.asarray(results.bse, dtype=float)
    tvalues, pvalues = np.asarray(results.tvalues), np.asarray(results.pvalues)
    if results.df_resid <= 0:  # saturated: inference is undefined, not infinite
        bse, tvalues, pvalues = (np.full(len(names), np.nan) for _ in range(3))
        ci = np.full((len(names), 2), np.nan)
    family = pvalues if holm_pvalues is None else np.asarray(holm_pvalues, dtype=float)
    if results.df_resid <= 0:
        family = np.full(len(names), np.nan)
    holm = holm_adjust(family, [n == "Intercept" for n in names])
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
    score, why = cv_r2(design, y, groups)
    return FitStats(
        n=int(results.nobs),
        n_configs=int(groups.max()) + 1,
        df_model=float(results.df_model),
        df_resid=float(results.df_resid),
        cv_r2=score,
        cv_note=why,
        lack_of_fit=lack_of_fit(y, float(results.ssr), n_params, groups),
        **values,
    )


def _float(value: object) -> float:
    try:
        return float(np.asarray(value).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        return float("nan")


def fit_warnings(
    stats: FitStats, term_stats_: Sequence[TermStats], coded_design: np.ndarray, refusal: str | None
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
            f"collinear terms (variance inflation > {VIF_LIMIT:g}: {listed}): the design "
            "barely separates them, so their separate coefficients and p-values are unstable"
        )
    if refusal:
        out.append(refusal)
    return out
