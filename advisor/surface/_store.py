"""Fitted surfaces stored with an Optuna study as a JSON user attribute, and loaded back."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import optuna

from advisor.errors import FitError
from advisor.storage import SURFACES_ATTR
from advisor.surface._fit import SurfaceFits
from advisor.surface._model import FittedSurface
from advisor.surface._serialize import FORMAT, surface_from_dict


def surfaces_record(fits: SurfaceFits) -> dict[str, Any]:
    """The JSON-able record stored under SURFACES_ATTR."""
    return {
        "format": FORMAT,
        "fitted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **fits.to_dict(),
    }


def store_surfaces(study: optuna.Study, fits: SurfaceFits) -> None:
    """Store the fitted surfaces with the study (replacing any stored before)."""
    study.set_user_attr(SURFACES_ATTR, surfaces_record(fits))


def surfaces_from_record(record: dict[str, Any]) -> dict[str, FittedSurface]:
    """Surfaces of a stored record keyed by target (`f1`, `f1_rel`, ...).

    Raises:
        FitError: the record has another format or is incomplete (refit with fit-surface).
    """
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        found = record.get("format") if isinstance(record, dict) else type(record).__name__
        raise FitError(
            f"stored surfaces have format {found!r}, expected {FORMAT}; refit with "
            "`advisor fit-surface`"
        )
    surfaces = [surface_from_dict(item) for item in record.get("surfaces", [])]
    return {s.target: s for s in surfaces}


def load_surfaces(study: optuna.Study) -> dict[str, FittedSurface]:
    """The surfaces stored with the study keyed by target (`f1`, `f1_rel`); {} when none.

    Each value predicts without refitting: `surface.predict(frame)` with columns
    learning_rate, batch_size, epochs returns mean, mean_se, mean_lower, mean_upper,
    obs_lower, obs_upper, extrapolated; `surface.coef` / `surface.cov` allow Thompson draws
    (`surface.sample_means(frame, rng, n_draws)`); `surface.stats.n` is the number of trials fitted.

    Raises:
        FitError: the stored record is from another format or incomplete.
    """
    record = study.user_attrs.get(SURFACES_ATTR)
    if not record:
        return {}
    return surfaces_from_record(record)
