"""Main-effect plots: each parameter's fitted effect on one metric, with its confidence band."""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from advisor.report._data import averaged_prediction, levels, line_values
from advisor.report._style import (
    LINE_COLORS,
    OBSERVED_COLOR,
    metric_label,
    metric_name,
    new_figure,
    param_axis,
)
from advisor.surface import FittedSurface
from advisor.table import PARAMS


def main_effects_figure(
    surface: FittedSurface, rows: pd.DataFrame, baseline: float | None = None
) -> Figure:
    """One panel per parameter: the surface's mean averaged over the other settings tried
    (partial dependence) with its confidence band, the runs, and their mean per level.

    Args:
        surface: a fitted surface (absolute or relative).
        rows: the trials it was fitted on (parameters and the surface's target column).
        baseline: the baseline's value of the target, drawn as a dashed line when given.
    """
    target = surface.target
    data = rows.dropna(subset=[target])
    fig = new_figure(12.0, 4.0)
    axes = fig.subplots(1, len(PARAMS), sharey=True)
    for ax, param in zip(axes, PARAMS, strict=True):
        _panel(ax, surface, data, param, baseline)
    axes[0].set_ylabel(metric_label(target))
    axes[0].legend(loc="best", fontsize=8)
    level = f"{1 - surface.alpha:.0%}"
    fig.suptitle(
        f"{metric_name(target)}: main effect of each hyperparameter "
        f"(fitted mean over the other settings tried, {level} CI; n={surface.stats.n})"
    )
    return fig


def _panel(
    ax: Axes, surface: FittedSurface, data: pd.DataFrame, param: str, baseline: float | None
) -> None:
    target = surface.target
    grid = pd.DataFrame({param: line_values(surface, param)})
    fitted = averaged_prediction(surface, grid, data)
    ax.fill_between(
        grid[param],
        fitted["lower"],
        fitted["upper"],
        color=LINE_COLORS[0],
        alpha=0.2,
        linewidth=0,
        label="confidence band",
    )
    ax.plot(grid[param], fitted["mean"], color=LINE_COLORS[0], label="fitted surface")
    ax.scatter(data[param], data[target], s=10, color="0.6", alpha=0.6, label="runs")
    per_level = data.groupby(param)[target].mean()
    ax.plot(
        per_level.index,
        per_level.to_numpy(),
        "o",
        color=OBSERVED_COLOR,
        markersize=5,
        label="mean of runs at this value",
    )
    if baseline is not None:
        ax.axhline(baseline, color="0.3", linestyle="--", linewidth=1, label="baseline")
    param_axis(ax, param, levels(data, param))
    ax.grid(True, alpha=0.3)
