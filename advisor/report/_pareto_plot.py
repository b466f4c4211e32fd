"""Pareto-front figure: tried configurations, the observed front and the predicted front."""

from __future__ import annotations

import itertools

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from advisor.report._front import Fronts
from advisor.report._style import LINE_COLORS, config_label, metric_label, new_figure

MAX_ERRORBARS = 12
OBSERVED_FRONT = "#d62728"


def pareto_figure(fronts: Fronts) -> Figure:
    """One panel per pair of objectives (one panel for two objectives)."""
    pairs = list(itertools.combinations(range(len(fronts.objectives)), 2))
    fig = new_figure(10.5 if len(pairs) == 1 else 6.2 * len(pairs) + 2.6, 6.0)
    axes = np.atleast_1d(fig.subplots(1, len(pairs)))
    for ax, (i, j) in zip(axes, pairs, strict=True):
        x, y = fronts.objectives[i].name, fronts.objectives[j].name
        _panel(ax, fronts, x, y, connect=len(fronts.objectives) == 2)
    _front_key(axes[-1], fronts)
    names = ", ".join(o.name for o in fronts.objectives)
    n_front = len(fronts.observed)
    count = "a single configuration" if n_front == 1 else f"{n_front} configurations"
    title = (
        f"Pareto front for {names}: the observed front is {count} of {len(fronts.configs)} tried"
    )
    if fronts.predicted is not None:
        title += (
            f"\npredicted front: {len(fronts.predicted)} of {fronts.candidates} grid points "
            "over the tried ranges, by the surfaces' means"
        )
    fig.suptitle(title, fontsize=11)
    return fig


def _panel(ax: Axes, fronts: Fronts, x: str, y: str, connect: bool) -> None:
    ax.scatter(
        fronts.configs[x],
        fronts.configs[y],
        s=16,
        color="0.65",
        label="tried configurations (mean over seeds)",
    )
    if fronts.predicted is not None:
        _predicted(ax, fronts, x, y, connect)
    _observed(ax, fronts, x, y, connect)
    ax.set_xlabel(metric_label(x))
    ax.set_ylabel(metric_label(y))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")


def _observed(ax: Axes, fronts: Fronts, x: str, y: str, connect: bool) -> None:
    """Numbered diamonds (numbers as in the front's order), a key beside the panel."""
    line = fronts.observed.sort_values(x)
    if connect:
        ax.plot(line[x], line[y], color=OBSERVED_FRONT, linewidth=1)
    ax.plot([], [], "D", color=OBSERVED_FRONT, markersize=9, label="observed front")
    for number, row in enumerate(fronts.observed.to_dict("records"), start=1):
        ax.annotate(
            str(number),
            (row[x], row[y]),
            ha="center",
            va="center",
            fontsize=7,
            color="white",
            fontweight="bold",
            zorder=5,
            bbox={"boxstyle": "round,pad=0.3", "fc": OBSERVED_FRONT, "ec": "none"},
        )


def _front_key(ax: Axes, fronts: Fronts) -> None:
    key = ["observed front"]
    key += [f"{n}: {config_label(r)}" for n, r in enumerate(fronts.observed.to_dict("records"), 1)]
    ax.text(
        1.02,
        1.0,
        "\n".join(key),
        transform=ax.transAxes,
        va="top",
        ha="left",
        fontsize=8,
        color=OBSERVED_FRONT,
        family="monospace",
    )


def _predicted(ax: Axes, fronts: Fronts, x: str, y: str, connect: bool) -> None:
    assert fronts.predicted is not None
    front = fronts.predicted.sort_values(x).reset_index(drop=True)
    color = LINE_COLORS[0]
    ax.plot(
        front[x],
        front[y],
        linestyle="-" if connect else "none",
        marker=".",
        color=color,
        label="predicted front (surface means)",
        zorder=3,
    )
    pick = np.unique(np.round(np.linspace(0, len(front) - 1, min(len(front), MAX_ERRORBARS))))
    shown = front.iloc[pick.astype(int)]
    xerr = np.vstack([shown[x] - shown[f"{x}_lower"], shown[f"{x}_upper"] - shown[x]])
    yerr = np.vstack([shown[y] - shown[f"{y}_lower"], shown[f"{y}_upper"] - shown[y]])
    ax.errorbar(
        shown[x],
        shown[y],
        xerr=np.abs(xerr),
        yerr=np.abs(yerr),
        fmt="none",
        ecolor=color,
        alpha=0.5,
        capsize=2,
        label=f"{fronts.level:.0%} CI of predicted means",
    )
