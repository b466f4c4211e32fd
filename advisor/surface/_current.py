"""The surfaces to predict with: the stored ones while they are current, else fitted here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from advisor.errors import FitError
from advisor.surface._fit import fit_surfaces
from advisor.surface._model import FittedSurface
from advisor.table import METRICS, TrialsTable


def current_surfaces(
    table: TrialsTable,
    stored: Mapping[str, FittedSurface] | None,
    degree: int = 2,
    metrics: Sequence[str] = METRICS,
) -> tuple[dict[str, FittedSurface], list[str]]:
    """Surfaces of `metrics` keyed by target (`f1`, `f1_rel`) and notes on what was refitted or
    skipped (`advisor report` and `advisor suggest` predict with them).

    `stored` is None for a table (nothing can be stored: fitting here is the normal case, so
    only lowered degrees and skipped surfaces are noted) and a study's stored surfaces else.

    A metric's stored surfaces are used when they were fitted on as many rows as the table now
    has for that metric (and a relative one exists when the table has a baseline); otherwise
    the metric is refitted with the stored surface's options, or at `degree` when none is
    stored, lowering the degree while there are too few rows for it.
    """
    surfaces: dict[str, FittedSurface] = {}
    notes: list[str] = []
    wanted = ("", "_rel") if table.baseline else ("",)
    for metric in metrics:
        column = table.rows.get(metric)
        count = 0 if column is None else int(column.notna().sum())
        if count == 0:
            notes.append(f"{metric}: no trial has a value, so no surface")
            continue
        current = [(stored or {}).get(metric + s) for s in wanted]
        if all(s is not None and _rows_fitted(s) == count for s in current):
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
        why = (
            f"stored surface fitted on {previous.stats.n} trials, now {count}: refitted here "
            "(run `advisor fit-surface` to store it)"
        )
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
