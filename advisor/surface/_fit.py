"""Fit absolute and relative surfaces for several metrics of a trials table."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from advisor.errors import FitError
from advisor.surface._collapse import collapsed_mask, fit_collapse
from advisor.surface._desirability import desirability_pick, fitted_range_grid
from advisor.surface._estimator import ResponseSurface, SurfaceWarning
from advisor.surface._findings import describe
from advisor.surface._model import FittedSurface
from advisor.surface._optimum import optimum_findings
from advisor.surface._options import (
    DEFAULT_ALPHA,
    Coding,
    Mode,
    Selection,
    check_alpha,
    check_degree,
    parse_choice,
)
from advisor.surface._relative import baseline_reference, relative_surface
from advisor.surface._serialize import clean, surface_to_dict
from advisor.surface._terms import make_factors
from advisor.surface._two_part import collapse_findings, expected_prediction
from advisor.table import DIRECTIONS, METRICS, PARAMS, TrialsTable

MIN_COLLAPSED = 2  # from this many collapsed runs on, they are modelled apart (two-part model)
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
        """JSON-able record: `{"surfaces": [...], "skipped": [...], "options": {...},
        "desirability": {...} | null}`."""
        return clean(
            {
                "surfaces": [surface_to_dict(s) for s in self.surfaces],
                "skipped": [vars(s).copy() for s in self.skipped],
                "options": self.options,
                "desirability": self.joint_pick(),
            }
        )

    def joint_pick(self) -> dict[str, Any] | None:
        """The Derringer-Suich pick over the absolute surfaces of two or more metrics, inside
        the tried region, by the expected value of a new run (None for fewer metrics)."""
        absolute = [s for s in self.surfaces if s.mode == "absolute"]
        if len(absolute) < 2:
            return None
        widest = max(absolute, key=lambda s: s.stats.n + (s.collapse.n if s.collapse else 0))
        factors = widest.collapse.factors if widest.collapse else widest.factors
        candidates = fitted_range_grid(factors)
        predictions = {s.metric: expected_prediction(s, candidates) for s in absolute}
        objectives = [_Goal(s.metric, DIRECTIONS.get(s.metric, "maximize")) for s in absolute]
        pick = desirability_pick(predictions, objectives, candidates)
        untrusted = [s.metric for s in absolute if not s.trustworthy]
        return {**pick, "untrustworthy": untrusted}


@dataclass(frozen=True)
class _Goal:
    name: str
    direction: str


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
                fitted.append(_fit_one(table, metric, m, options))
            except FitError as exc:
                skipped.append(SkippedSurface(metric, m.value, str(exc)))
    if not fitted:
        raise FitError(skipped[0].reason)
    return SurfaceFits(fitted, skipped, {**options, "mode": mode.value, "metrics": names})


def _fit_one(
    table: TrialsTable,
    metric: str,
    mode: Mode,
    options: dict[str, Any],
) -> FittedSurface:
    rows = table.rows
    if metric not in rows.columns:
        raise FitError(f"no trial has a {metric} value")
    baseline = table.baseline
    if mode == Mode.RELATIVE:
        if not baseline:
            raise FitError(NO_BASELINE)
        if baseline.get(metric) is None:
            raise FitError(f"the baseline has no {metric} value; relative {metric} needs it")
    values = pd.to_numeric(rows[metric], errors="coerce").to_numpy(dtype=float)
    present = np.isfinite(values)
    if not present.any():
        raise FitError(f"no trial has a {metric} value")
    frame = rows.loc[present].reset_index(drop=True)
    reference, runs = (
        baseline_reference(table, metric, frame) if mode == Mode.RELATIVE else (0.0, [])
    )
    target = values[present] - reference
    collapsed, source = collapsed_mask(frame)
    surface, trained = _fit_trained(frame, target, collapsed, metric, mode, options, reference)
    notes: list[str] = []
    if trained is not None:
        plateau = float(np.mean(target[collapsed]))
        model = fit_collapse(make_factors(frame, Coding.CODED), frame, collapsed, plateau, source)
        surface = replace(surface, collapse=model)
    elif collapsed.any():
        notes.append(
            f"{int(collapsed.sum())} of {len(frame)} runs collapsed (predicted a single class), "
            "too few to model apart: they are fitted with the rest"
        )
    if mode == Mode.RELATIVE:
        surface = relative_surface(surface, table, frame, target, trained, runs, notes)
    missing = int((~present).sum())
    if missing:
        notes.insert(0, f"{missing} of {len(values)} rows have no {metric} value and were left out")
    for note in reversed(notes):
        surface = _with_warning(surface, note)
    return _with_findings(surface, target if trained is None else target[trained])


def _fit_trained(
    frame: pd.DataFrame,
    target: np.ndarray,
    collapsed: np.ndarray,
    metric: str,
    mode: Mode,
    options: dict[str, Any],
    reference: np.ndarray | float,
) -> tuple[FittedSurface, np.ndarray | None]:
    """The surface on the runs that trained when enough collapsed to model apart, else on all
    rows; the mask of trained rows, or None when all rows were fitted."""
    baseline = float(np.mean(reference)) if mode == Mode.RELATIVE else None
    if int(collapsed.sum()) >= MIN_COLLAPSED and (~collapsed).sum() > 0:
        trained = ~collapsed
        try:
            return _estimate(
                frame[trained], target[trained], metric, mode, options, baseline
            ), trained
        except FitError:
            pass  # too few trained runs for this degree: fit them all together
    return _estimate(frame, target, metric, mode, options, baseline), None


def _estimate(
    frame: pd.DataFrame,
    target: np.ndarray,
    metric: str,
    mode: Mode,
    options: dict[str, Any],
    baseline: float | None,
) -> FittedSurface:
    estimator = ResponseSurface(
        options["degree"],
        robust=options["robust"],
        select=options["select"],
        coding=options["coding"],
        alpha=options["alpha"],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SurfaceWarning)  # kept in surface.warnings instead
        estimator.fit(
            frame[list(PARAMS)].reset_index(drop=True),
            target,
            metric=metric,
            mode=mode,
            baseline=baseline,
        )
    return estimator.surface_


def _with_findings(surface: FittedSurface, y: np.ndarray) -> FittedSurface:
    """Findings recomputed on the final surface, with where the optimum is and where runs
    collapse (withheld, like the rest, when the surface is not trustworthy)."""
    if not surface.trustworthy:  # findings stay empty; where runs collapse is about the data
        # (the collapse model), not the trained surface's inference, so it is kept as notes
        return replace(surface, notes=(*surface.notes, *collapse_findings(surface)))
    findings = [
        *describe(surface, y),
        *collapse_findings(surface),
        *optimum_findings(surface),
    ]
    return replace(surface, findings=tuple(findings))


def _with_warning(surface: FittedSurface, message: str) -> FittedSurface:
    return replace(surface, warnings=(message, *surface.warnings))
