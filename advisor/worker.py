"""Running one claimed trial: heartbeat while it trains, record metrics or the failure reason.

Shared by `advisor grid` and `advisor tune`. Ctrl-C / SIGTERM marks the running trial failed
with reason "interrupted" before the process stops, so no RUNNING trial is left behind.
"""

from __future__ import annotations

import signal
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import optuna
from optuna.trial import TrialState

from advisor.errors import TrialFailed
from advisor.table import METRICS, relative_metrics

FAIL_REASON_ATTR = "fail_reason"
FAIL_DETAIL_ATTR = "fail_detail"
LOST_WORKER_REASON = "worker lost (no heartbeat)"


class Observer(Protocol):
    """What a long-running command reports; the CLI draws progress bars from it."""

    def started(self, total: int, done: int) -> None: ...
    def trial_started(self, number: int, params: dict[str, Any]) -> None: ...
    def step(self, done: int, total: int) -> None: ...
    def trial_finished(self, record: TrialRecord) -> None: ...
    def waiting(self, running_elsewhere: int) -> None: ...
    def message(self, text: str) -> None: ...


class SilentObserver:
    """An observer that shows nothing (library default)."""

    def started(self, total: int, done: int) -> None: ...
    def trial_started(self, number: int, params: dict[str, Any]) -> None: ...
    def step(self, done: int, total: int) -> None: ...
    def trial_finished(self, record: TrialRecord) -> None: ...
    def waiting(self, running_elsewhere: int) -> None: ...
    def message(self, text: str) -> None: ...


@dataclass
class TrialRecord:
    """What one invocation did with one trial (the `--json` row)."""

    number: int
    state: str
    params: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"number": self.number, "state": self.state, "params": self.params,
                               "metrics": self.metrics}
        if self.reason:
            row["reason"] = self.reason
        return row


class Interrupted(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so the running trial is closed the same way."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises `Interrupted` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def heartbeat(storage: optuna.storages.RDBStorage, trial_id: int, interval: float
              ) -> Iterator[None]:
    """Record the trial's heartbeat every `interval` seconds from a background thread."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            try:
                storage.record_heartbeat(trial_id)
            except Exception:  # a missed beat is retried at the next interval
                continue

    storage.record_heartbeat(trial_id)
    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 5)


def run_trial(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    trial: optuna.trial.FrozenTrial,
    tuner: Any,
    baseline: dict[str, float] | None,
    observer: Observer,
    heartbeat_interval: float,
    save_dir: str | None = None,
) -> TrialRecord:
    """Fine-tune a trial this worker has claimed (RUNNING) and record its outcome."""
    params = {k: trial.params[k] for k in ("learning_rate", "batch_size", "epochs")}
    seed = int(trial.params.get("seed", trial.user_attrs.get("seed", 0)))
    observer.trial_started(trial.number, {**params, "seed": seed})
    try:
        with heartbeat(storage, trial._trial_id, heartbeat_interval):
            result = tuner.run(params, seed, progress=observer.step, save_dir=save_dir)
    except TrialFailed as exc:
        return _fail(study, storage, trial, exc.reason, exc.detail, observer)
    except (KeyboardInterrupt, Interrupted):
        _fail(study, storage, trial, "interrupted", "stopped by the user (SIGINT/SIGTERM)",
              observer)
        raise
    except Exception as exc:  # any other crash fails this trial only; the grid goes on
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return _fail(study, storage, trial, "exception", detail, observer)
    metrics = dict(result.metrics)
    if baseline:
        metrics.update(relative_metrics(metrics, baseline))
    attrs = {**metrics, "seed": seed, "wall_time_s": result.wall_time_s,
             "train_samples_per_second": result.train_samples_per_second,
             "train_runtime_s": result.train_runtime_s, "steps": result.steps,
             "device": result.device}
    for key, value in attrs.items():
        storage.set_trial_user_attr(trial._trial_id, key, value)
    directions = [d.name.lower() for d in study.directions]
    values = [metrics[name] for name in objective_names(study, directions)]
    study.tell(trial.number, values=values)
    record = TrialRecord(trial.number, TrialState.COMPLETE.name, {**params, "seed": seed},
                         {k: metrics[k] for k in metrics})
    observer.trial_finished(record)
    return record


def objective_names(study: optuna.Study, directions: list[str]) -> list[str]:
    """The metric each objective value of the study holds (its metric names, else accuracy,f1,loss)."""
    names = study.metric_names
    return list(names) if names else list(METRICS[: len(directions)])


def _fail(study: optuna.Study, storage: optuna.storages.RDBStorage,
          trial: optuna.trial.FrozenTrial, reason: str, detail: str, observer: Observer
          ) -> TrialRecord:
    storage.set_trial_user_attr(trial._trial_id, FAIL_REASON_ATTR, reason)
    storage.set_trial_user_attr(trial._trial_id, FAIL_DETAIL_ATTR, detail[:2000])
    study.tell(trial.number, state=TrialState.FAIL)
    record = TrialRecord(trial.number, TrialState.FAIL.name, dict(trial.params), reason=reason)
    observer.trial_finished(record)
    return record


def fail_reason(trial: optuna.trial.FrozenTrial) -> str:
    """Why a FAIL trial failed (a stale trial failed by another worker has no stored reason)."""
    return str(trial.user_attrs.get(FAIL_REASON_ATTR, LOST_WORKER_REASON))
