"""One Optuna study per objective set (`f1,loss`, ...), linked to its grid study.

Its name is `GRID@f1,loss`; its directions and metric names are the objectives', so
optuna-dashboard shows that Pareto front. It is seeded with the grid study's finished trials
(copied once each, keyed by their grid trial number); `suggest --enqueue` and `tune` add trials.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import optuna
import pandas as pd
from optuna.distributions import BaseDistribution
from optuna.study import StudyDirection
from optuna.trial import TrialState

from advisor.config import StudySpec
from advisor.locks import study_lock
from advisor.space import search_space
from advisor.steering import Objective
from advisor.storage import (
    BASELINE_ATTR,
    OBJECTIVES_ATTR,
    PARENT_ATTR,
    SPEC_ATTR,
    add_trials_at_once,
    finished_trials,
    study_names,
    trials_table,
)
from advisor.table import ALL_METRICS, PARAMS, TrialsTable

SOURCE_ATTR = "grid_trial"


def objective_study_name(grid_name: str, objectives: Sequence[Objective]) -> str:
    """`sst2@f1,loss`: the grid study's name and the objective metric names."""
    return f"{grid_name}@{','.join(o.name for o in objectives)}"


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


def ensure_objective_study(
    storage: optuna.storages.BaseStorage, grid: optuna.Study, objectives: Sequence[Objective]
) -> optuna.Study:
    """Create (or load) the objective set's study and copy in grid trials it does not have yet.

    Runs under the objective study's lock, and what is missing is decided after the lock is
    taken: two commands starting on a new objective set at once seed it once, not twice.
    """
    name = objective_study_name(grid.study_name, objectives)
    directions = [StudyDirection[o.direction.upper()] for o in objectives]
    with study_lock(storage, name):  # type: ignore[arg-type]  # RDB storages only here
        existed = name in study_names(storage)
        study = optuna.create_study(
            study_name=name, storage=storage, load_if_exists=True, directions=directions
        )
        if not existed:
            study.set_metric_names([o.name for o in objectives])
            study.set_user_attr(PARENT_ATTR, grid.study_name)
            study.set_user_attr(OBJECTIVES_ATTR, [[o.name, o.direction] for o in objectives])
            for key in (BASELINE_ATTR, SPEC_ATTR):
                if key in grid.user_attrs:
                    study.set_user_attr(key, grid.user_attrs[key])
        sync_from_grid(study, grid, objectives)
    return study


@dataclass(frozen=True)
class ObjectiveView:
    """What the objective set's study would hold after a sync, read without writing: its
    trials (when it exists) plus the grid's finished trials not copied into it yet."""

    name: str
    table: TrialsTable
    study: optuna.Study | None  # the stored objective study, None before it is created


def objective_view(
    storage: optuna.storages.BaseStorage, grid: optuna.Study, objectives: Sequence[Objective]
) -> ObjectiveView:
    """The objective set's trials as a table, for read-only commands (`suggest` without
    `--enqueue`): nothing is created or copied in the storage."""
    name = objective_study_name(grid.study_name, objectives)
    grid_table = trials_table(grid)
    rows = grid_table.rows
    names = [o.name for o in objectives]
    if all(n in rows.columns for n in names):
        rows = rows[rows[names].notna().all(axis=1)]
    else:
        rows = rows.iloc[0:0]
    study = None
    if name in study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage)
        have = {t.user_attrs.get(SOURCE_ATTR) for t in study.get_trials(deepcopy=False)}
        rows = rows[~rows["number"].isin([h for h in have if h is not None])]
        rows = pd.concat([trials_table(study).rows, rows], ignore_index=True)
    return ObjectiveView(name, replace(grid_table, rows=rows.reset_index(drop=True)), study)


def sync_from_grid(study: optuna.Study, grid: optuna.Study, objectives: Sequence[Objective]) -> int:
    """Copy the grid's finished trials that the objective study lacks; returns how many."""
    have = {t.user_attrs.get(SOURCE_ATTR) for t in study.get_trials(deepcopy=False)}
    space = study_space(grid)
    copies = []
    for trial in finished_trials(grid):
        if trial.number in have or any(o.name not in trial.user_attrs for o in objectives):
            continue
        params = {k: trial.params[k] for k in PARAMS if k in trial.params}
        distributions = {k: space.get(k, trial.distributions[k]) for k in params}
        attrs: dict[str, Any] = {
            k: v
            for k, v in trial.user_attrs.items()
            if k in ALL_METRICS
            or k in ("seed", "wall_time_s", "train_samples_per_second", "collapsed")
        }
        attrs[SOURCE_ATTR] = trial.number
        copies.append(
            optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                user_attrs=attrs,
                values=[float(trial.user_attrs[o.name]) for o in objectives],
                state=TrialState.COMPLETE,
            )
        )
    add_trials_at_once(study, copies)  # one transaction: the copy of a large grid is seconds
    return len(copies)
