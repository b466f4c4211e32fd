"""The study of record: every fine-tune of a spec, once, whichever command ran it.

The record is the grid study (named by the spec's `[study] name`). Grid points are trained
there; a fine-tune that `tune` (or a `suggest --enqueue` suggestion) runs in an objective set's
view is copied into it when it finishes, with `source`, `objectives` (the set that asked for
it) and `view_trial` (its number there), and its original start and end times. Readers build
their table from the record plus any view trial not copied yet (a crash between the two
writes, or a storage from before the record), so a read never depends on a write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from advisor.study.grid_status import POINT_ATTR
from advisor.study.storage import (
    add_trials_at_once,
    trial_attr_index,
    trial_row,
    trials_in_states,
    trials_table,
)
from advisor.table import ALL_METRICS, METRICS, PARAMS, TrialsTable

SOURCE_ATTR = "source"  # grid | tune | suggest
OBJECTIVES_TRIAL_ATTR = "objectives"  # the objective set that asked for the fine-tune
VIEW_TRIAL_ATTR = "view_trial"  # its trial number in that set's view
RECORD_TRIAL_ATTR = "grid_trial"  # in a view: the record trial it shows (name kept from v1)
# What a copy carries besides the metrics: how the run was made and what it cost.
RUN_ATTRS = (
    "seed",
    "wall_time_s",
    "train_seconds",
    "eval_seconds",
    "train_samples_per_second",
    "train_runtime_s",
    "steps",
    "device",
    "collapsed",
    "curve",
    "save_error",
    "suggested_by",
    "outside_box",
    "pruned_at_epoch",
)
Key = tuple[float, int, int]


def config_key(params: dict[str, Any]) -> Key:
    """A configuration as a hashable key (learning rate rounded, so a float round trip matches)."""
    return (
        round(float(params["learning_rate"]), 12),
        int(params["batch_size"]),
        int(params["epochs"]),
    )


def source_of(trial: FrozenTrial) -> str:
    """`grid`, `tune` or `suggest`: who asked for this record trial (v1 grid trials: grid)."""
    source = trial.user_attrs.get(SOURCE_ATTR)
    if source:
        return str(source)
    return "grid" if POINT_ATTR in trial.user_attrs else "unknown"


def seed_of(trial: FrozenTrial) -> int | None:
    seed = trial.params.get("seed", trial.user_attrs.get("seed"))
    return None if seed is None else int(seed)


def view_source(trial: FrozenTrial) -> str:
    """What a view's own trial is recorded as: `suggest` when `suggest --enqueue` asked for it
    (v1 trials say so in `suggested_by`), else `tune`."""
    if trial.user_attrs.get(SOURCE_ATTR):
        return str(trial.user_attrs[SOURCE_ATTR])
    return "suggest" if "suggested_by" in trial.user_attrs else "tune"


def own_trials(view: optuna.Study) -> list[FrozenTrial]:
    """The view's fine-tunes that ran there (not copies of, or answers from, the record):
    finished ones, and pruned ones with the curve they reached. Only those trials are loaded."""
    linked = trial_attr_index(view, RECORD_TRIAL_ATTR)
    ended = trials_in_states(view, (TrialState.COMPLETE, TrialState.PRUNED))
    trials = [view._storage.get_trial(tid) for n, tid in sorted(ended.items()) if n not in linked]
    return [
        t
        for t in trials
        if (t.state == TrialState.COMPLETE and all(m in t.user_attrs for m in METRICS))
        or (t.user_attrs.get("curve") and "pruned_at_epoch" in t.user_attrs)
    ]


def mirrored_keys(record: optuna.Study) -> set[tuple[str, int]]:
    """(objective set, view trial number) of every view trial the record already holds."""
    keys = set()
    for trial in record.get_trials(deepcopy=False):
        label, number = (
            trial.user_attrs.get(OBJECTIVES_TRIAL_ATTR),
            trial.user_attrs.get(VIEW_TRIAL_ATTR),
        )
        if label is not None and number is not None:
            keys.add((str(label), int(number)))
    return keys


def missing_from_record(
    record: optuna.Study, views: Sequence[tuple[str, optuna.Study]]
) -> list[FrozenTrial]:
    """Copies, for the record, of the views' own finished trials that it lacks; `views` are
    (objective set label, view study) pairs."""
    have = mirrored_keys(record)
    copies = []
    for label, view in views:
        for trial in own_trials(view):
            if (label, trial.number) not in have:
                copies.append(record_copy(trial, label))
    return copies


def record_copy(trial: FrozenTrial, label: str) -> FrozenTrial:
    """A view trial as a record trial: values accuracy, f1, loss; metrics and run attrs; where
    it came from; the original start and end times."""
    params = {k: trial.params[k] for k in PARAMS}
    attrs: dict[str, Any] = {
        k: v for k, v in trial.user_attrs.items() if k in ALL_METRICS or k in RUN_ATTRS
    }
    attrs.update(
        {
            SOURCE_ATTR: view_source(trial),
            OBJECTIVES_TRIAL_ATTR: label,
            VIEW_TRIAL_ATTR: trial.number,
        }
    )
    finished = trial.state == TrialState.COMPLETE
    copy = optuna.trial.create_trial(
        params=params,
        distributions={k: trial.distributions[k] for k in params},
        user_attrs=attrs,
        values=[float(trial.user_attrs[m]) for m in METRICS] if finished else None,
        state=trial.state,  # COMPLETE, or PRUNED with its curve
        intermediate_values=curve_steps(trial.user_attrs.get("curve") or [], METRICS[0]),
    )
    return with_times(copy, trial)


def curve_steps(curve: Sequence[dict[str, Any]], metric: str) -> dict[int, float]:
    """A curve as Optuna intermediate values of one metric (optuna-dashboard draws them): keyed
    by epoch when every point is at a whole epoch, else by training step."""
    points = [p for p in curve if isinstance(p.get(metric), (int, float))]
    whole = all(float(p["epoch"]).is_integer() for p in points)
    return {int(p["epoch"] if whole else p.get("step", 0)): float(p[metric]) for p in points}


def with_times(copy: FrozenTrial, original: FrozenTrial) -> FrozenTrial:
    """`copy` with the original's start and end times (optuna-dashboard's timeline)."""
    if original.datetime_start is not None and original.datetime_complete is not None:
        copy.datetime_start = original.datetime_start
        copy.datetime_complete = original.datetime_complete
    return copy


def mirror(record: optuna.Study, views: Sequence[tuple[str, optuna.Study]]) -> int:
    """Copy into the record the views' finished fine-tunes it lacks (call under the record's
    lock); returns how many."""
    copies = missing_from_record(record, views)
    add_trials_at_once(record, copies)
    return len(copies)


def record_table(
    record: optuna.Study,
    views: Sequence[tuple[str, optuna.Study]] = (),
    include_partial: bool = False,
) -> TrialsTable:
    """Every finished fine-tune of the spec as a table: the record's trials plus the views' own
    trials it does not hold yet (read here, never written). Columns as `trials_table`, plus
    `source`."""
    table = trials_table(record, include_partial=include_partial)
    rows = table.rows.copy()
    by_number = {t.number: t for t in record.get_trials(deepcopy=False)}
    rows["source"] = [source_of(by_number[int(n)]) for n in rows["number"]] if len(rows) else []
    pending = [t for t in missing_from_record(record, views) if t.state == TrialState.COMPLETE]
    if pending:
        extra = pd.DataFrame.from_records([_row(t) for t in pending])
        rows = pd.concat([rows, extra], ignore_index=True)
    return replace(table, rows=rows)


def _row(trial: FrozenTrial) -> dict[str, Any]:
    """A view trial not in the record yet, as a row of the record's table (no record number)."""
    return {**trial_row(trial), "number": pd.NA, "source": trial.user_attrs[SOURCE_ATTR]}


def measured(trials: Iterable[FrozenTrial]) -> dict[Key, list[FrozenTrial]]:
    """Finished fine-tunes grouped by configuration."""
    grouped: dict[Key, list[FrozenTrial]] = {}
    for trial in trials:
        if all(p in trial.params for p in PARAMS):
            grouped.setdefault(config_key(trial.params), []).append(trial)
    return grouped
