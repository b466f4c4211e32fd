"""Fit absolute and relative surfaces for several metrics of a trials table."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from advisor.errors import FitError
from advisor.surface._estimator import ResponseSurface, SurfaceWarning
from advisor.surface._model import FittedSurface
from advisor.surface._options import (
    DEFAULT_ALPHA,
    Coding,
    Mode,
    Selection,
    check_alpha,
    check_degree,
    parse_choice,
)
from advisor.surface._serialize import clean, surface_to_dict
from advisor.table import METRICS, PARAMS, TrialsTable

NO_BASELINE = (
    "relative surfaces need a baseline: the study has none stored, or the table has no "
    "role=baseline row"
)


@dataclass(frozen=True)
class SkippedSurface:
    """A requested surface that was not fitted, and why."""

    metric: str
    mode: str
    reason: str


@dataclass(frozen=True)
class SurfaceFits:
    """The outcome of `fit_surfaces`: fitted surfaces, skipped ones, and the options used."""

    surfaces: list[FittedSurface]
    skipped: list[SkippedSurface] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    def by_target(self) -> dict[str, FittedSurface]:
        """Surfaces keyed by target: `f1` (absolute), `f1_rel` (relative)."""
        return {s.target: s for s in self.surfaces}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record: `{"surfaces": [...], "skipped": [...], "options": {...}}`."""
        return clean(
            {
                "surfaces": [surface_to_dict(s) for s in self.surfaces],
                "skipped": [vars(s).copy() for s in self.skipped],
                "options": self.options,
            }
        )


def parse_metrics(metrics: Iterable[str] | str) -> list[str]:
    """Validated metric names (a comma-separated string or a list), in the order given.

    Raises:
        FitError: an unknown metric (the message lists the valid ones) or none at all.
    """
    names = [m.strip() for m in metrics.split(",")] if isinstance(metrics, str) else list(metrics)
    names = [m for m in names if m]
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise FitError(f"unknown metric {unknown[0]!r}; valid choices: {', '.join(METRICS)}")
    if not names:
        raise FitError(f"no metric given; valid choices: {', '.join(METRICS)}")
    return list(dict.fromkeys(names))


def fit_surfaces(
    table: TrialsTable,
    metrics: Iterable[str] | str = METRICS,
    mode: str | Mode = Mode.BOTH,
    degree: int = 2,
    *,
    robust: bool = False,
    select: str | Selection | None = None,
    coding: str | Coding = Coding.CODED,
    alpha: float = DEFAULT_ALPHA,
) -> SurfaceFits:
    """Fit a surface per metric and mode; rows missing a metric are left out of that fit.

    Relative surfaces model `metric - baseline[metric]`; the table's baseline is never a row.
    A surface that cannot be fitted is skipped with its reason when others succeed.

    Raises:
        FitError: bad options; no rows; mode "relative" without a baseline; or no surface at all
            could be fitted (the message gives the first reason).
    """
    names = parse_metrics(metrics)
    mode = parse_choice(Mode, mode, "mode")
    options = {
        "degree": check_degree(degree),
        "robust": bool(robust),
        "select": None if select is None else parse_choice(Selection, select, "selection").value,
        "coding": parse_choice(Coding, coding, "coding").value,
        "alpha": check_alpha(alpha),
    }
    rows = table.rows
    if rows.empty:
        raise FitError(
            "no finished trials to fit; run `advisor grid SPEC.toml` or pass a table with rows"
        )
    modes = [Mode.ABSOLUTE, Mode.RELATIVE] if mode == Mode.BOTH else [mode]
    if mode == Mode.RELATIVE and not table.baseline:
        raise FitError(f"{NO_BASELINE}; use --mode absolute")
    fitted: list[FittedSurface] = []
    skipped: list[SkippedSurface] = []
    for metric in names:
        for m in modes:
            try:
                fitted.append(_fit_one(rows, table.baseline, metric, m, options))
            except FitError as exc:
                skipped.append(SkippedSurface(metric, m.value, str(exc)))
    if not fitted:
        raise FitError(skipped[0].reason)
    return SurfaceFits(fitted, skipped, {**options, "mode": mode.value, "metrics": names})


def _fit_one(
    rows: pd.DataFrame,
    baseline: dict[str, float] | None,
    metric: str,
    mode: Mode,
    options: dict[str, Any],
) -> FittedSurface:
    if metric not in rows.columns:
        raise FitError(f"no trial has a {metric} value")
    reference: float | None = None
    if mode == Mode.RELATIVE:
        if not baseline:
            raise FitError(NO_BASELINE)
        if baseline.get(metric) is None:
            raise FitError(f"the baseline has no {metric} value; relative {metric} needs it")
        reference = float(baseline[metric])
    values = pd.to_numeric(rows[metric], errors="coerce").to_numpy(dtype=float)
    present = np.isfinite(values)
    if not present.any():
        raise FitError(f"no trial has a {metric} value")
    frame = rows.loc[present, list(PARAMS)].reset_index(drop=True)
    target = values[present] - (reference or 0.0)
    estimator = ResponseSurface(
        options["degree"],
        robust=options["robust"],
        select=options["select"],
        coding=options["coding"],
        alpha=options["alpha"],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurfaceWarning)  # kept in surface.warnings instead
        estimator.fit(frame, target, metric=metric, mode=mode, baseline=reference)
    surface = estimator.surface_
    missing = int((~present).sum())
    if missing:
        note = f"{missing} of {len(values)} rows have no {metric} value and were left out"
        surface = _with_warning(surface, note)
    return surface


def _with_warning(surface: FittedSurface, message: str) -> FittedSurface:
    return replace(surface, warnings=(message, *surface.warnings))
