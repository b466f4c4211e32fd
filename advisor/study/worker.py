"""Running one claimed trial: heartbeat while it trains, record metrics or the failure reason.

Shared by `advisor grid` and `advisor tune`. Ctrl-C / SIGTERM marks the running trial failed
with reason "interrupted" before the process stops, so no RUNNING trial is left behind.
"""

from __future__ import annotations

import gc
import math
import os
import signal
import socket
import sys
import tempfile
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
WORKER_ATTR = "worker"
SAVE_ERROR_ATTR = "save_error"  # `--save-models` failed for a trial whose metrics are stored
LOST_WORKER_REASON = "worker lost (no heartbeat)"
INTERRUPTED_REASON = "interrupted"
OOM_REASON = "out of memory"
EXCEPTION_REASON = "exception"
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
        row: dict[str, Any] = {
            "number": self.number,
            "state": self.state,
            "params": self.params,
            "metrics": self.metrics,
        }
        if self.reason:
            row["reason"] = self.reason
        return row


class Interrupted(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so the running trial is closed the same way."""


def worker_id() -> str:
    """`host:pid` of this process, stored on the trials it claims (shown by `grid --status`)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises `Interrupted` and SIGINT `KeyboardInterrupt`, even
    where the process was started with SIGINT ignored (a background job); main thread only."""
    if not _main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted()

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, handler),
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
    }
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back while the block writes to storage, then deliver them.

    Keeps a claim or a failure record from being cut in half (a trial RUNNING but unknown to
    its worker). Main thread only; elsewhere the block just runs.
    """
    if not _main_thread():
        yield
        return
    pending: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: pending.append(signum)) for s in _SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        if pending:
            signal.raise_signal(pending[0])


@contextmanager
def heartbeat(
    storage: optuna.storages.RDBStorage, trial_id: int, interval: float
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
    pruner: Any | None = None,
) -> TrialRecord:
    """Fine-tune a trial this worker has claimed (RUNNING) and record its outcome.

    A failed fine-tune (diverged loss, out of memory, any exception) is a FAIL trial with its
    reason and the caller goes on; Ctrl-C / SIGTERM fails it as "interrupted" and re-raises.
    With a `pruner` (`advisor.steering.ParetoPruner`), the partial curve is stored after each
    epoch and the pruner may stop the fine-tune: the trial is then PRUNED with its curve.
    """
    params = {k: trial.params[k] for k in ("learning_rate", "batch_size", "epochs")}
    seed = int(trial.params.get("seed", trial.user_attrs.get("seed", 0)))
    observer.trial_started(trial.number, {**params, "seed": seed})
    try:
        with heartbeat(storage, trial._trial_id, heartbeat_interval):
            hook = _pruning_hook(study, storage, trial, pruner) if pruner is not None else None
            result = tuner.run(
                params, seed, progress=observer.step, save_dir=save_dir, **_hook_kwargs(hook)
            )
        if getattr(result, "pruned", False):
            return _pruned(study, storage, trial, {**params, "seed": seed}, result, observer)
        return _complete(
            study, storage, trial, {**params, "seed": seed}, result, baseline, observer
        )
    except KeyboardInterrupt:  # also `Interrupted` (SIGTERM)
        with deferred_signals():
            record_failure(
                storage, trial, INTERRUPTED_REASON, "stopped by the user (SIGINT/SIGTERM)", observer
            )
        raise
    except TrialFailed as exc:
        reason, detail = exc.reason, exc.detail
    except Exception as exc:  # any other crash fails this trial only; the grid goes on
        reason = OOM_REASON if _is_out_of_memory(exc) else EXCEPTION_REASON
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    release_memory()  # outside `except`: the traceback no longer holds the model
    return record_failure(storage, trial, reason, detail, observer)


def _complete(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    trial: optuna.trial.FrozenTrial,
    params: dict[str, Any],
    result: Any,
    baseline: dict[str, float] | None,
    observer: Observer,
) -> TrialRecord:
    metrics = dict(result.metrics)
    if baseline:
        metrics.update(relative_metrics(metrics, baseline))
    directions = [d.name.lower() for d in study.directions]
    values = [float(metrics[name]) for name in objective_names(study, directions)]
    if not all(math.isfinite(v) for v in values):
        raise TrialFailed("diverged loss", f"non-finite metric values {values}")
    attrs = {
        **metrics,
        "seed": params["seed"],
        "wall_time_s": result.wall_time_s,
        "train_samples_per_second": result.train_samples_per_second,
        "train_runtime_s": result.train_runtime_s,
        "steps": result.steps,
        "device": result.device,
        "collapsed": bool(getattr(result, "collapsed", False)),  # predicted one class
        "train_seconds": getattr(result, "train_seconds", result.wall_time_s),
        "eval_seconds": getattr(result, "eval_seconds", 0.0),
        "curve": list(getattr(result, "curve", [])),
    }
    save_error = getattr(result, "save_error", None)
    if save_error:
        attrs[SAVE_ERROR_ATTR] = save_error
    try:
        for key, value in attrs.items():
            storage.set_trial_user_attr(trial._trial_id, key, value)
        _report_curve(storage, trial, attrs["curve"], objective_names(study, directions)[0])
        study.tell(trial.number, values=values)
    except (optuna.exceptions.UpdateFinishedTrialError, ValueError) as exc:
        if not storage.get_trial(trial._trial_id).state.is_finished():
            raise
        # another worker declared this one lost and re-queued the point: its copy counts
        record = TrialRecord(trial.number, TrialState.FAIL.name, params, reason=LOST_WORKER_REASON)
        observer.message(f"trial {trial.number} was taken over by another worker ({exc})")
        return record
    record = TrialRecord(trial.number, TrialState.COMPLETE.name, params, dict(metrics))
    if save_error:
        observer.message(
            f"warning: trial {trial.number} finished, but its model was not saved ({save_error}); "
            "the metrics are stored"
        )
    observer.trial_finished(record)
    return record


def _report_curve(
    storage: optuna.storages.RDBStorage,
    trial: optuna.trial.FrozenTrial,
    curve: list[dict[str, Any]],
    metric: str,
) -> None:
    """The curve of the study's first objective as intermediate values: optuna-dashboard draws
    them (Optuna's `trial.report` is for single-objective studies only)."""
    from advisor.study.record import curve_steps

    for step, value in curve_steps(curve, metric).items():
        storage.set_trial_intermediate_value(trial._trial_id, step, value)


def _hook_kwargs(hook: Any) -> dict[str, Any]:
    return {} if hook is None else {"on_epoch": hook}


def _pruning_hook(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    trial: optuna.trial.FrozenTrial,
    pruner: Any,
) -> Any:
    """After each epoch: store the curve so far (optuna-dashboard and the pruner read it), then
    ask the pruner whether the run can still join the front."""

    def on_epoch(curve: list[dict[str, Any]]) -> bool:
        storage.set_trial_user_attr(trial._trial_id, "curve", list(curve))
        return bool(pruner.prune(study, storage.get_trial(trial._trial_id)))

    return on_epoch


def _pruned(
    study: optuna.Study,
    storage: optuna.storages.RDBStorage,
    trial: optuna.trial.FrozenTrial,
    params: dict[str, Any],
    result: Any,
    observer: Observer,
) -> TrialRecord:
    """A fine-tune the pruner stopped: PRUNED, with its curve, cost and the epoch it reached
    (no final metrics: it never finished)."""
    curve = list(result.curve)
    attrs = {
        "seed": params["seed"],
        "curve": curve,
        "pruned_at_epoch": curve[-1]["epoch"] if curve else 0,
        "wall_time_s": result.wall_time_s,
        "train_seconds": result.train_seconds,
        "eval_seconds": result.eval_seconds,
        "device": result.device,
    }
    for key, value in attrs.items():
        storage.set_trial_user_attr(trial._trial_id, key, value)
    directions = [d.name.lower() for d in study.directions]
    _report_curve(storage, trial, curve, objective_names(study, directions)[0])
    study.tell(trial.number, state=TrialState.PRUNED)
    record = TrialRecord(trial.number, TrialState.PRUNED.name, params, dict(result.metrics))
    observer.message(
        f"trial {trial.number} pruned after epoch {attrs['pruned_at_epoch']} of "
        f"{params['epochs']}: it can no longer reach the front"
    )
    observer.trial_finished(record)
    return record


def check_save_folder(root: str) -> None:
    """Before any training: `--save-models DIR` must be a folder this process can write (it is
    created when missing), so that no fine-tune is run for a model that cannot be kept.

    Raises:
        SpecError: DIR is a file, cannot be created, or cannot be written.
    """
    from advisor.errors import SpecError

    folder = os.path.abspath(root)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise SpecError(f"--save-models {folder} is a file, not a folder; pass a folder")
    try:
        os.makedirs(folder, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(prefix=".advisor-write-test-", dir=folder)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as exc:
        raise SpecError(
            f"--save-models {folder} cannot be written ({exc.strerror or exc}); pass a "
            "writable folder, or leave --save-models out"
        ) from exc


def objective_names(study: optuna.Study, directions: list[str]) -> list[str]:
    """The metric each objective value of the study holds (metric names, else accuracy,f1,loss)."""
    names = study.metric_names
    return list(names) if names else list(METRICS[: len(directions)])


def record_failure(
    storage: optuna.storages.RDBStorage,
    trial: optuna.trial.FrozenTrial,
    reason: str,
    detail: str,
    observer: Observer | None = None,
) -> TrialRecord:
    """Mark a RUNNING trial FAIL with `reason` (and `detail`) stored as user attributes.

    A trial that is already finished (failed as stale by another worker, say) is left as it is.
    """
    try:
        storage.set_trial_user_attr(trial._trial_id, FAIL_REASON_ATTR, reason)
        storage.set_trial_user_attr(trial._trial_id, FAIL_DETAIL_ATTR, detail[:2000])
        storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    except optuna.exceptions.UpdateFinishedTrialError:
        current = storage.get_trial(trial._trial_id)
        return TrialRecord(
            trial.number,
            current.state.name,
            dict(trial.params),
            reason=fail_reason(current) if current.state == TrialState.FAIL else None,
        )
    record = TrialRecord(trial.number, TrialState.FAIL.name, dict(trial.params), reason=reason)
    if observer is not None:
        observer.trial_finished(record)
    return record


def fail_reason(trial: optuna.trial.FrozenTrial) -> str:
    """Why a FAIL trial failed (a stale trial failed by another worker has no stored reason)."""
    return str(trial.user_attrs.get(FAIL_REASON_ATTR, LOST_WORKER_REASON))


def _is_out_of_memory(exc: BaseException) -> bool:
    """torch.OutOfMemoryError (CUDA/MPS) and allocator messages, without importing torch."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def release_memory() -> None:
    """Free what a failed fine-tune left behind, so the next trial gets the device's memory."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
