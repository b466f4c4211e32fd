"""`advisor suggest` and `advisor tune`: surfaces steer the objective set's Optuna study."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from advisor.box_extension import box_extensions, widened_space
from advisor.errors import FitError, StorageError
from advisor.fingerprint import data_fingerprint
from advisor.steering import Objective, make_sampler, parse_objectives
from advisor.study.grid import (
    GRACE_PERIOD_S,
    HEARTBEAT_INTERVAL_S,
    check_same_data,
    claim_next,
    format_params,
    prepare_tuner,
)
from advisor.study.grid_status import MAX_RETRY
from advisor.study.locks import study_lock
from advisor.study.record import (
    RECORD_TRIAL_ATTR,
    RUN_ATTRS,
    SOURCE_ATTR,
    config_key,
    measured,
    record_table,
    seed_of,
)
from advisor.study.storage import (
    baseline_metrics,
    finished_trials,
    load_study,
    mask_url,
    open_storage,
    resolve_storage_url,
)
from advisor.study.views import (
    ensure_view,
    find_view,
    load_record,
    load_views,
    objective_study_name,
    stored_spec,
    study_space,
    sync,
)
from advisor.study.worker import (
    WORKER_ATTR,
    Observer,
    SilentObserver,
    TrialRecord,
    deferred_signals,
    run_trial,
    sigterm_as_interrupt,
    worker_id,
)
from advisor.suggest import PredictedFront, candidate_grid, predicted_front
from advisor.table import ALL_METRICS, PARAMS, TrialsTable


@dataclass
class SuggestResult:
    study: str
    objectives: list[Objective]
    front: PredictedFront
    enqueued: list[int] = field(default_factory=list)
    enqueued_asked: bool = False
    extensions: list[Any] = field(default_factory=list)  # box_extension.Extension
    extended: list[int] = field(default_factory=list)  # trials enqueued by --extend
    extend_asked: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "objectives": [{"name": o.name, "direction": o.direction} for o in self.objectives],
            "front_size": self.front.front_size,
            "candidates": self.front.candidates,
            "suggestions": [s.to_json() for s in self.front.suggestions],
            "enqueued": self.enqueued,
            "notes": self.front.notes,
            "extensions": [e.to_json() for e in self.extensions],
            "desirability": self.front.desirability,
            "extended": self.extended,
        }


def suggest(
    study_name: str,
    objectives: str,
    n: int = 5,
    enqueue: bool = False,
    storage_url: str | None = None,
    seed: int = 0,
    extend: bool = False,
) -> SuggestResult:
    """The surface-predicted Pareto set for `objectives`; with `enqueue`, the configurations
    not run yet become WAITING trials of the objective set's study; with `extend`, so do the
    configurations outside the spec's box where the surfaces put the best (`box_extensions`)."""
    parsed = parse_objectives(objectives)
    writes = enqueue or extend  # else nothing is written: the storage is opened read-only
    storage = open_storage(storage_url, read_only=not writes, must_exist=True)
    grid = load_record(storage, study_name)
    _require_baseline(grid, parsed)
    view = ensure_view(storage, grid, parsed) if writes else find_view(storage, study_name, parsed)
    name = objective_study_name(study_name, parsed)
    table = record_table(grid, load_views(storage, study_name), include_partial=True)
    run = _configs_in(grid) | _table_configs(table)
    if view is not None:  # its finished fine-tunes are in the table already
        run |= _configs_in(view, (TrialState.RUNNING, TrialState.WAITING))
    unfinished = _unfinished_grid(grid)
    try:
        surfaces, fit_notes = _surfaces(grid, table, parsed)
    except FitError:
        if unfinished:  # too few runs yet: say so, not what the few runs happen to show
            raise FitError(f"{unfinished}: wait for the grid (advisor grid --status)") from None
        raise
    if unfinished:
        fit_notes.insert(0, f"{unfinished}: these suggestions will change as the grid finishes")
    candidates = candidate_grid(study_space(grid))
    front = predicted_front(surfaces, parsed, candidates, n, baseline_metrics(grid), seed)
    extensions, extension_notes = box_extensions(surfaces, parsed, candidates)
    front.notes.extend(extension_notes)
    front.notes[:0] = fit_notes
    observed = _observed_means(table, parsed)
    for suggestion in front.suggestions:
        suggestion.already_run = _key(suggestion.params) in run
        suggestion.observed = observed.get(_key(suggestion.params), {})
    result = SuggestResult(name, parsed, front, extensions=extensions)
    result.extend_asked = extend
    if extend:
        assert view is not None
        fresh = {_key(e.params): e.params for e in extensions if _key(e.params) not in run}
        result.extended = _enqueue(view, grid, list(fresh.values()), outside_box=True)
    result.enqueued_asked = enqueue
    if enqueue:
        assert view is not None
        result.enqueued = _enqueue(
            view, grid, [s.params for s in front.suggestions if not s.already_run]
        )
    return result


def _unfinished_grid(grid: optuna.Study) -> str | None:
    """`"1 of 12 grid trials finished"` while the spec's grid is not done, else None."""
    spec = stored_spec(grid)
    if spec is None:
        return None
    from advisor.design import design_points
    from advisor.study.grid_status import count_done

    points = design_points(spec)
    done = count_done(grid, points)
    return None if done >= len(points) else f"{done} of {len(points)} grid trials finished"


def _require_baseline(grid: optuna.Study, objectives: list[Objective]) -> None:
    """Relative objectives need the study's baseline: say so before anything is created."""
    relative = [o.name for o in objectives if o.name.endswith("_rel")]
    if relative and baseline_metrics(grid) is None:
        raise StorageError(
            f"study {grid.study_name!r} has no baseline, so {', '.join(relative)} cannot be "
            "measured; add a [baseline] to the spec, or use absolute objectives"
        )


def _surfaces(
    grid: optuna.Study, table: TrialsTable, objectives: list[Objective]
) -> tuple[dict[str, Any], list[str]]:
    """The objectives' surfaces (stored ones while current, else refitted with the stored
    options: `current_surfaces`) and notes on what was refitted.

    Raises:
        FitError: an objective's surface cannot be fitted.
    """
    from advisor.study.surfaces import load_surfaces, stored_fingerprint
    from advisor.surface import current_surfaces

    metrics = sorted({o.name.removesuffix("_rel") for o in objectives})
    fits, notes = current_surfaces(
        table, load_surfaces(grid), metrics=metrics, fingerprint=stored_fingerprint(grid)
    )
    missing = [o.name for o in objectives if o.name not in fits]
    if missing:
        why = "; ".join(notes) or "no surface fitted"
        raise FitError(f"cannot predict {', '.join(missing)} on study {grid.study_name!r}: {why}")
    for o in objectives:  # the verdict travels with the suggestions (issue 13)
        surface = fits[o.name]
        if not getattr(surface, "trustworthy", True):
            notes.append(
                f"the {o.name} surface is not trustworthy, so these predictions are rough: "
                + "; ".join(surface.reasons)
            )
    return fits, notes


_key = config_key


def _table_configs(table: TrialsTable) -> set[tuple[float, int, int]]:
    rows = table.rows
    if rows.empty:
        return set()
    return {
        _key(dict(zip(PARAMS, r, strict=True))) for r in rows[list(PARAMS)].itertuples(index=False)
    }


def _observed_means(
    table: TrialsTable, objectives: list[Objective]
) -> dict[tuple[float, int, int], dict[str, float]]:
    """Mean observed objective values per configuration already run (over its seeds)."""
    rows = table.rows
    names = [o.name for o in objectives if o.name in rows.columns]
    if rows.empty or not names:
        return {}
    means = rows.groupby(list(PARAMS))[names].mean()
    return {
        _key(dict(zip(PARAMS, index, strict=True))): {k: float(v) for k, v in row.items()}
        for index, row in means.iterrows()
    }


def _configs_in(
    study: optuna.Study,
    states: tuple[TrialState, ...] = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING),
) -> set[tuple[float, int, int]]:
    return {
        _key(t.params)
        for t in study.get_trials(deepcopy=False, states=states)
        if all(p in t.params for p in PARAMS)
    }


def _enqueue(
    study: optuna.Study,
    grid: optuna.Study,
    configs: list[dict[str, Any]],
    outside_box: bool = False,
) -> list[int]:
    space = study_space(grid)
    spec = stored_spec(grid)
    seed = spec.seeds[0] if spec else 0
    token = uuid.uuid4().hex  # finds this call's trials again (add_trial returns nothing)
    for params in configs:
        study.add_trial(
            optuna.trial.create_trial(
                state=TrialState.WAITING,
                params=params,
                # an extension lies outside the spec's box: its own distributions contain it
                distributions=widened_space(space, params) if outside_box else space,
                user_attrs={
                    "seed": seed,
                    SOURCE_ATTR: "suggest",
                    "suggested_by": f"advisor suggest{' --extend' if outside_box else ''}",
                    "enqueue": token,
                    **({"outside_box": True} if outside_box else {}),
                },
            )
        )
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    return [t.number for t in waiting if t.user_attrs.get("enqueue") == token]


@dataclass
class TuneResult:
    study: str
    storage: str
    trials: list[TrialRecord]
    decisions: list[str] = field(default_factory=list)
    record: str = ""  # the study of record every fine-tune was copied into

    def to_json(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "record": self.record,
            "storage": self.storage,
            "trials": [t.to_json() for t in self.trials],
            "decisions": self.decisions,
        }


def tune(
    study_name: str,
    objectives: str,
    trials: int,
    sampler: str | optuna.samplers.BaseSampler = "surface",
    storage_url: str | None = None,
    observer: Observer | None = None,
    seed: int | None = None,
    prior: str | None = None,
    replicates: int = 1,
    prune: bool | None = None,
) -> TuneResult:
    """Closed loop: the sampler proposes, real fine-tunes evaluate, `trials` fine-tunes.

    WAITING trials (from `suggest --enqueue`) run first; the surfaces refit on every proposal.
    A proposal whose configuration the study of record already holds with `replicates` seeds
    is answered from the record (a trial of the objective set's view, no fine-tune, not
    counted in `trials`); otherwise it is trained with the first seed of the spec that the
    configuration has not used. Each finished fine-tune is copied into the record at once.
    `sampler`: a name (`surface`, `nsga2`, `tpe`, `gp`, `random`) or any Optuna sampler.
    `prior` (surface sampler only): the learned prior, as `advisor.prior_source.resolve_prior`
    reads it (None: the shipped one; "none"; a JSON file; a study in the same storage).
    `prune`: stop a fine-tune after an epoch when `advisor.steering.ParetoPruner` finds it can
    no longer reach the front (None: when the spec's fine-tunes can have more than one epoch).
    """
    observer = observer or SilentObserver()
    parsed = parse_objectives(objectives)
    if replicates < 1:
        raise StorageError(f"--replicates must be at least 1, got {replicates}")
    chosen = (
        sampler if isinstance(sampler, optuna.samplers.BaseSampler) else make_sampler(sampler, seed)
    )
    url = resolve_storage_url(storage_url)
    storage = open_storage(
        url,
        must_exist=True,
        heartbeat_interval=HEARTBEAT_INTERVAL_S,
        grace_period=GRACE_PERIOD_S,
        # a trial whose tune was killed is failed after the grace period and queued again,
        # as the grid does (at most MAX_RETRY times)
        stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(MAX_RETRY),
    )
    grid = load_record(storage, study_name)
    spec = stored_spec(grid)
    if spec is None:
        raise StorageError(
            f"study {study_name!r} has no stored spec (it was not made by "
            "`advisor grid`), so tune cannot run its fine-tunes; use suggest"
        )
    if sampler == "surface":  # the spec's space, not the trials' intersection: a trial
        # outside the box (suggest --extend) has wider distributions, which would empty it
        from advisor.prior_source import resolve_prior

        learned = resolve_prior(prior, storage_url)
        chosen = make_sampler(sampler, seed, search_space=study_space(grid), prior=learned)
    _require_baseline(grid, parsed)
    check_same_data(
        grid,
        data_fingerprint(spec),
        allow_change=False,
        advice="accept the new data with `advisor grid SPEC.toml --allow-data-change` first",
    )
    pruner = _pruner(spec, prune, seed)
    tuner = prepare_tuner(spec, observer)
    view = ensure_view(storage, grid, parsed)
    study = optuna.load_study(study_name=view.study_name, storage=storage, sampler=chosen)
    space = study_space(grid)
    baseline = baseline_metrics(study)
    result = TuneResult(study.study_name, mask_url(url), [], record=grid.study_name)
    with sigterm_as_interrupt():
        observer.started(trials, 0)
        for _ in range(trials):
            frozen = _next_trial(
                study, storage, space, spec.seeds, grid, replicates, observer, result
            )
            result.trials.append(
                run_trial(
                    study,
                    storage,
                    frozen,
                    tuner,
                    baseline,
                    observer,
                    HEARTBEAT_INTERVAL_S,
                    pruner=pruner,
                )
            )
            sync(storage, grid)  # the fine-tune joins the record (and the other views) now
            decision = getattr(chosen, "last_decision_", None)
            if decision is not None and decision.trial_number == frozen.number:
                note = f"trial {decision.trial_number}: {decision.mode}: {decision.reason}"
                result.decisions.append(note)
                observer.message(note)
    return result


def _pruner(spec: Any, prune: bool | None, seed: int | None) -> Any:
    """The Pareto pruner `tune` uses, or None (`--no-prune`, or single-epoch fine-tunes)."""
    epochs = spec.dimension("epochs")
    most = max(epochs.choices) if epochs.choices is not None else epochs.high
    if prune is False or (prune is None and int(most) <= 1):
        return None
    from advisor.steering import ParetoPruner

    return ParetoPruner(seed=seed)


# Proposals answered from the record in a row before tune stops: a sampler that keeps asking
# for measured configurations has nothing new to try at this replicate count.
MAX_ANSWERED_IN_A_ROW = 25


def _next_trial(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    space: dict[str, Any],
    seeds: tuple[int, ...],
    record: optuna.Study | None = None,
    replicates: int = 1,
    observer: Observer | None = None,
    result: TuneResult | None = None,
) -> optuna.trial.FrozenTrial:
    """The next trial to fine-tune, RUNNING and claimed by this process.

    Under the view's lock: fail trials whose worker stopped heartbeating (and queue them
    again), then claim a WAITING trial or let the sampler propose one. Proposals of concurrent
    `tune` processes are serialised, so each sampler sees the others' RUNNING trials. A
    configuration the record (default: the study itself) already holds with `replicates`
    seeds is answered from it.

    Raises:
        StorageError: the sampler proposed only measured configurations MAX_ANSWERED_IN_A_ROW
            times in a row.
    """
    record = record or study
    for _ in range(MAX_ANSWERED_IN_A_ROW):
        with study_lock(storage, study.study_name):
            optuna.storages.fail_stale_trials(study)
            with deferred_signals():  # never RUNNING without this process knowing it
                trial = claim_next(study, storage) or _ask(study, storage, space)
                done = measured(finished_trials(record)).get(_key(trial.params), [])
                if len(done) < replicates:
                    seed = _free_seed(study, record, trial, seeds)
                    storage.set_trial_user_attr(trial._trial_id, "seed", seed)
                    return storage.get_trial(trial._trial_id)
                answer = min(done, key=lambda t: (seed_of(t) or 0, t.number))
                _answer_from_record(study, storage, trial, answer)
        note = (
            f"trial {trial.number}: {format_params(trial.params)} is already in the record "
            f"(trial {answer.number}): answered from it, no fine-tune"
        )
        if result is not None:
            result.decisions.append(note)
        if observer is not None:
            observer.message(note)
    raise StorageError(
        f"the sampler proposed {MAX_ANSWERED_IN_A_ROW} configurations in a row that the study of "
        "record already holds; it has nothing new to try: pass --replicates 2 to measure more "
        "seeds, or widen the spec's space"
    )


def _ask(
    study: optuna.Study, storage: optuna.storages.RDBStorage, space: dict[str, Any]
) -> optuna.trial.FrozenTrial:
    """A new RUNNING trial from the sampler, with the heartbeat and `worker` a grid trial has."""
    trial = study.ask(space)
    storage.record_heartbeat(trial._trial_id)
    storage.set_trial_user_attr(trial._trial_id, WORKER_ATTR, worker_id())
    storage.set_trial_user_attr(trial._trial_id, SOURCE_ATTR, "tune")
    return storage.get_trial(trial._trial_id)


def _answer_from_record(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    trial: optuna.trial.FrozenTrial,
    answer: optuna.trial.FrozenTrial,
) -> None:
    """Finish `trial` with the recorded fine-tune's metrics (linked to it, so the view and the
    record never count it twice)."""
    attrs = {k: v for k, v in answer.user_attrs.items() if k in ALL_METRICS or k in RUN_ATTRS}
    attrs.update({RECORD_TRIAL_ATTR: answer.number, "answered_from_record": True})
    for key, value in attrs.items():
        storage.set_trial_user_attr(trial._trial_id, key, value)
    names = [m for m in (study.metric_names or [])]
    study.tell(trial.number, values=[float(answer.user_attrs[n]) for n in names])


def _free_seed(
    study: optuna.Study,
    record: optuna.Study,
    trial: optuna.trial.FrozenTrial,
    seeds: tuple[int, ...],
) -> int:
    """The first of the spec's seeds that no other trial of the same configuration uses, in
    the record or in this view (finished, running or waiting): a configuration proposed twice
    is a new replicate, never the same fine-tune twice."""
    config = _key(trial.params)
    states = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
    used: set[int] = {
        seeds[0] if seed_of(t) is None else int(seed_of(t) or 0)
        for source in (study, record)
        for t in source.get_trials(deepcopy=False, states=states)
        if not (source is study and t.number == trial.number)
        and all(p in t.params for p in PARAMS)
        and _key(t.params) == config
    }
    free = [s for s in seeds if s not in used]
    return free[0] if free else max([*seeds, *used]) + 1


def observed_front(objective_study: str, storage_url: str | None = None) -> list[dict[str, Any]]:
    """The objective study's finished, non-dominated trials (params and objective values)."""
    from advisor.steering import non_dominated_mask

    study = load_study(open_storage(storage_url, read_only=True), objective_study)
    done = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.values is not None
    ]
    if not done:
        return []
    signs = [1.0 if d == optuna.study.StudyDirection.MINIMIZE else -1.0 for d in study.directions]
    mask = non_dominated_mask([[s * v for s, v in zip(signs, t.values, strict=True)] for t in done])
    names = study.metric_names or [f"objective {i}" for i in range(len(signs))]
    rows = []
    for trial, keep in zip(done, mask, strict=True):
        if keep:
            row: dict[str, Any] = {"#": trial.number}
            row.update({k: trial.params.get(k) for k in PARAMS})
            row.update(dict(zip(names, trial.values, strict=True)))
            rows.append(row)
    return rows
