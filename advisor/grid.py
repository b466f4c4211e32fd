"""`advisor grid`: one real fine-tune per design point and seed, each an Optuna trial.

Resumable and safe for many workers on one storage: points are enqueued once under a study-wide
lock, claimed atomically (WAITING -> RUNNING is a row-locked compare-and-set in Optuna's RDB
storage), kept alive by heartbeats, and re-run when their worker disappears.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from advisor.config import StudySpec
from advisor.design import design_points, point_key
from advisor.errors import SpecError
from advisor.locks import study_lock
from advisor.space import grid_space
from advisor.storage import (
    BASELINE_ATTR,
    SPEC_ATTR,
    baseline_metrics,
    mask_url,
    open_storage,
    resolve_storage_url,
    study_names,
)
from advisor.table import METRICS
from advisor.worker import (
    Observer,
    SilentObserver,
    TrialRecord,
    fail_reason,
    run_trial,
    sigterm_as_interrupt,
)

POINT_ATTR = "grid_point"
FINAL_REASONS = ("diverged loss",)  # a result, not an accident: never re-run automatically
HEARTBEAT_INTERVAL_S = 10
GRACE_PERIOD_S = 60
MAX_RETRY = 2
POLL_INTERVAL_S = 5.0


@dataclass
class GridOptions:
    """How a worker runs: heartbeats, retries, polling, model saving."""

    heartbeat_interval: int = HEARTBEAT_INTERVAL_S
    grace_period: int = GRACE_PERIOD_S
    max_retry: int = MAX_RETRY
    poll_interval: float = POLL_INTERVAL_S
    save_models: str | None = None


@dataclass
class GridResult:
    """What one `advisor grid` invocation did."""

    study: str
    storage: str
    total_points: int
    trials: list[TrialRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"study": self.study, "storage": self.storage,
                "trials": [t.to_json() for t in self.trials]}


def run_grid(spec: StudySpec, storage_url: str | None = None, observer: Observer | None = None,
             options: GridOptions | None = None) -> GridResult:
    """Run (or resume, or help finish) the spec's seed grid; returns when every point is done."""
    observer = observer or SilentObserver()
    options = options or GridOptions()
    url = resolve_storage_url(storage_url)
    storage = open_storage(
        url, heartbeat_interval=options.heartbeat_interval, grace_period=options.grace_period,
        stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(options.max_retry))
    points = design_points(spec)
    result = GridResult(spec.name, mask_url(url), len(points))
    if spec.name in study_names(storage):
        existing = optuna.load_study(study_name=spec.name, storage=storage)
        check_same_spec(existing, spec)
        if not _points_to_enqueue(existing, points) and not _open_trials(existing):
            observer.started(len(points), len(points))
            return result  # nothing left: no model or data is loaded
    tuner = _prepare_tuner(spec)  # validates data and model before anything is stored
    study = create_grid_study(spec, storage)
    with study_lock(storage, spec.name):
        ensure_baseline(study, spec, tuner)
        enqueue_missing(study, spec, points)
    baseline = baseline_metrics(study)
    with sigterm_as_interrupt():
        observer.started(len(points), _count_done(study))
        while True:
            optuna.storages.fail_stale_trials(study)
            trial = claim_next(study, storage)
            if trial is None:
                running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
                if running == 0:
                    break
                observer.waiting(running)
                time.sleep(options.poll_interval)
                continue
            save_dir = _save_dir(options.save_models, trial)
            result.trials.append(run_trial(study, storage, trial, tuner, baseline, observer,
                                           options.heartbeat_interval, save_dir))
    return result


def _prepare_tuner(spec: StudySpec) -> Any:
    from advisor.training.data import load_dataset
    from advisor.training.finetune import FineTuner

    return FineTuner(spec, load_dataset(spec))


def create_grid_study(spec: StudySpec, storage: optuna.storages.RDBStorage) -> optuna.Study:
    """Create (or load) the grid study: three named objectives, the spec stored with it."""
    study = optuna.create_study(study_name=spec.name, storage=storage, load_if_exists=True,
                                directions=["maximize", "maximize", "minimize"])
    if list(study.metric_names or []) != list(METRICS):
        study.set_metric_names(list(METRICS))
    if SPEC_ATTR not in study.user_attrs:
        study.set_user_attr(SPEC_ATTR, spec.to_dict())
    return study


def check_same_spec(study: optuna.Study, spec: StudySpec) -> None:
    """Refuse to mix a study's trials with those of a different spec."""
    stored = study.user_attrs.get(SPEC_ATTR)
    if not stored:
        return
    current = spec.to_dict()
    for key in ("model", "max_length", "data", "space", "training"):
        if _normalise(stored.get(key)) != _normalise(current.get(key)):
            raise SpecError(f"study {spec.name!r} was created from a spec with a different "
                            f"{key!r}; use a new [study] name for a different experiment")


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def ensure_baseline(study: optuna.Study, spec: StudySpec, tuner: Any) -> None:
    """Evaluate the baseline once per study and store it as study attributes (never a trial)."""
    if spec.baseline_kind == "none" or BASELINE_ATTR in study.user_attrs:
        return
    if spec.baseline_kind == "checkpoint":
        outcome = tuner.evaluate_checkpoint(spec.baseline_seed)
        params: dict[str, Any] = {}
    else:
        params = dict(spec.baseline_params)
        outcome = tuner.run(params, spec.baseline_seed)
    study.set_user_attr(BASELINE_ATTR, {
        "kind": spec.baseline_kind, "model": spec.model, "params": params,
        "seed": spec.baseline_seed, "metrics": outcome.metrics,
        "wall_time_s": outcome.wall_time_s})


def enqueue_missing(study: optuna.Study, spec: StudySpec, points: list[dict[str, Any]]) -> int:
    """Add a WAITING trial for every point that has no trial to show for it. Call under the lock."""
    distributions = grid_space(spec)
    missing = _points_to_enqueue(study, points)
    for point in missing:
        study.add_trial(optuna.trial.create_trial(
            state=TrialState.WAITING, params=point, distributions=distributions,
            user_attrs={POINT_ATTR: point_key(point), "seed": int(point["seed"])}))
    return len(missing)


def _points_to_enqueue(study: optuna.Study, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    covered: set[str] = set()
    for trial in study.get_trials(deepcopy=False):
        key = trial.user_attrs.get(POINT_ATTR)
        if key is None:
            continue
        if trial.state in (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING) or (
                trial.state == TrialState.FAIL and fail_reason(trial) in FINAL_REASONS):
            covered.add(key)
    return [p for p in points if point_key(p) not in covered]


def _open_trials(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.WAITING, TrialState.RUNNING))


def claim_next(study: optuna.Study, storage: optuna.storages.RDBStorage) -> FrozenTrial | None:
    """Atomically take the oldest WAITING trial (another worker may win the race: try the next)."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        try:
            claimed = storage.set_trial_state_values(trial._trial_id, state=TrialState.RUNNING)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
        if claimed:
            return storage.get_trial(trial._trial_id)
    return None


def _count_done(study: optuna.Study) -> int:
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
    return len({t.user_attrs.get(POINT_ATTR) for t in trials if t.user_attrs.get(POINT_ATTR)})


def _save_dir(root: str | None, trial: FrozenTrial) -> str | None:
    if not root:
        return None
    from advisor.training.finetune import save_path

    return save_path(root, f"trial-{trial.number}-{trial.user_attrs.get(POINT_ATTR, '')}")


def grid_status(study: optuna.Study) -> dict[str, Any]:
    """Counts of trials by state, and each failure with its reason (for `grid --status`)."""
    trials = study.get_trials(deepcopy=False)
    failures = [
        {"number": t.number, "params": dict(t.params), "reason": fail_reason(t),
         "detail": t.user_attrs.get("fail_detail", "")}
        for t in trials if t.state == TrialState.FAIL
    ]
    states = Counter(t.state.name for t in trials)
    return {"study": study.study_name, "states": dict(states), "failures": failures}
