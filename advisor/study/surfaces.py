"""Fitted surfaces kept with the study of record, and loaded back.

The whole fit (what prediction and the report need) is a study *system* attribute, so that
`optuna studies` and optuna-dashboard's attribute lists stay readable; the user attribute
`advisor:surfaces` is a few hundred bytes saying what was fitted, on how many rows, and the
fingerprint of those rows (`rows_fingerprint`), which tells whether the record changed since.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import optuna

from advisor.errors import FitError
from advisor.study.storage import SURFACES_ATTR
from advisor.surface._current import rows_fingerprint
from advisor.surface._fit import SurfaceFits
from advisor.surface._model import FittedSurface
from advisor.surface._serialize import FORMAT, surface_from_dict
from advisor.table import TrialsTable

SURFACES_SYSTEM_ATTR = "advisor:surfaces"


def surfaces_record(fits: SurfaceFits, table: TrialsTable | None = None) -> dict[str, Any]:
    """The JSON-able record of a fit (with the fingerprint of `table`'s rows when given)."""
    record: dict[str, Any] = {
        "format": FORMAT,
        "fitted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **fits.to_dict(),
    }
    if table is not None:
        record["rows"] = len(table.rows)
        record["fingerprint"] = rows_fingerprint(table)
    return record


def surfaces_summary(record: dict[str, Any]) -> dict[str, Any]:
    """The short user attribute: what was fitted and on which rows."""
    return {
        "format": record.get("format"),
        "fitted_at": record.get("fitted_at"),
        "rows": record.get("rows"),
        "fingerprint": record.get("fingerprint"),
        "surfaces": [
            {
                "target": s.get("target"),
                "degree": s.get("degree"),
                "n": s.get("n"),
                "r2": None if s.get("r2") is None else round(float(s["r2"]), 4),
                "trustworthy": s.get("trustworthy"),
            }
            for s in record.get("surfaces", [])
        ],
        "stored_as": f"study system attribute {SURFACES_SYSTEM_ATTR!r}",
    }


def store_surfaces(
    study: optuna.Study, fits: SurfaceFits, table: TrialsTable | None = None
) -> None:
    """Store the fitted surfaces with the study (replacing any stored before); `table` is the
    table they were fitted on (its fingerprint decides later whether they are current)."""
    record = surfaces_record(fits, table)
    study._storage.set_study_system_attr(study._study_id, SURFACES_SYSTEM_ATTR, record)
    study.set_user_attr(SURFACES_ATTR, surfaces_summary(record))


def stored_record(study: optuna.Study) -> dict[str, Any] | None:
    """The stored fit: the system attribute, or a v1 storage's whole-fit user attribute."""
    record = study._storage.get_study_system_attrs(study._study_id).get(SURFACES_SYSTEM_ATTR)
    if record:
        return dict(record)
    legacy = study.user_attrs.get(SURFACES_ATTR)
    if isinstance(legacy, dict) and any("coef" in str(s) for s in legacy.get("surfaces", [])[:1]):
        return dict(legacy)
    return None


def stored_fingerprint(study: optuna.Study) -> str | None:
    """The fingerprint of the rows the stored surfaces were fitted on (None: none stored, or a
    v1 fit that did not record it)."""
    record = stored_record(study)
    return None if record is None else record.get("fingerprint")


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
    record = stored_record(study)
    if not record:
        return {}
    return surfaces_from_record(record)
