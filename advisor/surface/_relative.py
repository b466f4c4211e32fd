"""Relative surfaces: metric - baseline, with the baseline's configuration and noise taken in.

When the baseline's configuration is known, a relative surface is restated with each factor
coded as a difference from the baseline's own (transformed) value: x = (t - t_baseline) / s.
The fitted function is the same polynomial (OLS is invariant to an affine recoding of a
hierarchical term set), but the coefficients answer other questions: the intercept is the
gain at the baseline's own configuration, the main effects are the incremental effects there
(the gradient of the absolute surface at the baseline), and their p-values test those. Where
the configuration is unknown the relative surface is the absolute one shifted by a constant
(`relative_kind = "shift"`): every slope and p-value equals the absolute surface's.

Either way the baseline is a noisy measurement: the variance of its mean is added to the
intercept's variance (so to every prediction's), since every relative value shares it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from advisor.surface._diagnostics import config_groups, seed_sd
from advisor.surface._inference import holm_adjust
from advisor.surface._model import FittedSurface, TermStats
from advisor.surface._terms import Factor, design_matrix, encode
from advisor.table import TrialsTable

RESTATE_POINTS = 64  # generic points that pin down the linear map between two codings


def restate_at(surface: FittedSurface, config: Mapping[str, float]) -> FittedSurface:
    """The same surface with every varying factor centred on `config`'s value.

    Raises:
        ValueError: the term set is not closed under the shift (a non-hierarchical model).
    """
    factors = tuple(
        dataclasses.replace(f, center=float(f.transformed([config[f.param]])[0]))
        if f.high > f.low
        else f
        for f in surface.factors
    )
    rng = np.random.default_rng(0)
    t = np.column_stack(
        [rng.uniform(f.low - 1.0, f.high + 1.0, RESTATE_POINTS) for f in surface.factors]
    )
    old = design_matrix(surface.terms, _coded(surface.factors, t))
    new = design_matrix(surface.terms, _coded(factors, t))
    # old = new @ m: a row of the old design is a linear combination of the new columns
    m, *_ = np.linalg.lstsq(new, old, rcond=None)
    if not np.allclose(new @ m, old, atol=1e-8 * max(1.0, float(np.abs(old).max()))):
        raise ValueError("the surface's terms are not hierarchical: it cannot be recentred")
    coef = m @ surface.coef
    cov = m @ surface.cov @ m.T
    xtx = None if surface.xtx_inv is None else m @ surface.xtx_inv @ m.T
    restated = dataclasses.replace(
        surface, factors=factors, coef=coef, cov=cov, xtx_inv=xtx, baseline_params=dict(config)
    )
    return dataclasses.replace(restated, term_stats=restated_terms(restated))


def _coded(factors: tuple[Factor, ...], t: np.ndarray) -> np.ndarray:
    return np.column_stack([(t[:, i] - f.center) / f.scale for i, f in enumerate(factors)])


def add_baseline_variance(surface: FittedSurface, variance: float) -> FittedSurface:
    """Add the variance of the baseline's mean to the intercept (and so to every prediction)."""
    if not np.isfinite(variance) or variance <= 0:
        return surface
    cov = surface.cov.copy()
    j = next(k for k, t in enumerate(surface.terms) if t.is_intercept)
    cov[j, j] += variance
    changed = dataclasses.replace(surface, cov=cov, baseline_sd=float(np.sqrt(variance)))
    return dataclasses.replace(changed, term_stats=restated_terms(changed))


def restated_terms(surface: FittedSurface) -> tuple[TermStats, ...]:
    """Coefficient inference from the surface's coef and cov, with its t degrees of freedom."""
    se = np.sqrt(np.maximum(np.diag(surface.cov), 0.0))
    df = surface.t_df
    with np.errstate(divide="ignore", invalid="ignore"):
        t = surface.coef / se
    if df > 0:
        p = 2.0 * stats.t.sf(np.abs(t), df)
        crit = float(stats.t.ppf(1.0 - surface.alpha / 2.0, df))
    else:
        p, crit = np.full(se.size, np.nan), float("nan")
    holm = holm_adjust(p, [term.is_intercept for term in surface.terms])
    return tuple(
        dataclasses.replace(
            old,
            coef=float(surface.coef[j]),
            se=float(se[j]),
            t=float(t[j]),
            p=float(p[j]),
            p_holm=float(holm[j]),
            ci_low=float(surface.coef[j] - crit * se[j]),
            ci_high=float(surface.coef[j] + crit * se[j]),
        )
        for j, old in enumerate(surface.term_stats)
    )


def baseline_variance(
    runs: list[float], replicate_variance: float | None, residual_variance: float
) -> tuple[float, str]:
    """Variance of the baseline's mean and where it came from.

    The baseline's own runs when there are at least two (their variance over their count);
    else one run with the grid's seed-to-seed variance; else with the residual variance.
    """
    if len(runs) >= 2:
        return float(np.var(runs, ddof=1)) / len(runs), f"the spread of its {len(runs)} runs"
    if replicate_variance is not None and np.isfinite(replicate_variance):
        return float(replicate_variance), "the grid's seed-to-seed variance"
    return float(residual_variance), "the residual variance (no replicates to measure seed noise)"


def replicate_variance(groups: np.ndarray, y: np.ndarray) -> float | None:
    """Pooled within-configuration variance (pure error); None without replicates."""
    sd = seed_sd(y, groups)
    return None if sd is None else sd * sd


def baseline_reference(
    table: TrialsTable, metric: str, frame: pd.DataFrame
) -> tuple[np.ndarray | float, list[float]]:
    """The baseline value subtracted from each row (paired by seed where the baseline has
    per-seed runs), and the baseline's run values."""
    if not table.baseline:
        return 0.0, []
    mean = float(table.baseline[metric])
    runs = {s: r[metric] for s, r in (table.baseline_runs or {}).items() if metric in r}
    if len(runs) < 2 or "seed" not in frame.columns:
        return mean, list(runs.values())
    seeds = pd.to_numeric(frame["seed"], errors="coerce")
    paired = np.array([runs.get(int(s), mean) if np.isfinite(s) else mean for s in seeds])
    return paired, list(runs.values())


def relative_surface(
    surface: FittedSurface,
    table: TrialsTable,
    frame: pd.DataFrame,
    target: np.ndarray,
    trained: np.ndarray | None,
    runs: list[float],
    notes: list[str],
) -> FittedSurface:
    """Restate at the baseline's configuration when known, and add the baseline's noise."""
    kind = "shift"
    if table.baseline_params is not None:
        try:
            surface = restate_at(surface, table.baseline_params)
            kind = "incremental"
        except ValueError as exc:
            notes.append(f"relative surface left as a shift of the absolute one: {exc}")
    rows = frame if trained is None else frame[trained]
    y = target if trained is None else target[trained]
    groups = config_groups(encode(surface.factors, rows))
    variance, source = baseline_variance(runs, replicate_variance(groups, y), surface.scale)
    surface = replace(add_baseline_variance(surface, variance), relative_kind=kind)
    if surface.baseline_sd is not None:
        noise = (
            f"the baseline is a noisy measurement: the variance of its mean (SD "
            f"{surface.baseline_sd:.3g}, from {source}) is added to the intercept and to "
            "every prediction"
        )
        surface = replace(surface, notes=(*surface.notes, noise))
    return surface
