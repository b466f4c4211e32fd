"""One place to see a spec's work: the record's trials by state and source, its grid points,
its baseline, and every objective set's view with what runs there. Reads only."""

from __future__ import annotations

from typing import Any

import optuna

from advisor.design import design_points
from advisor.study.grid_status import grid_status
from advisor.study.views import load_record, sources_count, stored_spec, views_status


def study_status(storage: optuna.storages.BaseStorage, study_name: str) -> dict[str, Any]:
    """`advisor status --study NAME` (and `advisor grid SPEC --status`): `grid_status` of the
    record (grid points when it was made from a spec), finished fine-tunes by `source`, and
    `views`: each objective set's study, its size, own fine-tunes, front and running trials.

    Raises:
        StorageError: no such study, or it is a view (the record's name is given).
    """
    record = load_record(storage, study_name)
    spec = stored_spec(record)
    report = grid_status(record, design_points(spec) if spec is not None else None)
    report["sources"] = sources_count(record)
    report["views"] = views_status(storage, study_name)
    return report
