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
from advisor.grid import (
    GRACE_PERIOD_S,
    HEARTBEAT_INTERVAL_S,
    check_same_data,
    claim_next,
    prepare_tuner,
)
from advisor.grid_status import MAX_RETRY
from advisor.locks import study_lock
from advisor.objective_studies import (
    ensure_objective_study,
    objective_view,
    stored_spec,
    study_space,
)
from advisor.steering import Objective, make_sampler, parse_objectives
from advisor.storage import (
    baseline_metrics,
    load_study,
    mask_url,
    open_storage,
    resolve_storage_url,
    trials_table,
)
from advisor.suggest import PredictedFront, candidate_grid, predicted_front
from advisor.table import PARAMS, TrialsTable
from advisor.worker import (
    WORKER_ATTR,
    Observer,
    SilentObserver,
    TrialRecord,
    deferred_signals,
    run_trial,
    sigterm_as_interrupt,
    worker_id,
)


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
    grid = load_study(storage, study_name)
    _require_baseline(grid, parsed)
    if writes:
        study: optuna.Study | None = ensure_objective_study(storage, grid, parsed)
        assert study is not None
        name, table, run = study.study_name, trials_table(study), _configs_in(study)
    else:
        view = objective_view(storage, grid, parsed)
        name, table, study = view.name, view.table, view.study
        run = _configs_in(study) if study is not None else set()
    run |= _configs_in(grid)
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
        assert study is not None
        fresh = {_key(e.params): e.params for e in extensions if _key(e.params) not in run}
        result.extended = _enqueue(study, grid, list(fresh.values()), outside_box=True)
    result.enqueued_asked = enqueue
    if enqueue:
        assert study is not None
        result.enqueued = _enqueue(
            study, grid, [s.params for s in front.suggestions if not s.already_run]
        )
    return result


def _unfinished_grid(grid: optuna.Study) -> str | None:
    """`"1 of 12 grid trials finished"` while the spec's grid is not done, else None."""
    spec = stored_spec(grid)
    if spec is None:
        return None
    from advisor.design import design_points
    from advisor.grid_status import count_done

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
    from advisor.surface import current_surfaces, load_surfaces

    metrics = sorted({o.name.removesuffix("_rel") for o in objectives})
    fits, notes = current_surfaces(table, load_surfaces(grid), metrics=metrics)
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


def _key(params: dict[str, Any]) -> tuple[float, int, int]:
    return (
        round(float(params["learning_rate"]), 12),
        int(params["batch_size"]),
        int(params["epochs"]),
    )


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


def _configs_in(study: optuna.Study) -> set[tuple[float, int, int]]:
    states = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
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

    def to_json(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "storage": self.storage,
            "trials": [t.to_json() for t in self.trials],
            "decisions": self.decisions,
        }


def tune(
    study_name: str,
    objectives: str,
    trials: int,
    sampler: str = "surface",
    storage_url: str | None = None,
    observer: Observer | None = None,
    seed: int | None = None,
    prior: str | None = None,
) -> TuneResult:
    """Closed loop: the sampler proposes, real fine-tunes evaluate, `trials` times.

    WAITING trials (from `suggest --enqueue`) run first; the surfaces refit on every proposal.
    `prior` (surface sampler only): the learned prior, as `advisor.prior_source.resolve_prior`
    reads it (None: the shipped one; "none"; a JSON file; a study in the same storage).
    """
    observer = observer or SilentObserver()
    parsed = parse_objectives(objectives)
    chosen = make_sampler(sampler, seed)
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
    grid = load_study(storage, study_name)
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
    tuner = prepare_tuner(spec, observer)
    study = ensure_objective_study(storage, grid, parsed)
    study = optuna.load_study(study_name=study.study_name, storage=storage, sampler=chosen)
    space = study_space(grid)
    baseline = baseline_metrics(study)
    result = TuneResult(study.study_name, mask_url(url), [])
    with sigterm_as_interrupt():
        observer.started(trials, 0)
        for _ in range(trials):
            frozen = _next_trial(study, storage, space, spec.seeds)
            result.trials.append(
                run_trial(study, storage, frozen, tuner, baseline, observer, HEARTBEAT_INTERVAL_S)
            )
            decision = getattr(chosen, "last_decision_", None)
            if decision is not None and decision.trial_number == frozen.number:
                note = f"trial {decision.trial_number}: {decision.mode}: {decision.reason}"
                result.decisions.append(note)
                observer.message(note)
    return result


def _next_trial(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    space: dict[str, Any],
    seeds: tuple[int, ...],
) -> optuna.trial.FrozenTrial:
    """Under the study lock: fail trials whose worker stopped heartbeating (and queue them
    again), then claim a WAITING trial or let the sampler propose one. Proposals of concurrent
    `tune` processes are serialised, so each sampler sees the others' RUNNING trials."""
    with study_lock(storage, study.study_name):
        optuna.storages.fail_stale_trials(study)
        with deferred_signals():  # never RUNNING without this process knowing it
            return claim_next(study, storage) or _ask(study, storage, space, seeds)


def _ask(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    space: dict[str, Any],
    seeds: tuple[int, ...],
) -> optuna.trial.FrozenTrial:
    """A new RUNNING trial from the sampler, with the heartbeat and `worker` a grid trial has.

    Its seed is the first of the spec's seeds that no other trial of the same configuration
    uses (finished, running or waiting): a configuration proposed twice is a new replicate,
    never the same fine-tune twice."""
    trial = study.ask(space)
    storage.record_heartbeat(trial._trial_id)
    storage.set_trial_user_attr(trial._trial_id, WORKER_ATTR, worker_id())
    storage.set_trial_user_attr(trial._trial_id, "seed", _free_seed(study, trial, seeds))
    return storage.get_trial(trial._trial_id)


def _free_seed(study: optuna.Study, trial: optuna.trial.Trial, seeds: tuple[int, ...]) -> int:
    config = _key(trial.params)
    states = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
    used = {
        int(t.user_attrs.get("seed", t.params.get("seed", seeds[0])))
        for t in study.get_trials(deepcopy=False, states=states)
        if t.number != trial.number
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
