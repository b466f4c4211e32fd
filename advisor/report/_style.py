"""Shared look of the report's figures: labels with units, parameter axes, colours, PNG output.

Figures are built as `matplotlib.figure.Figure` objects (no pyplot, no global state); saving a
PNG goes through the Agg renderer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from advisor.table import DIRECTIONS

DPI = 110
PARAM_LABELS: dict[str, str] = {
    "learning_rate": "learning rate (log scale)",
    "batch_size": "batch size (examples per step, log scale)",
    "epochs": "epochs (passes over the training data)",
}
PARAM_SHORT: dict[str, str] = {"learning_rate": "lr", "batch_size": "batch", "epochs": "epochs"}
METRIC_LABELS: dict[str, str] = {
    "accuracy": "accuracy (fraction correct)",
    "f1": "F1",
    "loss": "eval loss (cross-entropy)",
    "accuracy_rel": "accuracy − baseline",
    "f1_rel": "F1 − baseline",
    "loss_rel": "eval loss − baseline",
}
METRIC_NAMES: dict[str, str] = {
    "accuracy": "accuracy",
    "f1": "F1",
    "loss": "eval loss",
    "accuracy_rel": "accuracy − baseline",
    "f1_rel": "F1 − baseline",
    "loss_rel": "eval loss − baseline",
}
LINE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
OBSERVED_COLOR = "#333333"
MAX_LEVEL_TICKS = 8


def new_figure(width: float, height: float) -> Figure:
    """A figure with constrained layout (titles and labels never overlap)."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def metric_label(target: str) -> str:
    """Axis label of a metric with its unit and which way is better."""
    better = "higher" if DIRECTIONS.get(target, "maximize") == "maximize" else "lower"
    return f"{METRIC_LABELS.get(target, target)} — {better} is better"


def metric_name(target: str) -> str:
    """Short name of a metric for titles (`F1`, `eval loss − baseline`)."""
    return METRIC_NAMES.get(target, target)


def format_param(param: str, value: float) -> str:
    """A parameter value as people write it: `2e-05`, `16`, `2.5`."""
    if param == "learning_rate":
        return f"{value:.2g}"
    return f"{value:.3g}"


def config_label(row: Mapping[str, Any] | pd.Series) -> str:
    """`lr 2e-05 · batch 16 · 3 ep` for a mapping or row with the three parameters."""
    lr, batch, epochs = row["learning_rate"], row["batch_size"], row["epochs"]
    return (
        f"lr {format_param('learning_rate', lr)} · batch {format_param('batch_size', batch)}"
        f" · {format_param('epochs', epochs)} ep"
    )


def param_axis(ax: Axes, param: str, levels: Sequence[float] | np.ndarray, axis: str = "x") -> None:
    """Label an axis for a parameter: log scales for learning rate and batch size, ticks at
    the levels that were tried (when there are few of them)."""
    set_scale = ax.set_xscale if axis == "x" else ax.set_yscale
    set_label = ax.set_xlabel if axis == "x" else ax.set_ylabel
    target = ax.xaxis if axis == "x" else ax.yaxis
    if param == "learning_rate":
        set_scale("log")
    elif param == "batch_size":
        set_scale("log", base=2)
    set_label(PARAM_LABELS[param])
    values = np.unique(np.asarray(levels, dtype=float))
    if 0 < values.size <= MAX_LEVEL_TICKS:
        target.set_major_locator(FixedLocator(values.tolist()))
        target.set_minor_locator(NullLocator())
        target.set_major_formatter(FuncFormatter(lambda v, _pos: format_param(param, v)))
    elif param == "batch_size":
        target.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write the figure as a PNG and return its path."""
    path = Path(path)
    fig.savefig(path, format="png", dpi=DPI)
    return path
