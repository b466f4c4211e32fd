"""Frames the figures need: configuration means, parameter grids, averaged surface predictions.

Pure: DataFrames and fitted surfaces in, DataFrames out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from advisor.surface import FittedSurface
from advisor.table import PARAMS

LINE_POINTS = 60


def config_means(rows: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """One row per configuration: the mean of each column over its seeds, and `n` (rows)."""
    present = [c for c in columns if c in rows.columns]
    grouped = rows.groupby(list(PARAMS), as_index=False, sort=True)
    means = grouped[present].mean()
    means["n"] = grouped.size()["size"].to_numpy()
    return means


def levels(rows: pd.DataFrame, param: str) -> np.ndarray:
    """Distinct values of a parameter that were tried, sorted."""
    return np.unique(rows[param].to_numpy(dtype=float))


def factor_of(surface: FittedSurface, param: str):  # noqa: ANN201 (Factor; avoids an import)
    """The surface's factor for a parameter (its transform and fitted range)."""
    return next(f for f in surface.factors if f.param == param)


def line_values(surface: FittedSurface, param: str, points: int = LINE_POINTS) -> np.ndarray:
    """Evenly spaced values across the fitted range, on the factor's (log) scale."""
    factor = factor_of(surface, param)
    return np.array([factor.to_param(t) for t in np.linspace(factor.low, factor.high, points)])


def middle_level(rows: pd.DataFrame, surface: FittedSurface, param: str) -> float:
    """The tried value nearest the centre of the fitted range (on the factor's scale)."""
    factor = factor_of(surface, param)
    values = levels(rows, param)
    centre = (factor.low + factor.high) / 2.0
    return float(values[np.argmin(np.abs(factor.transformed(values) - centre))])


def averaged_prediction(
    surface: FittedSurface, grid: pd.DataFrame, over: pd.DataFrame
) -> pd.DataFrame:
    """Mean prediction at each grid row, averaged over the configurations in `over`.

    The grid fixes some parameters; the others take each of their combinations in `over` in
    turn (partial dependence). The average is linear in the coefficients, so its confidence
    interval is exact: `mean ± t * sqrt(d' C d)` with `d` the averaged design row.

    Returns:
        The grid's columns plus mean, lower, upper (NaN bounds without residual dof).
    """
    fixed = list(grid.columns)
    others = over[[p for p in PARAMS if p not in fixed]].drop_duplicates().reset_index(drop=True)
    combined = grid.reset_index(drop=True).merge(others, how="cross")
    design = surface.design(combined[list(PARAMS)])
    design = design.reshape(len(grid), max(len(others), 1), -1).mean(axis=1)
    mean = design @ surface.coef
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", design, surface.cov, design), 0.0))
    df = surface.t_df  # the fit's own t degrees of freedom (configurations - 1 when clustered)
    crit = float(stats.t.ppf(1.0 - surface.alpha / 2.0, df)) if df > 0 else float("nan")
    out = grid.reset_index(drop=True).copy()
    out["mean"], out["lower"], out["upper"] = mean, mean - crit * se, mean + crit * se
    return out


def candidate_grid(rows: pd.DataFrame, lr_points: int = 25) -> pd.DataFrame:
    """A dense grid over the tried ranges: log-spaced learning rates, powers of two and tried
    batch sizes, whole and tried epochs."""
    lr = levels(rows, "learning_rate")
    batch = levels(rows, "batch_size")
    epochs = levels(rows, "epochs")
    lr_grid = np.unique(np.concatenate([np.geomspace(lr.min(), lr.max(), lr_points), lr]))
    powers = 2.0 ** np.arange(np.ceil(np.log2(batch.min())), np.floor(np.log2(batch.max())) + 1)
    batch_grid = np.unique(np.concatenate([powers, batch]))
    whole = np.arange(np.ceil(epochs.min()), np.floor(epochs.max()) + 1)
    epoch_grid = np.unique(np.concatenate([whole, epochs]))
    mesh = np.meshgrid(lr_grid, batch_grid, epoch_grid, indexing="ij")
    return pd.DataFrame({p: m.ravel() for p, m in zip(PARAMS, mesh, strict=True)})
