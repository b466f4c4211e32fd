"""Names shared by every module, and the benchmark-table format (CSV <-> DataFrame).

A *trials table* is a DataFrame with one row per finished fine-tune: the hyperparameters
`learning_rate`, `batch_size`, `epochs`, optionally `seed`, and the metrics `accuracy`, `f1`,
`loss` (plus `*_rel` where a baseline is known), and optionally the cost `train_seconds` (else
`wall_time_s`) and learning-curve columns `accuracy@K`, `f1@K`, `loss@K`, `train_seconds@K` (the
values after epoch K). The baseline is kept apart as a dict.
"""

from __future__ import annotations

import csv
import math
import re
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
# cost columns: the run's training time (evaluation excluded), else its whole wall time
COST_COLUMNS: tuple[str, ...] = ("train_seconds", "wall_time_s")
# learning-curve columns `NAME@K`: the value after epoch K (train seconds cumulative)
CURVE_NAMES: tuple[str, ...] = (*METRICS, "train_seconds")
_CURVE_COLUMN = re.compile(rf"^(?P<name>{'|'.join(CURVE_NAMES)})@(?P<k>.*)$")


@dataclass(frozen=True)
class TrialsTable:
    """Finished fine-tunes as rows, plus the baseline's metrics when one is known."""

    rows: pd.DataFrame
    baseline: dict[str, float] | None = None
    # the baseline's configuration when known (a config baseline, a baseline row stating it)
    baseline_params: dict[str, float] | None = None
    # per-seed baseline metrics (a config baseline trained once per grid seed): seed -> metrics
    baseline_runs: dict[int, dict[str, float]] | None = None


def train_size(rows: pd.DataFrame) -> int | None:
    """Training examples per epoch of the table's runs: `train_samples_per_second x
    train_seconds / epochs` (what the fine-tune measured; `advisor export` writes both), the
    median over rows. None when the table lacks those columns (older tables have only
    `wall_time_s`, which counts evaluation too)."""
    needed = ("train_samples_per_second", "train_seconds", "epochs")
    if any(c not in rows.columns for c in needed):
        return None
    sizes = (rows["train_samples_per_second"] * rows["train_seconds"] / rows["epochs"]).dropna()
    sizes = sizes[sizes > 0]
    return int(round(float(sizes.median()))) if len(sizes) else None


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
    curve = curve_column_epochs(list(frame.columns), source)
    # the throughput gives the train size (`train_size`)
    timing = (*COST_COLUMNS, "train_samples_per_second")
    keep += [c for c in timing if c in frame.columns] + list(curve)
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
    check_cost_and_curve_values(rows, curve, source)
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


def curve_columns(curve: list[dict[str, float]]) -> dict[str, float]:
    """A learning curve (the trial user attribute `curve`) as table columns: `accuracy@K`,
    `f1@K`, `loss@K`, `train_seconds@K` for each point at a whole epoch K >= 1.

    Points at a fractional epoch (`[training] eval_every` = a step count) have no column and
    are left out; where two points share an epoch the later one counts.
    """
    columns: dict[str, float] = {}
    for point in curve:
        epoch = float(point.get("epoch", math.nan))
        if not (math.isfinite(epoch) and epoch >= 1 and epoch.is_integer()):
            continue
        for name in CURVE_NAMES:
            if point.get(name) is not None:
                columns[f"{name}@{int(epoch)}"] = float(point[name])
    return columns


def curve_column_epochs(columns: list[str], source: str = "table") -> dict[str, int]:
    """The curve columns among `columns`, each with its epoch K.

    A column `NAME@...` with NAME one of CURVE_NAMES is a curve column; any other column
    (`top5@1`, say) is the table's own business and ignored like every unnamed column.

    Raises:
        DataError: a curve column whose K is not a whole number >= 1 (it would otherwise be
            ignored without a word).
    """
    found: dict[str, int] = {}
    for column in columns:
        match = _CURVE_COLUMN.match(str(column))
        if match is None:
            continue
        name, k = match["name"], match["k"]
        if not (k.isdigit() and int(k) >= 1 and k == str(int(k))):
            raise DataError(
                f"{source}: column {column!r}: K in {name}@K must be a whole number >= 1 "
                f"(the epoch after which the value was measured), got {k!r}"
            )
        found[column] = int(k)
    return found


def check_cost_and_curve_values(
    rows: pd.DataFrame, curve: dict[str, int], source: str = "table"
) -> None:
    """Time columns are finite and >= 0, a run has no curve value past its own epochs, and its train
    seconds do not decrease along the curve (they are cumulative). Empty cells are allowed.

    Raises:
        DataError: naming the column and the first offending lines of the file.
    """
    times = [c for c in COST_COLUMNS if c in rows.columns]
    times += [c for c in curve if c.startswith("train_seconds@")]
    for column in times:
        values = rows[column]
        bad = values.notna() & ~(np.isfinite(values) & (values >= 0))
        _reject(rows, column, bad, "must be a finite number >= 0", source)
    for column, k in curve.items():
        late = rows[column].notna() & (rows["epochs"] < k)
        _reject(rows, column, late, f"is a value after epoch {k}, past the run's epochs", source)
    cumulative = sorted((k, c) for c, k in curve.items() if c.startswith("train_seconds@"))
    for (_, before), (_, after) in zip(cumulative, cumulative[1:], strict=False):
        _reject(rows, after, rows[after] < rows[before], f"is below {before}", source)


def _reject(rows: pd.DataFrame, column: str, bad: pd.Series, rule: str, source: str) -> None:
    where = np.flatnonzero(bad.fillna(False).to_numpy(dtype=bool))
    if where.size:
        values = rows[column].to_numpy(dtype=float)
        shown = ", ".join(f"line {int(rows.index[i]) + 2} ({values[i]:g})" for i in where[:3])
        raise DataError(f"{source}: {column} {rule}; {shown}")


def train_seconds_column(rows: pd.DataFrame) -> pd.Series | None:
    """Each row's training time: `train_seconds`, else (column absent or cell empty) its
    `wall_time_s`; None when the table has neither (a cost model then falls back on epochs)."""
    present = [rows[c] for c in COST_COLUMNS if c in rows.columns]
    if not present:
        return None
    seconds = present[0]
    for fallback in present[1:]:
        seconds = seconds.fillna(fallback)
    return seconds.rename("train_seconds")


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
    first = [c for c in ("role", *PARAMS, "seed", *ALL_METRICS, *COST_COLUMNS) if c in rows.columns]
    curve = sorted(
        curve_column_epochs(list(rows.columns)).items(),
        key=lambda item: (item[1], CURVE_NAMES.index(item[0].split("@")[0])),
    )
    last = [c for c, _ in curve]  # after the other columns, epoch by epoch
    rows = rows[first + [c for c in rows.columns if c not in first + last] + last]
    rows.to_csv(path, index=False)


def _whole_numbers(column: pd.Series) -> bool:
    values = pd.to_numeric(column, errors="coerce").dropna()
    return bool((values == values.round()).all())
