"""Seed-to-seed variability: the spread of each metric across seeds of the same configuration."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from advisor.report._style import config_label, metric_label, metric_name, new_figure
from advisor.table import PARAMS

MAX_CONFIGS = 60
SEED_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")


def replicated(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of the configurations that were run more than once (with different seeds)."""
    sizes = rows.groupby(list(PARAMS))[PARAMS[0]].transform("size")
    return rows[sizes > 1]


def seed_summary(rows: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Per metric: replicated configurations, pooled seed SD (within configurations), SD of
    the configuration means (between), and their ratio."""
    data = replicated(rows)
    records = []
    for metric in metrics:
        sub = data.dropna(subset=[metric])
        groups = sub.groupby(list(PARAMS))[metric]
        dof = int((groups.size() - 1).sum())
        if dof == 0:
            continue
        within = float(np.sqrt((groups.var(ddof=1) * (groups.size() - 1)).sum() / dof))
        between = float(rows.groupby(list(PARAMS))[metric].mean().std(ddof=1))
        records.append(
            {
                "metric": metric,
                "configs": int(groups.ngroups),
                "seed_sd": within,
                "config_sd": between,
                "ratio": within / between if between else np.nan,
            }
        )
    return pd.DataFrame.from_records(records)


def seed_figure(rows: pd.DataFrame, metrics: Sequence[str]) -> Figure | None:
    """One panel per metric, one row per replicated configuration: each seed's value as a dot
    and the range between them; configurations sorted by the first metric's mean.

    Returns:
        The figure, or None when no configuration has two runs.
    """
    data = replicated(rows)
    metrics = [m for m in metrics if m in data.columns and data[m].notna().any()]
    if data.empty or not metrics:
        return None
    order = data.groupby(list(PARAMS))[metrics[0]].mean().sort_values()
    note = ""
    if len(order) > MAX_CONFIGS:
        spread = data.groupby(list(PARAMS))[metrics[0]].agg(np.ptp).loc[order.index]
        order = order.loc[spread.nlargest(MAX_CONFIGS).index].sort_values()
        note = f" (the {MAX_CONFIGS} with the widest {metric_name(metrics[0])} spread)"
    labels = [config_label(dict(zip(PARAMS, key, strict=True))) for key in order.index]
    fig = new_figure(3.6 * len(metrics) + 2.2, 0.2 * len(order) + 1.6)
    axes = np.atleast_1d(fig.subplots(1, len(metrics), sharey=True))
    for i, (ax, metric) in enumerate(zip(axes, metrics, strict=True)):
        _panel(ax, data, metric, order.index, legend=i == 0)
    axes[0].set_yticks(np.arange(len(order)), labels, fontsize=7)
    summary = seed_summary(rows, metrics)
    sds = ", ".join(f"{metric_name(r.metric)} {r.seed_sd:.3g}" for r in summary.itertuples())
    fig.suptitle(
        f"Seed-to-seed variability of {len(order)} replicated configurations{note}, "
        f"sorted by mean {metric_name(metrics[0])}\npooled seed SD: {sds}",
        fontsize=10,
    )
    return fig


def _panel(ax: Axes, data: pd.DataFrame, metric: str, index: pd.Index, legend: bool) -> None:
    seeds = sorted(data["seed"].dropna().unique()) if "seed" in data.columns else []
    colors = {seed: SEED_COLORS[i % len(SEED_COLORS)] for i, seed in enumerate(seeds)}
    groups = dict(list(data.groupby(list(PARAMS))))
    for y, key in enumerate(index):
        group = groups[key].dropna(subset=[metric])
        if group.empty:
            continue
        ax.plot([group[metric].min(), group[metric].max()], [y, y], color="0.5", linewidth=1.5)
        dots = [colors.get(s, "0.3") for s in group["seed"]] if seeds else "0.3"
        ax.scatter(group[metric], np.full(len(group), y), s=14, c=dots, zorder=3)
    ax.set_xlabel(metric_label(metric))
    ax.set_title(metric_name(metric), fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    if legend and 0 < len(seeds) <= len(SEED_COLORS):
        for seed, color in colors.items():
            ax.scatter([], [], s=14, color=color, label=f"seed {seed:g}")
        ax.legend(fontsize=7, loc="lower right")
