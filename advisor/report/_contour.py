"""Contour plots of a fitted surface over each pair of parameters (the third held fixed)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from advisor.report._data import levels, line_values, middle_level
from advisor.report._style import (
    PARAM_SHORT,
    format_param,
    metric_label,
    metric_name,
    new_figure,
    param_axis,
)
from advisor.surface import FittedSurface
from advisor.table import DIRECTIONS, PARAMS

GRID_POINTS = 60
LEVELS = 14


def _slice(surface: FittedSurface, x: str, y: str, held: dict[str, float]) -> tuple:
    xs, ys = line_values(surface, x, GRID_POINTS), line_values(surface, y, GRID_POINTS)
    mx, my = np.meshgrid(xs, ys)
    frame = pd.DataFrame({x: mx.ravel(), y: my.ravel(), **held})[list(PARAMS)]
    return mx, my, surface.predict(frame)["mean"].to_numpy().reshape(mx.shape)


def _norm_and_cmap(target: str, values: np.ndarray) -> tuple[Normalize, str]:
    better_high = DIRECTIONS.get(target, "maximize") == "maximize"
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    if target.endswith("_rel") and low < 0.0 < high:
        return TwoSlopeNorm(0.0, low, high), "RdBu" if better_high else "RdBu_r"
    return Normalize(low, high), "viridis" if better_high else "viridis_r"


def contour_figure(surface: FittedSurface, rows: pd.DataFrame) -> Figure:
    """Filled contours of the surface's mean for each pair of parameters, the third held at
    its tried value nearest the centre; runs on that slice are dots, the slice's best a star.

    Relative surfaces use a diverging scale centred on the baseline (the 0 line is drawn);
    better is always the bright (absolute) or blue (relative) end.
    """
    target = surface.target
    data = rows.dropna(subset=[target])
    pairs = list(itertools.combinations(PARAMS, 2))
    slices = []
    for x, y in pairs:
        (third,) = [p for p in PARAMS if p not in (x, y)]
        held = {third: middle_level(data, surface, third)}
        slices.append((x, y, held, _slice(surface, x, y, held)))
    values = np.concatenate([z.ravel() for *_, (_, _, z) in slices])
    norm, cmap = _norm_and_cmap(target, values)
    steps = MaxNLocator(LEVELS).tick_values(float(np.nanmin(values)), float(np.nanmax(values)))
    fig = new_figure(13.5, 4.9)
    axes = fig.subplots(1, len(pairs))
    for ax, (x, y, held, (mx, my, z)) in zip(axes, slices, strict=True):
        filled = ax.contourf(mx, my, z, levels=steps, cmap=cmap, norm=norm)
        _decorate(ax, surface, data, x, y, held, (mx, my, z))
    bar = fig.colorbar(filled, ax=list(axes), shrink=0.9)
    bar.set_label(metric_label(target))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8)
    fig.suptitle(
        f"{metric_name(target)}: {_kind(surface, values)} over each pair of "
        f"hyperparameters (third held at the value shown; n={surface.stats.n})"
    )
    return fig


def _kind(surface: FittedSurface, values: np.ndarray) -> str:
    if surface.mode != "relative":
        return "fitted mean"
    if np.nanmin(values) > 0.0 or np.nanmax(values) < 0.0:
        side = "above" if np.nanmin(values) > 0.0 else "below"
        return f"difference to the baseline ({side} it everywhere shown)"
    return "difference to the baseline (black line: equal to it)"


def _decorate(
    ax: Axes,
    surface: FittedSurface,
    data: pd.DataFrame,
    x: str,
    y: str,
    held: dict[str, float],
    grid: tuple,
) -> None:
    mx, my, z = grid
    target = surface.target
    if target.endswith("_rel") and np.nanmin(z) < 0.0 < np.nanmax(z):
        zero = ax.contour(mx, my, z, levels=[0.0], colors="black", linewidths=1.2)
        ax.clabel(zero, fmt={0.0: "baseline"}, fontsize=8)
    ((param, value),) = held.items()
    on_slice = data[np.isclose(data[param], value)]
    ax.scatter(
        on_slice[x],
        on_slice[y],
        s=18,
        c="white",
        edgecolors="black",
        linewidths=0.8,
        label="configurations run on this slice",
        zorder=3,
        clip_on=False,
    )
    best = np.nanargmax(z) if DIRECTIONS.get(target) == "maximize" else np.nanargmin(z)
    ax.plot(
        mx.ravel()[best],
        my.ravel()[best],
        "*",
        color="gold",
        markeredgecolor="black",
        markersize=14,
        label="best fitted value on this slice",
        zorder=4,
        clip_on=False,
    )
    param_axis(ax, x, levels(data, x), axis="x")
    param_axis(ax, y, levels(data, y), axis="y")
    ax.set_title(f"at {PARAM_SHORT[param]} = {format_param(param, value)}", fontsize=10)
