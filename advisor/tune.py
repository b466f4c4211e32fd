"""`advisor suggest` and `advisor tune`: surfaces steer the objective set's Optuna study."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from advisor.errors import FitError, StorageError
from advisor.grid import GRACE_PERIOD_S, HEARTBEAT_INTERVAL_S, claim_next, prepare_tuner
from advisor.objective_studies import ensure_objective_study, stored_spec, study_space
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
from advisor.table import PARAMS
from advisor.worker import Observer, SilentObserver, TrialRecord, run_trial, sigterm_as_interrupt


@dataclass
class SuggestResult:
    study: str
    objectives: list[Objective]
    front: PredictedFront
    enqueued: list[int] = field(default_factory=list)
    enqueued_asked: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "objectives": [{"name": o.name, "direction": o.direction} for o in self.objectives],
            "front_size": self.front.front_size,
            "candidates": self.front.candidates,
            "suggestions": [s.to_json() for s in self.front.suggestions],
            "enqueued": self.enqueued,
            "notes": self.front.notes,
        }


def suggest(
    study_name: str,
    objectives: str,
    n: int = 5,
    enqueue: bool = False,
    storage_url: str | None = None,
    seed: int = 0,
) -> SuggestResult:
    """The surface-predicted Pareto set for `objectives`; with `enqueue`, the configurations
    not run yet become WAITING trials of the objective set's study."""
    parsed = parse_objectives(objectives)
    storage = open_storage(storage_url)
    grid = load_study(storage, study_name)
    _require_baseline(grid, parsed)
    study = ensure_objective_study(storage, grid, parsed)
    surfaces, fit_notes = _surfaces(grid, study, parsed)
    front = predicted_front(
        surfaces, parsed, candidate_grid(study_space(grid)), n, baseline_metrics(study), seed
    )
    front.notes[:0] = fit_notes
    run = _configs_in(study)
    observed = _observed_means(study, parsed)
    for suggestion in front.suggestions:
        suggestion.already_run = _key(suggestion.params) in run
        suggestion.observed = observed.get(_key(suggestion.params), {})
    result = SuggestResult(study.study_name, parsed, front)
    result.enqueued_asked = enqueue
    if enqueue:
        result.enqueued = _enqueue(
            study, grid, [s.params for s in front.suggestions if not s.already_run]
        )
    return result


def _require_baseline(grid: optuna.Study, objectives: list[Objective]) -> None:
    """Relative objectives need the study's baseline: say so before anything is created."""
    relative = [o.name for o in objectives if o.name.endswith("_rel")]
    if relative and baseline_metrics(grid) is None:
        raise StorageError(
            f"study {grid.study_name!r} has no baseline, so {', '.join(relative)} cannot be "
            "measured; add a [baseline] to the spec, or use absolute objectives"
        )


def _surfaces(
    grid: optuna.Study, study: optuna.Study, objectives: list[Objective]
) -> tuple[dict[str, Any], list[str]]:
    """The objectives' surfaces (stored ones while current, else refitted with the stored
    options: `current_surfaces`) and notes on what was refitted.

    Raises:
        FitError: an objective's surface cannot be fitted.
    """
    from advisor.surface import current_surfaces, load_surfaces

    metrics = sorted({o.name.removesuffix("_rel") for o in objectives})
    fits, notes = current_surfaces(trials_table(study), load_surfaces(grid), metrics=metrics)
    missing = [o.name for o in objectives if o.name not in fits]
    if missing:
        why = "; ".join(notes) or "no surface fitted"
        raise FitError(f"cannot predict {', '.join(missing)} on study {grid.study_name!r}: {why}")
    return fits, notes


def _key(params: dict[str, Any]) -> tuple[float, int, int]:
    return (
        round(float(params["learning_rate"]), 12),
        int(params["batch_size"]),
        int(params["epochs"]),
    )


def _observed_means(
    study: optuna.Study, objectives: list[Objective]
) -> dict[tuple[float, int, int], dict[str, float]]:
    """Mean observed objective values per configuration already run (over its seeds)."""
    rows = trials_table(study).rows
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


def _enqueue(study: optuna.Study, grid: optuna.Study, configs: list[dict[str, Any]]) -> list[int]:
    space = study_space(grid)
    spec = stored_spec(grid)
    seed = spec.seeds[0] if spec else 0
    token = uuid.uuid4().hex  # finds this call's trials again (add_trial returns nothing)
    for params in configs:
        study.add_trial(
            optuna.trial.create_trial(
                state=TrialState.WAITING,
                params=params,
                distributions=space,
                user_attrs={"seed": seed, "suggested_by": "advisor suggest", "enqueue": token},
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
) -> TuneResult:
    """Closed loop: the sampler proposes, real fine-tunes evaluate, `trials` times.

    WAITING trials (from `suggest --enqueue`) run first; the surfaces refit on every proposal.
    """
    observer = observer or SilentObserver()
    parsed = parse_objectives(objectives)
    chosen = make_sampler(sampler, seed)
    url = resolve_storage_url(storage_url)
    storage = open_storage(
        url, heartbeat_interval=HEARTBEAT_INTERVAL_S, grace_period=GRACE_PERIOD_S
    )
    grid = load_study(storage, study_name)
    spec = stored_spec(grid)
    if spec is None:
        raise StorageError(
            f"study {study_name!r} has no stored spec (it was not made by "
            "`advisor grid`), so tune cannot run its fine-tunes; use suggest"
        )
    _require_baseline(grid, parsed)
    tuner = prepare_tuner(spec)
    study = ensure_objective_study(storage, grid, parsed)
    study = optuna.load_study(study_name=study.study_name, storage=storage, sampler=chosen)
    space = study_space(grid)
    baseline = baseline_metrics(study)
    result = TuneResult(study.study_name, mask_url(url), [])
    with sigterm_as_interrupt():
        observer.started(trials, 0)
        for _ in range(trials):
            frozen = claim_next(study, storage) or _ask(study, storage, space, spec.seeds[0])
            result.trials.append(
                run_trial(study, storage, frozen, tuner, baseline, observer, HEARTBEAT_INTERVAL_S)
            )
            decision = getattr(chosen, "last_decision_", None)
            if decision is not None and decision.trial_number == frozen.number:
                note = f"trial {decision.trial_number}: {decision.mode}: {decision.reason}"
                result.decisions.append(note)
                observer.message(note)
    return result


def _ask(
    study: optuna.Study, storage: optuna.storages.RDBStorage, space: dict[str, Any], seed: int
) -> optuna.trial.FrozenTrial:
    trial = study.ask(space)
    storage.set_trial_user_attr(trial._trial_id, "seed", seed)
    return storage.get_trial(trial._trial_id)


def observed_front(objective_study: str, storage_url: str | None = None) -> list[dict[str, Any]]:
    """The objective study's finished, non-dominated trials (params and objective values)."""
    from advisor.steering import non_dominated_mask

    study = load_study(open_storage(storage_url), objective_study)
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
