"""Diagnostics on plain arrays: replicates, lack of fit, predictive R², leverage, influence, VIF."""

from __future__ import annotations

import numpy as np
from scipy import stats

from advisor.surface._model import LackOfFit
from advisor.surface._terms import LEVEL_DECIMALS

VIF_LIMIT = 10.0
PLATEAU_SHARE = 0.2  # a floor or ceiling holding at least this share of rows is worth a note
PLATEAU_BAND = 0.05  # ... counting rows within this fraction of the range from the extreme
LEVERAGE_ONE = 1e-8  # leverage within this of 1: the fit passes through the row exactly


def config_groups(x: np.ndarray) -> np.ndarray:
    """Group id per row: rows with the same configuration (any seed) share an id."""
    rounded = np.round(x, LEVEL_DECIMALS)
    _, ids = np.unique(rounded, axis=0, return_inverse=True)
    return np.asarray(ids).reshape(-1)


def lack_of_fit(y: np.ndarray, ssr: float, n_params: int, groups: np.ndarray) -> LackOfFit | None:
    """F-test of the residual misfit against replicate-to-replicate (pure) error.

    None when there are no replicates, no configurations to spare, or the replicates agree exactly.
    """
    n, m = y.size, int(groups.max()) + 1
    df_pure, df_lack = n - m, m - n_params
    if df_pure <= 0 or df_lack <= 0:
        return None
    means = np.bincount(groups, weights=y) / np.bincount(groups)
    ss_pure = float(np.sum((y - means[groups]) ** 2))
    if ss_pure <= 1e-12 * max(1.0, float(np.sum((y - y.mean()) ** 2))):
        return None
    ss_lack = max(ssr - ss_pure, 0.0)
    f = (ss_lack / df_lack) / (ss_pure / df_pure)
    p = float(stats.f.sf(f, df_lack, df_pure))
    return LackOfFit(f=f, p=p, df_lack=df_lack, df_pure=df_pure, ss_lack=ss_lack, ss_pure=ss_pure)


def cv_r2(design: np.ndarray, y: np.ndarray, groups: np.ndarray) -> tuple[float | None, str | None]:
    """Leave-one-configuration-out predictive R² (1 - PRESS / total sum of squares), or why not.

    Every replicate of a configuration is held out together, so the score says how well the
    surface predicts a configuration it has not seen. A fold whose remaining rows cannot
    estimate every term (fewer distinct configurations than terms, or an aliased design) cannot
    be fitted: then the score is None with the reason, never a minimum-norm solution.
    """
    n_params = design.shape[1]
    sst = float(np.sum((y - y.mean()) ** 2))
    n_configs = int(groups.max()) + 1
    if sst <= 0:
        return None, "the metric does not vary"
    if n_configs - 1 < n_params:
        return None, (
            f"a fold leaves {n_configs - 1} configurations for {n_params} terms, "
            "so it cannot be fitted"
        )
    press = 0.0
    for g in range(n_configs):
        held = groups == g
        rest = design[~held]
        if np.linalg.matrix_rank(rest) < n_params:
            return None, (
                "leaving out one configuration makes a term inestimable (it alone determines "
                "that term), so that fold cannot be fitted"
            )
        coef, *_ = np.linalg.lstsq(rest, y[~held], rcond=None)
        press += float(np.sum((y[held] - design[held] @ coef) ** 2))
    return 1.0 - press / sst, None


def seed_sd(y: np.ndarray, groups: np.ndarray) -> float | None:
    """Pooled seed-to-seed SD within replicated configurations; None without replicates."""
    counts = np.bincount(groups)
    df = int(y.size - counts.size)
    if df <= 0:
        return None
    means = np.bincount(groups, weights=y) / counts
    return float(np.sqrt(np.sum((y - means[groups]) ** 2) / df))


def leverage(design: np.ndarray) -> np.ndarray:
    """Diagonal of the hat matrix (1: the fit passes through that row whatever its value)."""
    q, _ = np.linalg.qr(design)
    return np.sum(q**2, axis=1)


def studentized_residuals(design: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Externally studentized residuals (NaN where leverage is 1 or no dof would be left)."""
    n, p = design.shape
    h = leverage(design)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    df = n - p - 1
    out = np.full(n, np.nan)
    ok = h < 1 - LEVERAGE_ONE
    if df <= 0 or not ok.any():
        return out
    ssr = float(resid @ resid)
    s2_del = (ssr - resid[ok] ** 2 / (1 - h[ok])) / df
    with np.errstate(divide="ignore", invalid="ignore"):
        out[ok] = resid[ok] / np.sqrt(np.maximum(s2_del, 0.0) * (1 - h[ok]))
    return out


def config_cooks(design: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Cook's distance of deleting each configuration (all its rows) from the OLS fit.

    inf where the rest cannot estimate every term (that configuration alone determines one).
    """
    n, p = design.shape
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    s2 = float(resid @ resid) / (n - p) if n > p else float("nan")
    xtx = design.T @ design
    out = np.full(int(groups.max()) + 1, np.inf)
    for g in range(out.size):
        keep = groups != g
        if np.linalg.matrix_rank(design[keep]) < p:
            continue
        fewer, *_ = np.linalg.lstsq(design[keep], y[keep], rcond=None)
        delta = coef - fewer
        out[g] = float(delta @ xtx @ delta) / (p * s2) if s2 > 0 else float("nan")
    return out


def condition_number(design: np.ndarray) -> float:
    """Ratio of the largest to the smallest singular value (inf when rank deficient)."""
    sv = np.linalg.svd(design, compute_uv=False)
    return float(sv[0] / sv[-1]) if sv[-1] > 0 else float("inf")


def vif(design: np.ndarray, has_intercept: bool = True) -> np.ndarray:
    """Variance inflation factor of each non-intercept column (inf where perfectly collinear)."""
    columns = design[:, 1:] if has_intercept else design
    if columns.shape[1] < 2:
        return np.ones(columns.shape[1])
    centred = columns - columns.mean(axis=0)
    norms = np.linalg.norm(centred, axis=0)
    if np.any(norms == 0):
        return np.full(columns.shape[1], np.inf)
    corr = (centred / norms).T @ (centred / norms)
    try:
        return np.diag(np.linalg.inv(corr))
    except np.linalg.LinAlgError:
        return np.full(columns.shape[1], np.inf)


def plateau(y: np.ndarray, worst: str) -> tuple[int, float] | None:
    """(count, bound) when many rows pile up at the bad end of the range, apart from the rest.

    `worst` is "low" (accuracy, F1) or "high" (loss). Example: F1 near 0 for a third of the runs
    when under-trained models predict a single class, while the others reach 0.8.
    """
    low, high = float(y.min()), float(y.max())
    span = high - low
    if span <= 0:
        return None
    signed = (y - low) / span if worst == "low" else (high - y) / span
    piled = int(np.sum(signed <= PLATEAU_BAND))
    apart = int(np.sum(signed >= 0.5))
    enough = max(3.0, PLATEAU_SHARE * y.size)
    if piled < enough or apart < enough:
        return None
    bound = low + PLATEAU_BAND * span if worst == "low" else high - PLATEAU_BAND * span
    return piled, bound
