"""The surfaces to predict with: the stored ones while they are current, else fitted here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from advisor.errors import FitError
from advisor.surface._fit import fit_surfaces
from advisor.surface._model import FittedSurface
from advisor.table import ALL_METRICS, METRICS, PARAMS, TrialsTable

# The columns a fit depends on: a change in any of them (a new trial, a changed metric, a
# new baseline) makes stored surfaces stale; a new timing or note column does not.
_FITTED_COLUMNS = (*PARAMS, "seed", *ALL_METRICS, "collapsed")


def rows_fingerprint(table: TrialsTable) -> str:
    """A short hash of the rows and baseline a fit depends on, independent of row order."""
    columns = [c for c in _FITTED_COLUMNS if c in table.rows.columns]
    rows = sorted(
        json.dumps([_plain(v) for v in row], default=str)
        for row in table.rows[columns].itertuples(index=False)
    )
    baseline = json.dumps(
        {k: _plain(v) for k, v in sorted((table.baseline or {}).items())}, default=str
    )
    digest = hashlib.sha256("\n".join([",".join(columns), baseline, *rows]).encode())
    return digest.hexdigest()[:16]


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return round(float(value), 10)
    return str(value)


def current_surfaces(
    table: TrialsTable,
    stored: Mapping[str, FittedSurface] | None,
    degree: int = 2,
    metrics: Sequence[str] = METRICS,
    fingerprint: str | None = None,
) -> tuple[dict[str, FittedSurface], list[str]]:
    """Surfaces of `metrics` keyed by target (`f1`, `f1_rel`) and notes on what was refitted or
    skipped (`advisor report` and `advisor suggest` predict with them).

    `stored` is None for a table (nothing can be stored: fitting here is the normal case, so
    only lowered degrees and skipped surfaces are noted) and a study's stored surfaces else.

    A metric's stored surfaces are used when `fingerprint` (of the rows they were fitted on)
    equals the table's `rows_fingerprint`, or, for a fit stored without one, when they were
    fitted on as many rows as the table now has for that metric (and a relative one exists when
    the table has a baseline); otherwise
    the metric is refitted with the stored surface's options, or at `degree` when none is
    stored, lowering the degree while there are too few rows for it.
    """
    surfaces: dict[str, FittedSurface] = {}
    notes: list[str] = []
    wanted = ("", "_rel") if table.baseline else ("",)
    unchanged = fingerprint is not None and fingerprint == rows_fingerprint(table)
    for metric in metrics:
        column = table.rows.get(metric)
        count = 0 if column is None else int(column.notna().sum())
        if count == 0:
            notes.append(f"{metric}: no trial has a value, so no surface")
            continue
        current = [(stored or {}).get(metric + s) for s in wanted]
        same_rows = unchanged or (
            fingerprint is None and all(s is not None and _rows_fitted(s) == count for s in current)
        )
        if same_rows and all(s is not None for s in current):
            surfaces.update({s.target: s for s in current if s is not None})
            continue
        previous = next((s for s in current if s is not None), None)
        fitted, note = _refit(table, metric, previous, degree, count, stored is not None)
        surfaces.update(fitted)
        notes.extend([note] if note else [])
    return surfaces, notes


def _refit(
    table: TrialsTable,
    metric: str,
    previous: FittedSurface | None,
    degree: int,
    count: int,
    storable: bool,
) -> tuple[dict[str, FittedSurface], str]:
    options: dict[str, Any] = {"degree": degree}
    why = "no surface stored: fitted here (`advisor fit-surface` stores them)"
    if previous is not None:
        options = {
            "degree": previous.degree,
            "robust": previous.cov_type == "HC3",  # clustered errors come from replicates
            "select": previous.select,
            "coding": previous.coding,
            "alpha": previous.alpha,
        }
        before = _rows_fitted(previous)
        changed = (
            f"fitted on {before} trials, now {count}"
            if before != count
            else (f"fitted on {count} trials that have changed since")
        )
        why = f"stored surface {changed}: refitted here (run `advisor fit-surface` to store it)"
    mode = "both" if table.baseline else "absolute"
    error: FitError | None = None
    for d in range(int(options["degree"]), 0, -1):
        try:
            fits = fit_surfaces(table, metric, mode, **{**options, "degree": d})
        except FitError as exc:
            error = exc
            continue
        lowered = (
            f" at degree {d} (too few trials for degree {options['degree']})"
            if d != options["degree"]
            else ""
        )
        skipped = "".join(f"; {s.mode} surface skipped: {s.reason}" for s in fits.skipped)
        if not (storable or lowered or skipped):
            return fits.by_target(), ""
        why = why if storable else f"fitted at degree {d}"
        return fits.by_target(), f"{metric}: {why}{lowered}{skipped}"
    return {}, f"{metric}: no surface could be fitted ({error})"


def _rows_fitted(surface: FittedSurface) -> int:
    """Rows a surface was fitted on, collapsed runs (modelled apart) included."""
    return surface.stats.n + (surface.collapse.n_collapsed if surface.collapse else 0)
