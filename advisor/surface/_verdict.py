"""Design diagnostics and the verdict on a fitted surface: can a referee sign its findings?

A surface is not trustworthy when the design is saturated (no more distinct configurations than
estimable terms), the global F-test fails at alpha, cross-validation cannot be done or gives
CV R² <= 0, deleting one configuration changes which terms survive Holm's correction, or
accuracy/F1 are predicted outside [0, 1] inside the tried region (PRODUCT.md, Surfaces).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import f as f_dist

from advisor.surface._diagnostics import (
    condition_number,
    config_cooks,
    leverage,
    seed_sd,
    studentized_residuals,
    vif,
)
from advisor.surface._estimability import drop_unsupported
from advisor.surface._inference import MIN_DF_RESID, Inference, holm_adjust, ols_fit
from advisor.surface._model import Diagnostics, FittedSurface
from advisor.surface._terms import Factor, Term, candidate_terms
from advisor.table import PARAMS

BOUNDED = ("accuracy", "f1")  # metrics that live in [0, 1]
GRID_LEVELS = 9  # points per factor when checking predictions inside the tried region
STUDENT_LIMIT = 3.0  # |externally studentized residual| above this names the configuration
MAX_NAMED = 5  # configurations named per list
LEVERAGE_NEAR_ONE = 0.99


@dataclass(frozen=True)
class DesignData:
    """The arrays a verdict is computed from (coded design, target, configurations)."""

    coded: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    configs: list[dict[str, float]]  # one per group id, raw parameter values
    inference: Inference
    alpha: float


def config_table(frame: pd.DataFrame, groups: np.ndarray) -> list[dict[str, float]]:
    """The raw learning_rate, batch_size, epochs of each configuration (by group id)."""
    first = pd.Series(np.arange(len(groups))).groupby(groups).first().to_numpy()
    rows = frame.iloc[first]
    return [
        {"learning_rate": float(r[0]), "batch_size": int(r[1]), "epochs": int(r[2])}
        if float(r[1]).is_integer() and float(r[2]).is_integer()
        else {p: float(v) for p, v in zip(PARAMS, r, strict=True)}
        for r in rows[list(PARAMS)].to_numpy(dtype=float)
    ]


def config_text(config: dict[str, float]) -> str:
    """`lr 2e-05, batch 16, epochs 5`."""
    return (
        f"lr {config['learning_rate']:.3g}, batch {config['batch_size']:g}, "
        f"epochs {config['epochs']:g}"
    )


def diagnose(
    data: DesignData, factors: Sequence[Factor], terms: Sequence[Term], names: Sequence[str]
) -> Diagnostics:
    """Rows, configurations against terms, levels, concentration, conditioning, influence."""
    coded, y, groups = data.coded, data.y, data.groups
    n, p = coded.shape
    n_configs = int(groups.max()) + 1
    counts = np.bincount(groups)
    top = int(np.argmax(counts))
    h = leverage(coded)
    one = sorted({int(g) for g in groups[h > LEVERAGE_NEAR_ONE]})
    cooks = config_cooks(coded, y, groups) if n > p else np.full(n_configs, np.nan)
    influential, notes = influential_configs(data, names, cooks)
    resid = y - coded @ np.linalg.lstsq(coded, y, rcond=None)[0]
    return Diagnostics(
        rows=n,
        configs=n_configs,
        terms=p,
        saturated=n_configs <= p,
        levels={f.param: f.levels for f in factors},
        top_config=data.configs[top],
        top_rows=int(counts[top]),
        condition_number=condition_number(coded),
        vif=dict(zip(list(names)[1:], (float(v) for v in vif(coded)), strict=True)),
        max_leverage=float(h.max()),
        leverage_one=tuple(data.configs[g] for g in one),
        drivers=tuple(_drivers(data, cooks) if n > p else ()),
        influential=tuple(data.configs[g] for g in influential),
        influence_notes=tuple(notes),
        cv_r2=None,
        cv_note=None,
        seed_sd=seed_sd(y, groups),
        resid_sd=float(np.sqrt(resid @ resid / (n - p))) if n > p else float("nan"),
        inference={"cluster": "cluster", "HC3": "hc3"}.get(data.inference.cov_type, "ols"),
        inference_note=data.inference.note,
    )


def cooks_limit(n_configs: int) -> float:
    """Cook's distance above which deleting a configuration moves the fit notably (4 / G)."""
    return 4.0 / n_configs


def _drivers(data: DesignData, cooks: np.ndarray) -> list[dict[str, Any]]:
    """Configurations with a large Cook's distance (> 4 / configurations) or outlying runs."""
    student = studentized_residuals(data.coded, data.y)
    worst = np.full(cooks.size, 0.0)
    finite = np.where(np.isfinite(student), np.abs(student), 0.0)
    np.maximum.at(worst, data.groups, finite)
    limit = cooks_limit(cooks.size)
    picked = [
        g
        for g in np.argsort(-np.nan_to_num(cooks, nan=0.0, posinf=np.inf))
        if cooks[g] > limit or worst[g] > STUDENT_LIMIT
    ]
    return [
        {"config": data.configs[g], "cooks": float(cooks[g]), "studentized": float(worst[g])}
        for g in picked[:MAX_NAMED]
    ]


def survivors(
    design: np.ndarray, y: np.ndarray, groups: np.ndarray, inference: Inference, alpha: float
) -> set[int]:
    """Column indices (not the intercept, column 0) whose coefficient survives Holm at alpha.

    Columns the rows cannot estimate are left out (they survive nothing); without residual
    degrees of freedom nothing survives.
    """
    cols = _estimable(design)
    x = design[:, cols]
    _, ids = np.unique(groups, return_inverse=True)
    configs = int(ids.max()) + 1
    if x.shape[0] <= x.shape[1] or configs <= x.shape[1]:
        return set()
    results = ols_fit(x, y, [f"c{j}" for j in cols], inference, ids)
    p = np.asarray(results.pvalues, dtype=float)
    holm = holm_adjust(p, [j == 0 for j in cols])
    return {j for j, q in zip(cols, holm, strict=True) if j != 0 and np.isfinite(q) and q < alpha}


def _estimable(design: np.ndarray) -> list[int]:
    """Greedy: keep each column that adds to the rank of those kept before it."""
    kept: list[int] = []
    for j in range(design.shape[1]):
        if np.linalg.matrix_rank(design[:, [*kept, j]], tol=None) > len(kept):
            kept.append(j)
    return kept


def influential_configs(
    data: DesignData, names: Sequence[str], cooks: np.ndarray
) -> tuple[list[int], list[str]]:
    """Influential configurations whose deletion changes which terms survive Holm, and how.

    Influential: Cook's distance above the median of F(p, n - p) (Cook and Weisberg: deleting
    it moves the coefficients past the 50% confidence region). Only those are refitted
    without: deleting any one of many ordinary configurations tips some borderline term over
    alpha by chance alone, which says nothing about one configuration driving the fit.
    """
    n, p = data.coded.shape
    if int(data.groups.max()) + 1 <= p or n <= p:
        return [], []
    base = survivors(data.coded, data.y, data.groups, data.inference, data.alpha)
    found: list[int] = []
    notes: list[str] = []
    limit = float(f_dist.ppf(0.5, p, n - p))
    for g in np.flatnonzero(np.nan_to_num(cooks, nan=0.0) > limit):
        keep = data.groups != g
        after = survivors(
            data.coded[keep], data.y[keep], data.groups[keep], data.inference, data.alpha
        )
        if after == base:
            continue
        found.append(int(g))
        lost = ", ".join(names[j] for j in sorted(base - after))
        gained = ", ".join(names[j] for j in sorted(after - base))
        runs = int((~keep).sum())
        change = "; ".join(
            part
            for part in (
                f"{lost} no longer survive(s) Holm" if lost else "",
                f"{gained} newly survive(s)" if gained else "",
            )
            if part
        )
        notes.append(f"without {config_text(data.configs[g])} ({runs} run(s)): {change}")
    return found, notes


def verdict(surface: FittedSurface, diagnostics: Diagnostics) -> list[str]:
    """Reasons the surface is not trustworthy, each with what to do; empty when it is."""
    reasons: list[str] = []
    d, s = diagnostics, surface.stats
    if d.saturated:
        reasons.append(_saturated(surface, d))
    elif not np.isfinite(s.f_pvalue) or s.f_pvalue >= surface.alpha:
        shown = "cannot be computed" if not np.isfinite(s.f_pvalue) else f"p={s.f_pvalue:.3g}"
        reasons.append(
            f"the model as a whole is not significant (global F-test {shown} at alpha "
            f"{surface.alpha:g}): the factors may not matter, or there are too few runs to "
            f"tell; add distinct configurations or lower --degree"
        )
    if s.cv_r2 is None:
        reasons.append(
            f"cross-validation cannot be done ({s.cv_note or 'too few configurations'}): "
            "nothing says the surface predicts a configuration it has not seen; add distinct "
            "configurations"
        )
    elif s.cv_r2 <= 0:
        reasons.append(
            f"cross-validated R² is {s.cv_r2:.2f} (<= 0): the surface predicts unseen "
            "configurations no better than their average; add configurations or lower --degree"
        )
    if d.influential:
        shown = "; ".join(d.influence_notes[:MAX_NAMED])
        more = (
            f" (and {len(d.influential) - MAX_NAMED} more)"
            if len(d.influential) > MAX_NAMED
            else ""
        )
        reasons.append(
            f"one configuration changes which terms are significant: {shown}{more}; look at "
            "those runs (a broken or collapsed model?), rerun them with more seeds, or add "
            "configurations near them"
        )
    bounds = out_of_bounds(surface)
    if bounds:
        reasons.append(bounds)
    return reasons


def _saturated(surface: FittedSurface, d: Diagnostics) -> str:
    need = d.terms + MIN_DF_RESID - d.configs
    lower = supported_degree(surface.factors, d.configs, surface.degree)
    degree = (
        f", or use --degree {lower[0]} ({lower[1]} terms)"
        if lower is not None
        else " (not even --degree 1 fits: vary more hyperparameters)"
    )
    return (
        f"saturated design: {d.configs} distinct configurations for {d.terms} estimable terms, "
        "so the surface passes through the configuration means and nothing can be tested; run "
        f"at least {need} more distinct configurations{degree}"
    )


def supported_degree(
    factors: Sequence[Factor], n_configs: int, degree: int
) -> tuple[int, int] | None:
    """The highest degree below `degree` with fewer estimable terms than configurations."""
    for d in range(degree - 1, 0, -1):
        terms, _ = drop_unsupported(candidate_terms(d), factors)
        if len(terms) < n_configs:
            return d, len(terms)
    return None


def region_grid(surface: FittedSurface) -> pd.DataFrame:
    """Points inside the tried region: each factor's levels (or GRID_LEVELS across its range)."""
    axes = []
    for f in surface.factors:
        if f.levels <= GRID_LEVELS:
            values = np.linspace(f.low, f.high, max(f.levels, 1))
        else:
            values = np.linspace(f.low, f.high, GRID_LEVELS)
        axes.append([f.to_param(v) for v in values])
    return pd.DataFrame(list(itertools.product(*axes)), columns=[f.param for f in surface.factors])


def out_of_bounds(surface: FittedSurface) -> str | None:
    """The reason when accuracy/F1 is predicted outside [0, 1] inside the tried region."""
    if surface.metric not in BOUNDED:
        return None
    shift = surface.baseline if surface.mode == "relative" and surface.baseline else 0.0
    grid = region_grid(surface)
    mean = surface.design(grid) @ surface.coef + shift
    bad = (mean < -1e-9) | (mean > 1 + 1e-9)
    if not bad.any():
        return None
    lo, hi = int(np.argmin(mean)), int(np.argmax(mean))
    where = [
        f"{mean[k]:.3g} at {config_text(grid.iloc[k].to_dict())}"
        for k in dict.fromkeys([lo, hi])
        if bad[k]
    ]
    return (
        f"it predicts {surface.metric} outside [0, 1] inside the tried region "
        f"({int(bad.sum())} of {len(grid)} grid points; {'; '.join(where)}): the polynomial "
        "does not describe the metric there; look for collapsed or broken runs, or lower --degree"
    )
