"""`advisor grid`: one real fine-tune per design point and seed, each an Optuna trial.

Resumable and safe for many workers on one storage: points are enqueued once under a study-wide
lock, claimed atomically under that lock (WAITING -> RUNNING is also a row-locked compare-and-set
in Optuna's RDB storage), kept alive by heartbeats, and re-run when their worker disappears, at
most `max_retry` times per point.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.exc import SQLAlchemyError

from advisor.config import StudySpec
from advisor.design import design_points, point_key
from advisor.errors import SpecError, StorageError
from advisor.fingerprint import data_fingerprint, fingerprint_change
from advisor.space import grid_space
from advisor.study.grid_status import (
    _OPEN,
    MAX_RETRY,
    POINT_ATTR,
    count_done,
    final_failure,
    trials_by_point,
)
from advisor.study.locks import study_lock
from advisor.study.record import SOURCE_ATTR
from advisor.study.storage import (
    BASELINE_ATTR,
    DATA_ATTR,
    SPEC_ATTR,
    baseline_metrics,
    mask_url,
    open_storage,
    resolve_storage_url,
    storage_failure,
    study_names,
)
from advisor.study.views import sync
from advisor.study.worker import (
    INTERRUPTED_REASON,
    WORKER_ATTR,
    Observer,
    SilentObserver,
    TrialRecord,
    check_save_folder,
    deferred_signals,
    record_failure,
    run_trial,
    sigterm_as_interrupt,
    worker_id,
)
from advisor.table import METRICS

MAX_GRID_POINTS = 10_000  # more needs --force: a typo in grid.levels should not queue millions
HEARTBEAT_INTERVAL_S = 10
GRACE_PERIOD_S = 60
POLL_INTERVAL_S = 5.0


@dataclass
class GridOptions:
    """How a worker runs: heartbeats, retries, polling, model saving.

    `max_retry` bounds how often a point whose worker vanished (no heartbeat for
    `grace_period` seconds) is re-queued; `retry_failed` re-queues every failed point, even
    those that diverged or used up their retries.
    """

    heartbeat_interval: int = HEARTBEAT_INTERVAL_S
    grace_period: int = GRACE_PERIOD_S
    max_retry: int = MAX_RETRY
    poll_interval: float = POLL_INTERVAL_S
    save_models: str | None = None
    retry_failed: bool = False
    force: bool = False  # run a grid of more than MAX_GRID_POINTS points
    allow_data_change: bool = False  # accept data files that differ from the study's


@dataclass
class GridResult:
    """What one `advisor grid` invocation did."""

    study: str
    storage: str
    total_points: int
    trials: list[TrialRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "storage": self.storage,
            "trials": [t.to_json() for t in self.trials],
        }


def run_grid(
    spec: StudySpec,
    storage_url: str | None = None,
    observer: Observer | None = None,
    options: GridOptions | None = None,
) -> GridResult:
    """Run (or resume, or help finish) the spec's seed grid; returns when every point is done.

    An observer with a `points_done(done, total)` method is told how many points are finished
    across all workers whenever a trial ends and while this worker waits for others.

    Raises:
        SpecError, DataError, ModelError: bad spec, data or model, before anything is stored.
        StorageError: the storage cannot be opened or fails (the URL's password is masked).
    """
    url = resolve_storage_url(storage_url)
    try:
        return _run_grid(spec, url, observer or SilentObserver(), options or GridOptions())
    except (SQLAlchemyError, optuna.exceptions.StorageInternalError) as exc:
        # one line, passwords scrubbed, "read-only" said where that is why
        raise storage_failure(exc, mask_url(url)) or StorageError(str(exc)) from exc


def _run_grid(spec: StudySpec, url: str, observer: Observer, options: GridOptions) -> GridResult:
    storage = open_storage(
        url,
        heartbeat_interval=options.heartbeat_interval,
        grace_period=options.grace_period,
        stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(options.max_retry),
    )
    points = design_points(spec)
    check_grid_size(spec, points, options.force)
    fingerprint = data_fingerprint(spec)
    result = GridResult(spec.name, mask_url(url), len(points))
    if spec.name in study_names(storage):
        existing = optuna.load_study(study_name=spec.name, storage=storage)
        check_same_spec(existing, spec)
        check_same_data(existing, fingerprint, options.allow_data_change)
        if not _open_trials(existing) and not _points_to_enqueue(
            existing, points, options.retry_failed, options.max_retry
        ):
            observer.started(len(points), count_done(existing, points))
            return result  # nothing left: no model or data is loaded
    if options.save_models:
        check_save_folder(options.save_models)  # before any fine-tune, not after the first
    tuner = prepare_tuner(spec, observer)  # validates data and model before anything is stored
    with study_lock(storage, spec.name):
        # under the lock: of two specs started together on one name, the first stores its spec
        # and the second is refused here, before it adds a trial or a baseline
        study = create_grid_study(spec, storage)
        check_same_spec(study, spec)
        check_same_data(study, fingerprint, options.allow_data_change, store=True)
        ensure_baseline(study, spec, tuner, observer)
        enqueue_missing(
            study, spec, points, retry_failed=options.retry_failed, max_retry=options.max_retry
        )
    baseline = baseline_metrics(study)
    with sigterm_as_interrupt():
        observer.started(len(points), count_done(study, points))
        _report_points(observer, study, points)
        _work(study, storage, tuner, baseline, observer, options, points, result)
    sync(storage, study)  # objective-set views show the new grid trials too
    return result


def _work(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    tuner: Any,
    baseline: dict[str, float] | None,
    observer: Observer,
    options: GridOptions,
    points: list[dict[str, Any]],
    result: GridResult,
) -> None:
    """Claim and run trials until no point is waiting or running anywhere."""
    while True:
        trial: FrozenTrial | None = None
        try:
            with study_lock(storage, study.study_name):
                optuna.storages.fail_stale_trials(study)
                with deferred_signals():  # never claimed without knowing it
                    trial = claim_next(study, storage, costliest_first=True)
            if trial is None:
                running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
                _report_points(observer, study, points)
                if running == 0:
                    return
                observer.waiting(running)
                time.sleep(options.poll_interval)
                continue
            save_dir = _save_dir(options.save_models, trial)
            result.trials.append(
                run_trial(
                    study,
                    storage,
                    trial,
                    tuner,
                    baseline,
                    observer,
                    options.heartbeat_interval,
                    save_dir,
                )
            )
        except KeyboardInterrupt:
            if trial is not None:  # no-op when run_trial already closed it
                with deferred_signals():
                    record_failure(
                        storage, trial, INTERRUPTED_REASON, "stopped by the user (SIGINT/SIGTERM)"
                    )
            raise
        _report_points(observer, study, points)


def _report_points(observer: Observer, study: optuna.Study, points: list[dict[str, Any]]) -> None:
    hook = getattr(observer, "points_done", None)
    if hook is not None:
        hook(count_done(study, points), len(points))


def report_phase(observer: Observer | None, text: str) -> None:
    """Tell an observer with a `phase(text)` method that a stage without trials has begun
    (loading data, loading the model, the baseline), so progress shows from the first second."""
    hook = getattr(observer, "phase", None)
    if hook is not None:
        hook(text)


def prepare_tuner(spec: StudySpec, observer: Observer | None = None) -> Any:
    """Load and validate the spec's data and model (a `FineTuner`); stores nothing."""
    report_phase(observer, f"loading data ({_data_label(spec)})")
    from advisor.training.data import load_dataset

    dataset = load_dataset(spec)
    sentences = len(dataset.train.texts) + len(dataset.eval.texts)
    report_phase(observer, f"loading model {spec.model} and tokenising {sentences} sentences")
    from advisor.training.model import resolve_model

    resolve_model(spec.model, spec.base_dir)  # a bad name or no Hub: fail before torch loads
    from advisor.training.finetune import FineTuner  # imports torch and transformers: seconds

    return FineTuner(spec, dataset)


def _data_label(spec: StudySpec) -> str:
    data = spec.data
    if data.source != "files":
        return data.source
    return f"{Path(data.train).name}, {Path(data.eval).name}"


def create_grid_study(spec: StudySpec, storage: optuna.storages.RDBStorage) -> optuna.Study:
    """Create (or load) the grid study: three named objectives, the spec stored with it."""
    study = optuna.create_study(
        study_name=spec.name,
        storage=storage,
        load_if_exists=True,
        directions=["maximize", "maximize", "minimize"],
    )
    if list(study.metric_names or []) != list(METRICS):
        study.set_metric_names(list(METRICS))
    if SPEC_ATTR not in study.user_attrs:
        study.set_user_attr(SPEC_ATTR, spec.to_dict())
    return study


# Every part of the spec that decides what is trained, and how the spec's TOML names it.
SPEC_KEYS = {
    "model": "[model] name",
    "max_length": "[model] max_length",
    "data": "[data]",
    "space": "[space]",
    "training": "[training]",
    "design": "[grid] design",
    "levels": "[grid] levels",
    "seeds": "[grid] seeds",
    "samples": "[grid] samples",
    "baseline_kind": "[baseline] kind",
    "baseline_params": "[baseline] params",
    "baseline_seed": "[baseline] seed",
}


def check_same_spec(study: optuna.Study, spec: StudySpec) -> None:
    """Refuse to mix a study's trials with those of a different spec (the whole spec: model,
    data, space, training, [grid] and [baseline])."""
    stored = study.user_attrs.get(SPEC_ATTR)
    if not stored:
        return
    current = spec.to_dict()
    for key, label in SPEC_KEYS.items():
        before, now = _normalise(stored.get(key)), _normalise(current.get(key))
        if before != now:
            shown = f" ({_short(before)} stored, {_short(now)} now)" if key in _SHOWN else ""
            raise SpecError(
                f"study {spec.name!r} was created from a spec with a different {key!r} "
                f"({label}){shown}; use a new [study] name for a different experiment"
            )


_SHOWN = {"design", "levels", "seeds", "samples", "baseline_kind", "baseline_seed", "max_length"}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_same_data(
    study: optuna.Study,
    fingerprint: dict[str, Any],
    allow_change: bool,
    store: bool = False,
    advice: str = "pass --allow-data-change to go on anyway",
) -> None:
    """Refuse data that differs from the data the study was made with, unless allowed; with
    `store`, record the fingerprint (a new study, an older one without it, an allowed change)."""
    stored = study.user_attrs.get(DATA_ATTR)
    change = fingerprint_change(stored, fingerprint) if stored else None
    if change and not allow_change:
        raise SpecError(
            f"study {study.study_name!r}: {change}; the finished points were trained on the "
            f"old data. Use a new [study] name, or {advice}"
        )
    if store and stored != fingerprint:
        study.set_user_attr(DATA_ATTR, fingerprint)


def check_grid_size(spec: StudySpec, points: list[dict[str, Any]], force: bool) -> None:
    """A grid of more than MAX_GRID_POINTS points runs only with `force`."""
    if len(points) > MAX_GRID_POINTS and not force:
        configs = len(points) // len(spec.seeds)
        raise SpecError(
            f"the grid has {len(points):,} points ({configs:,} configurations x "
            f"{len(spec.seeds)} seeds), more than {MAX_GRID_POINTS:,}; check grid.levels and "
            "grid.samples, or pass --force to run it"
        )


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def ensure_baseline(
    study: optuna.Study, spec: StudySpec, tuner: Any, observer: Observer | None = None
) -> None:
    """Evaluate the baseline once per study and store it as study attributes (never a trial)."""
    if spec.baseline_kind == "none" or BASELINE_ATTR in study.user_attrs:
        return
    if spec.baseline_kind == "checkpoint":
        report_phase(observer, f"baseline: evaluating {spec.model} before fine-tuning")
        outcome = tuner.evaluate_checkpoint(spec.baseline_seed)
        record = _baseline_record(spec, {}, [(spec.baseline_seed, outcome)])
    else:
        params = dict(spec.baseline_params)
        runs = []
        for seed in baseline_seeds(spec):
            report_phase(observer, f"baseline: fine-tune {format_params(params)} seed={seed}")
            progress = observer.step if observer is not None else None
            runs.append((seed, tuner.run(params, seed, progress=progress)))
        record = _baseline_record(spec, params, runs)
    study.set_user_attr(BASELINE_ATTR, record)
    if observer is not None:
        m = record["metrics"]
        shown = f" (mean of {len(record['runs'])} seeds)" if "runs" in record else ""
        observer.message(
            f"baseline finished in {record['wall_time_s']:.0f} s: accuracy={m['accuracy']:.4f} "
            f"f1={m['f1']:.4f} loss={m['loss']:.4f}{shown}"
        )


def baseline_seeds(spec: StudySpec) -> tuple[int, ...]:
    """The seeds a baseline is trained with: a `config` baseline once per grid seed when the
    grid replicates, so relative differences pair by seed and the baseline's own noise is
    measured; otherwise once, with `[baseline] seed`."""
    if spec.baseline_kind == "config" and len(spec.seeds) > 1:
        return tuple(spec.seeds)
    return (spec.baseline_seed,)


def _baseline_record(
    spec: StudySpec, params: dict[str, Any], runs: list[tuple[int, Any]]
) -> dict[str, Any]:
    """The study attribute of the baseline: its metrics (the mean over runs) and, with several
    runs, each run's seed and metrics (`runs`, read back as `TrialsTable.baseline_runs`)."""
    record: dict[str, Any] = {"kind": spec.baseline_kind, "model": spec.model, "params": params}
    if len(runs) == 1:
        seed, outcome = runs[0]
        return {
            **record,
            "seed": seed,
            "metrics": outcome.metrics,
            "wall_time_s": outcome.wall_time_s,
        }
    names = [k for k, v in runs[0][1].metrics.items() if isinstance(v, (int, float))]
    mean = {k: sum(float(o.metrics[k]) for _, o in runs) / len(runs) for k in names}
    return {
        **record,
        "metrics": mean,
        "wall_time_s": sum(o.wall_time_s for _, o in runs),
        "runs": [{"seed": seed, "metrics": o.metrics} for seed, o in runs],
    }


def format_params(params: dict[str, Any]) -> str:
    """`lr=5e-05 batch=16 epochs=2`: a configuration as progress lines and messages show it."""
    return (
        f"lr={float(params['learning_rate']):.3g} batch={params['batch_size']} "
        f"epochs={params['epochs']}"
    )


def enqueue_missing(
    study: optuna.Study,
    spec: StudySpec,
    points: list[dict[str, Any]],
    *,
    retry_failed: bool = False,
    max_retry: int = MAX_RETRY,
) -> int:
    """Add a WAITING trial for every point that has no trial to show for it. Call under the lock.

    A failed point is re-queued unless its failure is final (see `final_failure`) or
    `retry_failed` is set.
    """
    distributions = grid_space(spec)
    missing = _points_to_enqueue(study, points, retry_failed, max_retry)
    for point in missing:
        study.add_trial(
            optuna.trial.create_trial(
                state=TrialState.WAITING,
                params=point,
                distributions=distributions,
                user_attrs={
                    POINT_ATTR: point_key(point),
                    "seed": int(point["seed"]),
                    SOURCE_ATTR: "grid",
                },
            )
        )
    return len(missing)


def _points_to_enqueue(
    study: optuna.Study,
    points: list[dict[str, Any]],
    retry_failed: bool = False,
    max_retry: int = MAX_RETRY,
) -> list[dict[str, Any]]:
    by_point = trials_by_point(study)
    missing = []
    for point in points:
        trials = by_point.get(point_key(point), [])
        if any(t.state in (TrialState.COMPLETE, *_OPEN) for t in trials):
            continue
        if not retry_failed and final_failure(trials, max_retry):
            continue
        missing.append(point)
    return missing


def _open_trials(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=_OPEN)


def claim_next(
    study: optuna.Study, storage: optuna.storages.RDBStorage, costliest_first: bool = False
) -> FrozenTrial | None:
    """Atomically take the oldest WAITING trial (another worker may win the race: try the next),
    or with `costliest_first` the one that will train longest (`expected_work`).

    Runs under the study lock (SQLite's compare-and-set is not atomic across processes). The
    heartbeat is written before the claim, so a worker killed right after claiming still leaves
    a trial that goes stale and is re-run. The claiming worker is stored as user attr `worker`.
    """
    with study_lock(storage, study.study_name):
        waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        if costliest_first:
            waiting = sorted(waiting, key=expected_work)
        for trial in waiting:
            try:
                storage.record_heartbeat(trial._trial_id)
                claimed = storage.set_trial_state_values(trial._trial_id, state=TrialState.RUNNING)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
            if claimed:
                storage.set_trial_user_attr(trial._trial_id, WORKER_ATTR, worker_id())
                return storage.get_trial(trial._trial_id)
    return None


def expected_work(trial: FrozenTrial) -> tuple[float, float, int]:
    """Sort key, longest training first: most epochs, then smallest batch (most steps), then
    the oldest. A grid's workers that take the long runs first finish together: the last runs
    left are short ones, not a 3-epoch run on one worker while the others wait."""
    epochs = trial.params.get("epochs", 0)
    batch = trial.params.get("batch_size", 0)
    numeric = all(isinstance(v, (int, float)) for v in (epochs, batch))
    if not numeric:
        return (0.0, 0.0, trial.number)
    return (-float(epochs), float(batch), trial.number)


def _save_dir(root: str | None, trial: FrozenTrial) -> str | None:
    if not root:
        return None
    from advisor.training.finetune import save_path

    return save_path(root, f"trial-{trial.number}-{trial.user_attrs.get(POINT_ATTR, '')}")
