"""Interaction plot of the strongest two-way interaction of a surface."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from advisor.report._data import averaged_prediction, levels, line_values
from advisor.report._style import (
    LINE_COLORS,
    PARAM_SHORT,
    format_param,
    metric_label,
    metric_name,
    new_figure,
    param_axis,
)
from advisor.surface import FittedSurface
from advisor.table import PARAMS

MAX_LINES = 4
FACTOR_WORDS = {"learning_rate": "learning rate", "batch_size": "batch size", "epochs": "epochs"}


def strongest_pair(surface: FittedSurface) -> tuple[str, str, float] | None:
    """The two parameters whose product term has the smallest p-value, with that p-value;
    None when the surface has no two-way interaction term."""
    by_name = {t.term: t.p for t in surface.term_stats}
    pairs = []
    for term in surface.terms:
        if term.degree == 2 and max(term.powers) == 1:
            p = by_name[term.name(surface.factors)]
            params = [f.param for f, k in zip(surface.factors, term.powers, strict=True) if k]
            pairs.append((params[0], params[1], float(p)))
    if not pairs:
        return None
    return min(pairs, key=lambda pair: pair[2] if np.isfinite(pair[2]) else np.inf)


def _line_levels(values: np.ndarray) -> np.ndarray:
    if values.size <= MAX_LINES:
        return values
    return values[np.unique(np.round(np.linspace(0, values.size - 1, 3)).astype(int))]


def interaction_figure(surface: FittedSurface, rows: pd.DataFrame) -> Figure | None:
    """The metric against one parameter of the strongest pair, one line per tried value of the
    other (fitted means averaged over the third parameter, with bands), plus cell means of runs.

    Returns:
        The figure, or None when the surface has no interaction term.
    """
    pair = strongest_pair(surface)
    if pair is None:
        return None
    target = surface.target
    data = rows.dropna(subset=[target])
    x_param, line_param = sorted(pair[:2], key=lambda p: -levels(data, p).size)
    fig = new_figure(7.5, 4.8)
    ax = fig.subplots()
    xs = line_values(surface, x_param)
    for color, value in zip(LINE_COLORS, _line_levels(levels(data, line_param)), strict=False):
        grid = pd.DataFrame({x_param: xs, line_param: value})
        fitted = averaged_prediction(surface, grid, data)
        label = f"{PARAM_SHORT[line_param]} {format_param(line_param, value)}"
        ax.fill_between(xs, fitted["lower"], fitted["upper"], color=color, alpha=0.15, lw=0)
        ax.plot(xs, fitted["mean"], color=color, label=f"{label} (fitted)")
        cell = data[data[line_param] == value].groupby(x_param)[target].mean()
        ax.plot(
            cell.index,
            cell.to_numpy(),
            "o",
            color=color,
            markersize=5,
            label=f"{label} (mean of runs)",
        )
    param_axis(ax, x_param, levels(data, x_param))
    ax.set_ylabel(metric_label(target))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=2, loc="best")
    third = [p for p in PARAMS if p not in pair[:2]][0]
    p_text = "p<0.001" if pair[2] < 0.001 else f"p={pair[2]:.3f}"
    ax.set_title(
        f"{metric_name(target)}: {FACTOR_WORDS[x_param]} × {FACTOR_WORDS[line_param]} "
        f"(strongest interaction, {p_text})\nlines: fitted mean averaged over the "
        f"{FACTOR_WORDS[third]} values tried, {1 - surface.alpha:.0%} CI",
        fontsize=10,
    )
    return fig
