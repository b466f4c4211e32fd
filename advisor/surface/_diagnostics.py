"""Diagnostics on plain arrays: replicate groups, lack of fit, predictive R², VIF, plateaus."""

from __future__ import annotations

import numpy as np
from scipy import stats

from advisor.surface._model import LackOfFit
from advisor.surface._terms import LEVEL_DECIMALS

VIF_LIMIT = 10.0
PLATEAU_SHARE = 0.2  # a floor or ceiling holding at least this share of rows is worth a note
PLATEAU_BAND = 0.05  # ... counting rows within this fraction of the range from the extreme


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


def cv_r2(design: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float | None:
    """Leave-one-configuration-out predictive R² (1 - PRESS / total sum of squares).

    Every replicate of a configuration is held out together, so the score says how well the
    surface predicts a configuration it has not seen. None when a fold is too small to fit.
    """
    n_params = design.shape[1]
    sst = float(np.sum((y - y.mean()) ** 2))
    if sst <= 0 or groups.max() < 1:
        return None
    press = 0.0
    for g in range(int(groups.max()) + 1):
        held = groups == g
        if int((~held).sum()) < n_params:
            return None
        coef, *_ = np.linalg.lstsq(design[~held], y[~held], rcond=None)
        press += float(np.sum((y[held] - design[held] @ coef) ** 2))
    return 1.0 - press / sst


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
