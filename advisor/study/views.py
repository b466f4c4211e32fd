"""One Optuna study per objective set (`f1,loss`, ...): a view of the study of record.

Its name is `GRID@f1,loss`; an explicit direction that differs from the metric's default is
part of the name (`GRID@f1:min,loss`), so two sets that rank trials differently never share a
study. Its values are the set's objectives, so Optuna's samplers and optuna-dashboard's Pareto
front work on it. `sync` keeps it and the record in step both ways, under the record's lock:
the views' own fine-tunes are copied into the record, and every record trial a view lacks is
copied into it (linked by `grid_trial`, with its original start and end times).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from advisor.config import StudySpec
from advisor.errors import StorageError
from advisor.space import search_space
from advisor.steering import Objective
from advisor.study.locks import study_lock
from advisor.study.record import (
    OBJECTIVES_TRIAL_ATTR,
    RECORD_TRIAL_ATTR,
    RUN_ATTRS,
    SOURCE_ATTR,
    curve_steps,
    mirror,
    record_table,
    source_of,
    with_times,
)
from advisor.study.storage import (
    BASELINE_ATTR,
    OBJECTIVES_ATTR,
    PARENT_ATTR,
    SPEC_ATTR,
    add_trials_at_once,
    finished_trials,
    load_study,
    study_names,
    trial_attr_index,
    trials_table,
)
from advisor.table import ALL_METRICS, DIRECTIONS, PARAMS, TrialsTable


def objective_label(objectives: Sequence[Objective]) -> str:
    """`f1,loss`; a direction other than the metric's default is named: `f1:min,loss`."""
    parts = []
    for o in objectives:
        default = DIRECTIONS.get(o.name)
        parts.append(o.name if o.direction == default else f"{o.name}:{o.direction[:3]}")
    return ",".join(parts)


def objective_study_name(grid_name: str, objectives: Sequence[Objective]) -> str:
    """`sst2@f1,loss`: the grid study's name and the objective set's label."""
    return f"{grid_name}@{objective_label(objectives)}"


def stored_spec(study: optuna.Study) -> StudySpec | None:
    """The spec the grid study was made from (None for harvested studies)."""
    data = study.user_attrs.get(SPEC_ATTR)
    return StudySpec.from_dict(data) if data else None


def study_space(study: optuna.Study) -> dict[str, BaseDistribution]:
    """learning_rate, batch_size and epochs distributions: from the spec, else from the trials."""
    spec = stored_spec(study)
    if spec is not None:
        return search_space(spec)
    space: dict[str, BaseDistribution] = {}
    for trial in finished_trials(study):
        for name in PARAMS:
            if name in trial.distributions:
                space[name] = trial.distributions[name]
    return space


@dataclass(frozen=True)
class ViewInfo:
    """A view as the storage lists it (no trials loaded)."""

    name: str
    label: str  # the objective set, `f1,loss`
    directions: tuple[str, ...]


def list_views(storage: optuna.storages.BaseStorage, grid_name: str) -> list[ViewInfo]:
    """The objective-set views of a record, from the study list (one query)."""
    views = []
    for summary in storage.get_all_studies():
        if summary.user_attrs.get(PARENT_ATTR) != grid_name:
            continue
        label = summary.study_name.partition("@")[2]
        directions = tuple(d.name.lower() for d in summary.directions)
        views.append(ViewInfo(summary.study_name, label, directions))
    return sorted(views, key=lambda v: v.name)


def load_views(
    storage: optuna.storages.BaseStorage, grid_name: str
) -> list[tuple[str, optuna.Study]]:
    """(label, study) of every view of the record."""
    return [
        (v.label, optuna.load_study(study_name=v.name, storage=storage))
        for v in list_views(storage, grid_name)
    ]


def ensure_view(
    storage: optuna.storages.BaseStorage, grid: optuna.Study, objectives: Sequence[Objective]
) -> optuna.Study:
    """Create (or load) the objective set's view and sync it with the record.

    Runs under the record's lock, so two commands starting on a new set at once seed it once.

    Raises:
        StorageError: a study of that name exists with other directions (made before the
            direction was part of the name): it is never mixed.
    """
    name = objective_study_name(grid.study_name, objectives)
    directions = [StudyDirection[o.direction.upper()] for o in objectives]
    with study_lock(storage, grid.study_name):  # type: ignore[arg-type]  # RDB storages only
        existed = name in study_names(storage)
        study = optuna.create_study(
            study_name=name, storage=storage, load_if_exists=True, directions=directions
        )
        if existed and list(study.directions) != directions:
            found = ", ".join(d.name.lower() for d in study.directions)
            raise StorageError(
                f"study {name!r} exists with directions {found}, not "
                f"{', '.join(o.direction for o in objectives)}; it was made by an older version "
                "that left the direction out of the name. Use another objective set, or delete it "
                f"(optuna delete-study --study-name {name!r})"
            )
        if PARENT_ATTR not in study.user_attrs:  # new (or its creator died before this)
            study.set_metric_names([o.name for o in objectives])
            study.set_user_attr(PARENT_ATTR, grid.study_name)
            study.set_user_attr(OBJECTIVES_ATTR, [[o.name, o.direction] for o in objectives])
            for key in (BASELINE_ATTR, SPEC_ATTR):
                if key in grid.user_attrs:
                    study.set_user_attr(key, grid.user_attrs[key])
        _sync_locked(storage, grid)
    return study


def sync(storage: optuna.storages.BaseStorage, grid: optuna.Study) -> tuple[int, int]:
    """Bring the record and its views in step (under the record's lock): returns (trials copied
    into the record, trials copied into views). A no-op when the record has no views."""
    if not list_views(storage, grid.study_name):
        return 0, 0
    with study_lock(storage, grid.study_name):  # type: ignore[arg-type]
        return _sync_locked(storage, grid)


def _sync_locked(storage: optuna.storages.BaseStorage, grid: optuna.Study) -> tuple[int, int]:
    views = load_views(storage, grid.study_name)
    into_record = mirror(grid, views)
    record = finished_trials(grid)
    into_views = 0
    for label, view in views:
        into_views += _fill_view(view, label, record)
    return into_record, into_views


def _fill_view(view: optuna.Study, label: str, record: list[FrozenTrial]) -> int:
    """Copy into the view every finished record trial it lacks (a view's own fine-tunes are
    already there, as themselves)."""
    objectives = [o for o, _ in view.user_attrs.get(OBJECTIVES_ATTR, [])] or list(
        view.metric_names or []
    )
    have = set(trial_attr_index(view, RECORD_TRIAL_ATTR).values())
    copies = []
    for trial in record:
        if trial.number in have or trial.user_attrs.get(OBJECTIVES_TRIAL_ATTR) == label:
            continue
        if any(o not in trial.user_attrs for o in objectives):
            continue
        copies.append(view_copy(trial, objectives))
    add_trials_at_once(view, copies)  # one transaction: seconds for a large record
    return len(copies)


def view_copy(trial: FrozenTrial, objectives: Sequence[str]) -> FrozenTrial:
    """A record trial as a view trial: the set's objective values, metrics and run attrs, the
    link to the record trial, the original start and end times."""
    params = {k: trial.params[k] for k in PARAMS if k in trial.params}
    attrs: dict[str, Any] = {
        k: v for k, v in trial.user_attrs.items() if k in ALL_METRICS or k in RUN_ATTRS
    }
    attrs["seed"] = trial.params.get("seed", trial.user_attrs.get("seed"))
    attrs[RECORD_TRIAL_ATTR] = trial.number
    attrs[SOURCE_ATTR] = source_of(trial)
    copy = optuna.trial.create_trial(
        params=params,
        distributions={k: trial.distributions[k] for k in params},
        user_attrs=attrs,
        values=[float(trial.user_attrs[o]) for o in objectives],
        state=TrialState.COMPLETE,
        intermediate_values=curve_steps(trial.user_attrs.get("curve") or [], objectives[0]),
    )
    return with_times(copy, trial)


def load_record(storage: optuna.storages.BaseStorage, study_name: str) -> optuna.Study:
    """The study of record named `study_name`; a view's name is refused with the record's.

    Raises:
        StorageError: no such study, or it is an objective set's view.
    """
    study = load_study(storage, study_name)
    parent = study.user_attrs.get(PARENT_ATTR)
    if parent:
        raise StorageError(
            f"study {study_name!r} is the view of objective set {study_name.partition('@')[2]!r} "
            f"of study {parent!r}; use --study {parent}"
        )
    return study


def find_view(
    storage: optuna.storages.BaseStorage, grid_name: str, objectives: Sequence[Objective]
) -> optuna.Study | None:
    """The objective set's view when it exists (read-only commands never create one)."""
    name = objective_study_name(grid_name, objectives)
    if name not in study_names(storage):
        return None
    return optuna.load_study(study_name=name, storage=storage)


def table_of(study: optuna.Study, include_partial: bool = True) -> TrialsTable:
    """A study's finished (and, by default, partial) trials as a table: for a study of record,
    every fine-tune of the spec (`record_table` over its views); for a view, its own trials."""
    if study.user_attrs.get(PARENT_ATTR):
        return trials_table(study, include_partial=include_partial)
    views = load_views(study._storage, study.study_name)
    return record_table(study, views, include_partial=include_partial)


def views_status(storage: optuna.storages.BaseStorage, grid_name: str) -> list[dict[str, Any]]:
    """Each view of the record: its size by state, its own fine-tunes, the size of its
    observed Pareto front, and what is running there (for `advisor grid --status`)."""
    from advisor.steering import non_dominated_mask

    rows = []
    for label, view in load_views(storage, grid_name):
        trials = view.get_trials(deepcopy=False)
        done = [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None]
        signs = [1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in view.directions]
        front = (
            int(
                sum(
                    non_dominated_mask(
                        [[s * v for s, v in zip(signs, t.values, strict=True)] for t in done]
                    )
                )
            )
            if done
            else 0
        )
        states: dict[str, int] = {}
        for t in trials:
            states[t.state.name] = states.get(t.state.name, 0) + 1
        rows.append(
            {
                "study": view.study_name,
                "objectives": label,
                "states": states,
                "own_fine_tunes": sum(
                    t.state == TrialState.COMPLETE and RECORD_TRIAL_ATTR not in t.user_attrs
                    for t in trials
                ),
                "front_size": front,
                "running": [
                    {
                        "number": t.number,
                        "params": dict(t.params),
                        "worker": t.user_attrs.get("worker", ""),
                    }
                    for t in trials
                    if t.state == TrialState.RUNNING
                ],
            }
        )
    return rows


def sources_count(grid: optuna.Study) -> dict[str, int]:
    """Finished record trials by `source` (grid, tune, suggest)."""
    counts: dict[str, int] = {}
    for trial in finished_trials(grid):
        source = source_of(trial)
        counts[source] = counts.get(source, 0) + 1
    return counts
