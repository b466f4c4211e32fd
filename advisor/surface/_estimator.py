"""`ResponseSurface`: a scikit-learn-style polynomial response surface over statsmodels OLS."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from advisor.errors import FitError, NotFittedError
from advisor.surface._diagnostics import config_groups
from advisor.surface._estimability import drop_aliased, drop_unsupported
from advisor.surface._findings import describe
from advisor.surface._inference import (
    CLUSTER,
    choose_inference,
    fit_stats,
    fit_warnings,
    inference_df,
    ols_fit,
    term_stats,
)
from advisor.surface._model import DroppedTerm, FittedSurface
from advisor.surface._options import (
    DEFAULT_ALPHA,
    Coding,
    Mode,
    Selection,
    check_alpha,
    check_degree,
    parse_choice,
)
from advisor.surface._selection import backward_select
from advisor.surface._terms import (
    Factor,
    Term,
    candidate_terms,
    check_params,
    design_matrix,
    encode,
    make_factors,
)
from advisor.surface._verdict import DesignData, config_table, diagnose, verdict
from advisor.table import PARAMS


class SurfaceWarning(UserWarning):
    """A fitted surface has a problem worth knowing (dropped terms, collinearity, few dof)."""


@dataclass(frozen=True)
class _Plan:
    """The estimable terms for some rows, chosen on coded factors."""

    terms: list[Term]
    dropped: list[DroppedTerm]
    removed: list[Term]
    groups: np.ndarray


class ResponseSurface:
    """Polynomial response surface of one metric on learning rate, batch size and epochs.

    Factors enter as log10(learning_rate), log2(batch_size) and epochs, then coded (see
    `Coding`). Terms the data cannot estimate are dropped with a `SurfaceWarning`.

    Args:
        degree: 1 (main effects), 2 (adds squares and all two-way interactions) or 3 (full cubic).
        robust: use heteroscedasticity-robust (HC3) standard errors where they are defined
            (refused, with a warning, when a row has leverage 1). With replicated
            configurations inference is cluster-robust by configuration whatever `robust`.
        select: optional hierarchical backward selection by `"aic"` or `"bic"`.
        coding: `"coded"` (each factor's range mapped to [-1, 1]) or `"natural"`.
        alpha: significance level for intervals and findings.

    Attributes (after `fit`):
        surface_: the FittedSurface (plain data; serialisable; predicts without refitting).
        results_: the statsmodels results object.
        terms_, coef_, bse_, tvalues_, pvalues_, conf_int_, cov_params_: per-term inference.
        rsquared_, rsquared_adj_, f_pvalue_, aic_, bic_, df_resid_, nobs_, cv_r2_,
        lack_of_fit_, dropped_terms_, warnings_, findings_: whole-model results.
        trustworthy_, reasons_, diagnostics_: the verdict (findings_ is empty when untrustworthy).
    """

    def __init__(
        self,
        degree: int = 2,
        *,
        robust: bool = False,
        select: str | Selection | None = None,
        coding: str | Coding = Coding.CODED,
        alpha: float = DEFAULT_ALPHA,
    ) -> None:
        self.degree = degree
        self.robust = robust
        self.select = select
        self.coding = coding
        self.alpha = alpha

    def fit(
        self,
        X: pd.DataFrame,  # noqa: N803 (scikit-learn naming)
        y: Sequence[float] | np.ndarray | pd.Series,
        *,
        metric: str | None = None,
        mode: str | Mode = Mode.ABSOLUTE,
        baseline: float | None = None,
    ) -> ResponseSurface:
        """Fit the surface to rows of `X` (learning_rate, batch_size, epochs) and targets `y`.

        Args:
            X: one row per trial; other columns are ignored.
            y: the metric per row (for a relative surface: metric - baseline).
            metric: name for reports (defaults to `y.name` or "y").
            mode: `"absolute"` or `"relative"` (a label; `y` is used as given).
            baseline: the baseline metric value, kept for reports when mode is relative.

        Raises:
            FitError: bad options, missing/non-finite values, a constant target, no varying
                factor, or fewer rows than estimable terms.
        """
        degree = check_degree(self.degree)
        coding = parse_choice(Coding, self.coding, "coding")
        select = None if self.select is None else parse_choice(Selection, self.select, "selection")
        alpha = check_alpha(self.alpha)
        mode = parse_choice(Mode, mode, "mode")
        if mode == Mode.BOTH:
            raise FitError("a ResponseSurface has one mode: absolute or relative")
        name = metric or str(getattr(y, "name", None) or "y")
        frame, target = _validate(X, y, name)
        plan = _plan(frame, target, degree, select)
        factors = make_factors(frame, coding)
        design = design_matrix(plan.terms, encode(factors, frame))
        names = [t.name(factors) for t in plan.terms]
        coded = design_matrix(plan.terms, encode(make_factors(frame, Coding.CODED), frame))
        inference = choose_inference(self.robust, coded, plan.groups)
        results = ols_fit(design, target, names, inference, plan.groups)
        coded_results = (
            results
            if coding == Coding.CODED
            else ols_fit(coded, target, names, inference, plan.groups)
        )
        data = DesignData(
            coded, target, plan.groups, config_table(frame, plan.groups), inference, alpha
        )
        surface = _surface(
            results,
            np.asarray(coded_results.pvalues, dtype=float),
            factors,
            plan,
            design,
            data,
            metric=name,
            mode=mode.value,
            baseline=baseline,
            degree=degree,
            coding=coding,
            select=select,
        )
        self._set_fitted(surface, results)
        return self

    def _set_fitted(self, surface: FittedSurface, results: Any) -> None:
        names = surface.term_names
        self.surface_ = surface
        self.results_ = results
        self.terms_ = names
        self.coef_ = pd.Series(surface.coef, index=names)
        self.bse_ = pd.Series([t.se for t in surface.term_stats], index=names)
        self.tvalues_ = pd.Series([t.t for t in surface.term_stats], index=names)
        self.pvalues_ = pd.Series([t.p for t in surface.term_stats], index=names)
        self.conf_int_ = pd.DataFrame(
            {
                "lower": [t.ci_low for t in surface.term_stats],
                "upper": [t.ci_high for t in surface.term_stats],
            },
            index=names,
        )
        self.cov_params_ = pd.DataFrame(surface.cov, index=names, columns=names)
        stats = surface.stats
        self.rsquared_, self.rsquared_adj_ = stats.r2, stats.adj_r2
        self.f_pvalue_, self.aic_, self.bic_ = stats.f_pvalue, stats.aic, stats.bic
        self.df_resid_, self.nobs_, self.cv_r2_ = stats.df_resid, stats.n, stats.cv_r2
        self.lack_of_fit_ = stats.lack_of_fit
        self.dropped_terms_ = list(surface.dropped)
        self.warnings_ = list(surface.warnings)
        self.findings_ = list(surface.findings)
        self.trustworthy_ = surface.trustworthy
        self.reasons_ = list(surface.reasons)
        self.diagnostics_ = surface.diagnostics

    def predict(self, X: pd.DataFrame, alpha: float | None = None) -> pd.DataFrame:  # noqa: N803
        """Means with confidence and prediction intervals; see `FittedSurface.predict`.

        Raises:
            NotFittedError: `fit` has not been called.
        """
        if not hasattr(self, "surface_"):
            raise NotFittedError("this ResponseSurface is not fitted yet; call fit(X, y) first")
        return self.surface_.predict(X, alpha=alpha)


def _validate(
    X: pd.DataFrame,
    y: Sequence[float] | np.ndarray | pd.Series,
    metric: str,  # noqa: N803
) -> tuple[pd.DataFrame, np.ndarray]:
    if not isinstance(X, pd.DataFrame):
        raise FitError(f"X must be a DataFrame with columns {', '.join(PARAMS)}")
    check_params(X)
    try:
        target = np.asarray(y, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise FitError(f"{metric} has non-numeric values ({exc})") from exc
    if target.size != len(X):
        raise FitError(f"{metric} has {target.size} values for {len(X)} rows")
    bad = ~np.isfinite(target)
    if bad.any():
        rows = ", ".join(str(r) for r in np.flatnonzero(bad)[:5])
        raise FitError(
            f"{metric} is missing (NaN) or infinite in {int(bad.sum())} of "
            f"{target.size} rows (rows {rows}); drop those rows before fitting"
        )
    if target.size and np.ptp(target) == 0:
        raise FitError(
            f"{metric} is constant ({target[0]:g}) in all {target.size} rows; "
            "a surface needs the metric to vary"
        )
    return X.reset_index(drop=True), target


def _plan(frame: pd.DataFrame, y: np.ndarray, degree: int, select: Selection | None) -> _Plan:
    coded = make_factors(frame, Coding.CODED)
    if all(f.levels == 1 for f in coded):
        raise FitError(
            "learning_rate, batch_size and epochs are each constant in these rows; "
            "a surface needs at least one varying hyperparameter"
        )
    terms, dropped = drop_unsupported(candidate_terms(degree), coded)
    if len(frame) < len(terms):
        raise FitError(_too_few_rows(len(frame), terms, coded, degree))
    x = encode(coded, frame)
    groups = config_groups(x)
    design = design_matrix(terms, x)
    kept, aliased = drop_aliased(terms, design, coded, int(groups.max()) + 1)
    removed: list[Term] = []
    if select is not None:
        chosen, gone = backward_select([terms[k] for k in kept], design[:, kept], y, select)
        removed = [terms[kept[j]] for j in gone]
        kept = [kept[j] for j in chosen]
    return _Plan([terms[k] for k in kept], dropped + aliased, removed, groups)


def _too_few_rows(n: int, terms: list[Term], factors: Sequence[Factor], degree: int) -> str:
    names = ", ".join(t.name(factors) for t in terms)
    advice = "add trials" + (f" or use --degree {degree - 1}" if degree > 1 else "")
    return (
        f"{n} rows are fewer than the {len(terms)} estimable terms of a degree-{degree} "
        f"surface ({names}); {advice}"
    )


def _surface(
    results: Any,
    holm_pvalues: np.ndarray,
    factors: tuple[Factor, ...],
    plan: _Plan,
    design: np.ndarray,
    data: DesignData,
    *,
    metric: str,
    mode: str,
    baseline: float | None,
    degree: int,
    coding: Coding,
    select: Selection | None,
) -> FittedSurface:
    names = [t.name(factors) for t in plan.terms]
    formulas = [t.formula(factors) for t in plan.terms]
    terms = term_stats(results, names, formulas, data.alpha, holm_pvalues)
    stats = fit_stats(results, design, data.y, plan.groups)
    problems = _dropped_messages(plan.dropped)
    problems += fit_warnings(stats, terms, data.coded, data.inference.refusal)
    for message in problems:
        warnings.warn(f"{metric} ({mode}): {message}", SurfaceWarning, stacklevel=3)
    notes = (
        [f"{t.name(factors)} removed by {select.value.upper()} selection" for t in plan.removed]
        if select
        else []
    )
    diagnostics = dataclasses.replace(
        diagnose(data, factors, plan.terms, names), cv_r2=stats.cv_r2, cv_note=stats.cv_note
    )
    surface = FittedSurface(
        metric=metric,
        mode=mode,
        baseline=baseline,
        degree=degree,
        coding=coding.value,
        cov_type=data.inference.cov_type,
        select=select.value if select else None,
        alpha=data.alpha,
        factors=factors,
        terms=tuple(plan.terms),
        coef=np.asarray(results.params, dtype=float),
        cov=_cov(results),
        scale=float(results.scale) if results.df_resid > 0 else float("nan"),
        stats=stats,
        term_stats=terms,
        dropped=tuple(plan.dropped),
        warnings=tuple(problems),
        notes=tuple(notes),
        diagnostics=diagnostics,
        inference_df=inference_df(results) if data.inference.cov_type == CLUSTER else None,
        xtx_inv=_xtx_inv(design),
    )
    reasons = verdict(surface, diagnostics)
    findings = () if reasons else tuple(describe(surface, data.y))
    return dataclasses.replace(
        surface, trustworthy=not reasons, reasons=tuple(reasons), findings=findings
    )


def _xtx_inv(design: np.ndarray) -> np.ndarray:
    """(X'X)^-1 (pseudo-inverse when singular), for the leverage of new points."""
    return np.linalg.pinv(design.T @ design)


def _cov(results: Any) -> np.ndarray:
    """The coefficient covariance; NaN throughout when there are no residual dof."""
    cov = np.asarray(results.cov_params(), dtype=float)
    return cov if results.df_resid > 0 else np.full_like(cov, np.nan)


def _dropped_messages(dropped: Sequence[DroppedTerm]) -> list[str]:
    """One message per reason: `dropped lr^2, lr^2:batch: learning_rate has only 2 ...`."""
    by_reason: dict[str, list[str]] = {}
    for d in dropped:
        by_reason.setdefault(d.reason, []).append(d.term)
    return [f"dropped {', '.join(terms)}: {reason}" for reason, terms in by_reason.items()]
