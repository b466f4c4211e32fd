"""Names shared by every module, and the benchmark-table format (CSV <-> DataFrame).

A *trials table* is a DataFrame with one row per finished fine-tune: the hyperparameters
`learning_rate`, `batch_size`, `epochs`, optionally `seed`, and the metrics `accuracy`, `f1`,
`loss` (plus `*_rel` where a baseline is known). The baseline is kept apart as a dict.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from advisor.errors import DataError

PARAMS: tuple[str, ...] = ("learning_rate", "batch_size", "epochs")
METRICS: tuple[str, ...] = ("accuracy", "f1", "loss")
RELATIVE_METRICS: tuple[str, ...] = tuple(f"{m}_rel" for m in METRICS)
ALL_METRICS: tuple[str, ...] = METRICS + RELATIVE_METRICS
DIRECTIONS: dict[str, str] = {
    "accuracy": "maximize",
    "f1": "maximize",
    "loss": "minimize",
    "accuracy_rel": "maximize",
    "f1_rel": "maximize",
    "loss_rel": "minimize",
}
TABLE_COLUMNS: tuple[str, ...] = ("learning_rate", "batch_size", "epochs", "seed", *METRICS)


@dataclass(frozen=True)
class TrialsTable:
    """Finished fine-tunes as rows, plus the baseline's metrics when one is known."""

    rows: pd.DataFrame
    baseline: dict[str, float] | None = None
    # the baseline's configuration when known (a config baseline, a baseline row stating it)
    baseline_params: dict[str, float] | None = None
    # per-seed baseline metrics (a config baseline trained once per grid seed): seed -> metrics
    baseline_runs: dict[int, dict[str, float]] | None = None


def relative_metrics(metrics: dict[str, float], baseline: dict[str, float]) -> dict[str, float]:
    """`metric - baseline_metric` for each of accuracy, f1 and loss present in both."""
    return {
        f"{m}_rel": metrics[m] - baseline[m]
        for m in METRICS
        if m in metrics and m in baseline and metrics[m] is not None and baseline[m] is not None
    }


def read_table(path: str | Path) -> TrialsTable:
    """Read a benchmark table (PRODUCT.md format) from CSV.

    Raises:
        DataError: the file is missing, or lacks a required column, or has non-numeric values.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"table {str(path)!r} does not exist; pass a CSV file with columns "
            f"{','.join(PARAMS + METRICS)}"
        )
    try:
        frame = pd.read_csv(path)
        with path.open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"table {str(path)!r} is not a readable CSV: {exc}") from exc
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:  # pandas would rename the second one `f1.1` and it would be ignored
        raise DataError(
            f"table {str(path)!r} names column(s) {', '.join(repeated)} more than once; "
            "keep one of each"
        )
    return table_from_frame(frame, source=str(path))


def table_from_frame(frame: pd.DataFrame, source: str = "table") -> TrialsTable:
    """Validate a DataFrame in the table format and split off the baseline row."""
    missing = [c for c in PARAMS + METRICS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source} lacks column(s) {', '.join(missing)}; a table needs "
            f"{','.join(PARAMS + METRICS)} (and optionally seed, role)"
        )
    baseline: dict[str, float] | None = None
    baseline_params: dict[str, float] | None = None
    if "role" in frame.columns:
        is_base = frame["role"].astype(str).str.strip().str.lower() == "baseline"
        base_rows = frame[is_base]
        if len(base_rows) > 1:
            raise DataError(f"{source} has {len(base_rows)} rows with role=baseline; keep one")
        if len(base_rows) == 1:
            row = base_rows.iloc[0]
            baseline = {m: float(row[m]) for m in METRICS if not _is_missing(row[m])}
            stated = {p: row[p] for p in PARAMS}
            if not any(_is_missing(v) for v in stated.values()):
                baseline_params = {p: float(v) for p, v in stated.items()}
        frame = frame[~is_base]
    keep = [c for c in ("learning_rate", "batch_size", "epochs", "seed") if c in frame.columns]
    keep += [c for c in ALL_METRICS if c in frame.columns]
    rows = frame[keep].copy()
    if "collapsed" in frame.columns:  # a run that predicted one class (kept apart: not numeric)
        rows["collapsed"] = frame["collapsed"].map(_as_bool)
    for column in keep:
        try:
            rows[column] = pd.to_numeric(rows[column])
        except (ValueError, TypeError) as exc:
            raise DataError(f"{source}: column {column!r} has non-numeric values ({exc})") from exc
    if rows[list(PARAMS)].isna().any().any():
        raise DataError(f"{source}: some rows lack learning_rate, batch_size or epochs")
    check_param_values(rows, source)
    if baseline is not None:
        for m in METRICS:
            if m in baseline:
                rows[f"{m}_rel"] = rows[m] - baseline[m]
    return TrialsTable(
        rows=rows.reset_index(drop=True), baseline=baseline, baseline_params=baseline_params
    )


def check_param_values(rows: pd.DataFrame, source: str = "table") -> None:
    """The one check of hyperparameter values every command applies to a table (fit-surface,
    bench, report): learning_rate a finite number > 0, batch_size a whole number >= 1,
    epochs a finite number > 0.

    Raises:
        DataError: naming the column, the rule and the first offending lines of the file.
    """
    rules = (
        ("learning_rate", "a finite number > 0", lambda v: np.isfinite(v) & (v > 0)),
        (
            "batch_size",
            "a whole number >= 1",
            lambda v: np.isfinite(v) & (v >= 1) & (v == np.round(v)),
        ),
        ("epochs", "a finite number > 0", lambda v: np.isfinite(v) & (v > 0)),
    )
    for column, rule, valid in rules:
        values = rows[column].to_numpy(dtype=float)
        bad = np.flatnonzero(~valid(values))
        if bad.size:
            # the frame's index is the data row of the file: line 1 is the header
            shown = ", ".join(f"line {int(rows.index[i]) + 2} ({values[i]:g})" for i in bad[:3])
            raise DataError(f"{source}: {column} must be {rule}; {shown} are not")


def _as_bool(value: object) -> bool | None:
    if _is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def write_table(table: TrialsTable, path: str | Path, extra: pd.DataFrame | None = None) -> None:
    """Write rows (and the baseline as a `role = baseline` row) in the table format."""
    rows = table.rows.copy()
    rows.insert(0, "role", "trial")
    if extra is not None:
        for column in extra.columns:
            rows[column] = extra[column].to_numpy()
    if table.baseline:
        base = {"role": "baseline", **(table.baseline_params or {}), **table.baseline}
        rows = pd.concat([pd.DataFrame([base]), rows], ignore_index=True)
    for column in ("batch_size", "epochs", "seed"):
        if column in rows.columns and _whole_numbers(rows[column]):
            rows[column] = rows[column].astype("Int64")  # "16", not "16.0", beside empty cells
    first = [c for c in ("role", *PARAMS, "seed", *ALL_METRICS) if c in rows.columns]
    rows = rows[first + [c for c in rows.columns if c not in first]]
    rows.to_csv(path, index=False)


def _whole_numbers(column: pd.Series) -> bool:
    values = pd.to_numeric(column, errors="coerce").dropna()
    return bool((values == values.round()).all())
