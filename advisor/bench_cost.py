"""Cost and curves of a benchmark table, and scores against the share of its training cost.

PRODUCT.md, "Benchmark tables": a simulated trial is charged its row's `train_seconds`
(`wall_time_s` where that column is absent; the epochs when the table has no time column), a
pruned one its `train_seconds@K`. Curves are read from the `accuracy@K`, `f1@K`, `loss@K`,
`train_seconds@K` columns. This module reads those columns by name from the table's DataFrame
and scores searches against cost; it prints nothing and opens nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from advisor.table import METRICS

TIME_COLUMNS: tuple[str, ...] = ("train_seconds", "wall_time_s")
EPOCHS_UNIT = "epochs"
COST_FRACTIONS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.5)

Curve = list[dict[str, float]]


def cost_unit(rows: pd.DataFrame) -> str:
    """What prices a run: `train_seconds` (a row without one read from its `wall_time_s`),
    `wall_time_s` when the table has no train_seconds column, else `"epochs"` (no time column,
    or a row with neither time)."""
    seconds = _seconds(rows)
    if seconds is None or not (np.isfinite(seconds) & (seconds >= 0)).all():
        return EPOCHS_UNIT
    return next(c for c in TIME_COLUMNS if c in rows.columns)


def row_costs(rows: pd.DataFrame, unit: str) -> np.ndarray:
    """Each row's full training cost in `unit`."""
    if unit == EPOCHS_UNIT:
        return pd.to_numeric(rows["epochs"], errors="coerce").to_numpy(dtype=float)
    seconds = _seconds(rows)
    assert seconds is not None
    return seconds


def _seconds(rows: pd.DataFrame) -> np.ndarray | None:
    present = [
        pd.to_numeric(rows[c], errors="coerce").to_numpy(dtype=float)
        for c in TIME_COLUMNS
        if c in rows.columns
    ]
    if not present:
        return None
    seconds = present[0].copy()
    for fallback in present[1:]:
        seconds = np.where(np.isnan(seconds), fallback, seconds)
    return seconds


def row_curve(row: Mapping[str, Any], epochs: int) -> Curve | None:
    """The curve `[{"epoch": K, "accuracy": .., "f1": .., "loss": .., "train_seconds": ..}]` of
    a row from its `@K` columns (the metrics it has at every K), None without a full curve."""
    metrics = [m for m in (*METRICS, "train_seconds") if _finite(row.get(f"{m}@1"))]
    if not metrics or epochs < 1:
        return None
    curve = []
    for k in range(1, epochs + 1):
        point: dict[str, float] = {"epoch": k}
        for metric in metrics:
            value = row.get(f"{metric}@{k}")
            if value is None or not _finite(value):
                return None
            point[metric] = float(value)
        curve.append(point)
    return curve


def group_curves(group: pd.DataFrame, metrics: Sequence[str]) -> list[Curve | None]:
    """Per row of a configuration's replicates, its curve when it has every `metrics` at each
    epoch (else None)."""
    out: list[Curve | None] = []
    for record in group.to_dict("records"):
        curve = row_curve(record, int(round(float(record["epochs"]))))
        usable = curve is not None and all(m in curve[0] for m in metrics)
        out.append(curve if usable else None)
    return out


def pruned_cost(full: float, curve: Curve, epoch: int, unit: str) -> float:
    """What a run stopped after `epoch` of its curve costs: `train_seconds@K` when the cost is
    train seconds, the full cost times the share of train seconds spent (else of epochs run)
    for `wall_time_s`, and K itself when epochs are the cost."""
    if unit == EPOCHS_UNIT:
        return float(epoch)
    spent = curve[epoch - 1].get("train_seconds")
    if unit == "train_seconds" and spent is not None:
        return float(spent)
    total = curve[-1].get("train_seconds")
    if spent is not None and total:
        return full * float(spent) / float(total)
    return full * epoch / len(curve)


def hv_at_cost(ratios: np.ndarray, spent: np.ndarray, fractions: Sequence[float]) -> np.ndarray:
    """`(repeats, n_fractions)` hypervolume ratio once a share `fraction` of the table's cost is
    spent: the ratio after the last trial that fits in it (0 before the first), NaN where the
    search ended before spending that much.

    Args:
        ratios: `(repeats, budget)` hypervolume ratio after each trial.
        spent: `(repeats, budget)` cumulative cost after each trial, as a share of the table's.
    """
    out = np.full((ratios.shape[0], len(fractions)), np.nan)
    for r in range(ratios.shape[0]):
        for j, fraction in enumerate(fractions):
            if spent[r, -1] < fraction - 1e-12:
                continue
            fit = np.flatnonzero(spent[r] <= fraction + 1e-12)
            out[r, j] = ratios[r, fit[-1]] if fit.size else 0.0
    return out


def cost_to_reach(ratios: np.ndarray, spent: np.ndarray, target: float) -> np.ndarray:
    """`(repeats,)` share of the table's cost spent when the ratio first reaches `target`
    (inf where it is not reached within the budget)."""
    hit = ratios >= target - 1e-12
    first = hit.argmax(axis=1)
    reached = spent[np.arange(ratios.shape[0]), first]
    return np.where(hit.any(axis=1), reached, np.inf)


def cost_rows(
    ratios: Mapping[str, np.ndarray],
    spent: Mapping[str, np.ndarray],
    fractions: Sequence[float] = COST_FRACTIONS,
) -> list[dict[str, Any]]:
    """The `cost` rows of `bench --json`: mean and sd over repeats at each cost fraction (null
    where a repeat ended before spending that share)."""
    out = []
    for name, r in ratios.items():
        at = hv_at_cost(r, spent[name], fractions)
        for j, fraction in enumerate(fractions):
            column = at[:, j]
            known = bool(np.isfinite(column).all())
            sd = float(column.std(ddof=1)) if known and column.size > 1 else 0.0
            out.append(
                {
                    "sampler": name,
                    "cost_fraction": fraction,
                    "hv_ratio_mean": float(column.mean()) if known else None,
                    "hv_ratio_sd": sd if known else None,
                }
            )
    return out


def cost_to_target_rows(
    ratios: Mapping[str, np.ndarray], spent: Mapping[str, np.ndarray], targets: Sequence[float]
) -> list[dict[str, Any]]:
    """The `cost_to_target` rows: median cost share to reach each target (null if not reached
    within the budget in at least half the repeats)."""
    out = []
    for target in targets:
        for name, r in ratios.items():
            median = float(np.median(cost_to_reach(r, spent[name], target)))
            out.append(
                {
                    "sampler": name,
                    "target": target,
                    "cost_fraction_median": median if math.isfinite(median) else None,
                }
            )
    return out


def _finite(value: object) -> bool:
    try:
        return value is not None and math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
