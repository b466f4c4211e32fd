"""Bad runs, not bad tools: a diverged loss, an out-of-memory error or any exception fails its
trial with a reason and the grid goes on; Ctrl-C fails the running trial "interrupted";
lost workers are retried a bounded number of times; progress counts every worker's points."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
import transformers
from conftest import tiny_spec_text
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState
from typer.testing import CliRunner

from advisor.cli import app
from advisor.config import load_spec
from advisor.design import design_points
from advisor.study.grid import (
    GridOptions,
    claim_next,
    create_grid_study,
    enqueue_missing,
    run_grid,
)
from advisor.study.grid_status import MAX_RETRY, POINT_ATTR
from advisor.study.storage import open_storage
from advisor.study.worker import FAIL_REASON_ATTR, LOST_WORKER_REASON, SilentObserver, fail_reason

runner = CliRunner()


def write_spec(tmp_path: Path, model: Path, data: Path, name: str, **kwargs: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(tiny_spec_text(model, data, name=name, **kwargs), encoding="utf-8")
    return path


def grid_json(*args: str, code: int = 0) -> dict[str, Any]:
    result = runner.invoke(app, ["grid", *args, "--json"])
    assert result.exit_code == code, (result.output, result.exception)
    return json.loads(result.stdout) if code == 0 else {"stderr": result.stderr}


def by_reason(trials: list[optuna.trial.FrozenTrial]) -> dict[tuple[float, int], str]:
    return {
        (t.params["learning_rate"], t.params["batch_size"]): t.state.name
        if t.state != TrialState.FAIL
        else fail_reason(t)
        for t in trials
    }


def test_diverged_oom_and_crash_fail_their_trial_and_the_grid_goes_on(
    tmp_path: Path, tiny_model: Path, sst2_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # lr 1e30 really diverges (NaN loss); batch 32 runs out of memory (lr 1e-3) or crashes
    spec = write_spec(
        tmp_path, tiny_model, sst2_sample, "bad-runs", lr="[1e30, 1e-3]", baseline='kind = "none"'
    )
    real_train = transformers.Trainer.train

    def train(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.args.per_device_train_batch_size == 32:
            if self.args.learning_rate == 1e-3:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            raise RuntimeError("boom")
        return real_train(self, *args, **kwargs)

    monkeypatch.setattr(transformers.Trainer, "train", train)
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    first = grid_json(str(spec), "--storage", url)
    expected = {
        (1e30, 16): "diverged loss",
        (1e30, 32): "exception",
        (1e-3, 16): "COMPLETE",
        (1e-3, 32): "out of memory",
    }
    study = optuna.load_study(study_name="bad-runs", storage=url)
    assert by_reason(study.trials) == expected
    assert {
        (r["params"]["learning_rate"], r["params"]["batch_size"]): r.get("reason", r["state"])
        for r in first["trials"]
    } == expected
    crash = next(t for t in study.trials if fail_reason(t) == "exception")
    assert "RuntimeError: boom" in crash.user_attrs["fail_detail"]

    status = runner.invoke(app, ["grid", str(spec), "--storage", url, "--status"])
    assert status.exit_code == 0
    for reason in ("diverged loss", "out of memory", "exception", "RuntimeError: boom"):
        assert reason in status.stdout
    report = grid_json(str(spec), "--storage", url, "--status")
    assert report["points"] == {"total": 4, "complete": 1, "open": 0, "failed": 3, "pending": 0}
    assert {f["reason"]: f["final"] for f in report["failed_points"]} == {
        "diverged loss": True,
        "exception": False,
        "out of memory": False,
    }

    # the next run re-runs the accidents, never the diverged point (a result, not an accident)
    again = grid_json(str(spec), "--storage", url)
    assert sorted(r["reason"] for r in again["trials"]) == ["exception", "out of memory"]
    monkeypatch.setattr(transformers.Trainer, "train", real_train)
    last = grid_json(str(spec), "--storage", url)  # batch 32 trains now: lr 1e30 diverges
    assert {
        (r["params"]["learning_rate"], r.get("reason", r["state"])) for r in last["trials"]
    } == {(1e-3, "COMPLETE"), (1e30, "diverged loss")}
    assert grid_json(str(spec), "--storage", url)["trials"] == []


def test_ctrl_c_fails_the_running_trial_interrupted_and_the_next_run_resumes(
    tmp_path: Path, tiny_model: Path, sst2_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = write_spec(
        tmp_path, tiny_model, sst2_sample, "ctrl-c", lr="[1e-3]", baseline='kind = "none"'
    )
    real_train = transformers.Trainer.train
    calls: list[int] = []

    def train(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_train(self, *args, **kwargs)

    monkeypatch.setattr(transformers.Trainer, "train", train)
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    stopped = grid_json(str(spec), "--storage", url, code=130)
    assert "interrupted" in stopped["stderr"]
    study = optuna.load_study(study_name="ctrl-c", storage=url)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.FAIL]
    assert study.trials[1].user_attrs[FAIL_REASON_ATTR] == "interrupted"

    resumed = grid_json(str(spec), "--storage", url)
    assert [r["state"] for r in resumed["trials"]] == ["COMPLETE"]
    assert resumed["trials"][0]["params"]["batch_size"] == study.trials[1].params["batch_size"]


def abandon(storage: optuna.storages.RDBStorage, trial_id: int) -> None:
    """What a worker killed right after claiming leaves: RUNNING with one old heartbeat."""
    storage.record_heartbeat(trial_id)
    assert storage.set_trial_state_values(trial_id, state=TrialState.RUNNING)


def test_a_point_that_keeps_losing_its_worker_is_retried_a_bounded_number_of_times(
    tmp_path: Path, tiny_model: Path, sst2_sample: Path
) -> None:
    spec_path = write_spec(
        tmp_path, tiny_model, sst2_sample, "lost", lr="[1e-3]", baseline='kind = "none"'
    )
    spec = load_spec(spec_path)
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    storage = open_storage(
        url,
        heartbeat_interval=1,
        grace_period=1,
        stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(MAX_RETRY),
    )
    study = create_grid_study(spec, storage)
    assert enqueue_missing(study, spec, design_points(spec)) == 2
    poison = study.trials[0]
    for attempt in range(MAX_RETRY + 1):  # the first try and every retry lose their worker
        waiting = [
            t
            for t in study.get_trials(states=(TrialState.WAITING,))
            if t.user_attrs[POINT_ATTR] == poison.user_attrs[POINT_ATTR]
        ]
        assert len(waiting) == 1, attempt
        abandon(storage, waiting[0]._trial_id)
        time.sleep(2.1)  # SQLite's clock has whole seconds; grace is 1 s
        optuna.storages.fail_stale_trials(study)
    lost = [t for t in study.trials if t.user_attrs[POINT_ATTR] == poison.user_attrs[POINT_ATTR]]
    assert [t.state for t in lost] == [TrialState.FAIL] * (MAX_RETRY + 1)
    assert {fail_reason(t) for t in lost} == {LOST_WORKER_REASON}

    run = grid_json(str(spec_path), "--storage", url)  # runs the other point only
    assert [r["params"]["batch_size"] for r in run["trials"]] == [32]
    status = runner.invoke(app, ["grid", str(spec_path), "--storage", url, "--status"])
    assert "retries exhausted after 3 attempts" in " ".join(status.stdout.split())
    report = grid_json(str(spec_path), "--storage", url, "--status")
    assert report["failed_points"] == [
        {
            "point": poison.user_attrs[POINT_ATTR],
            "params": {**poison.params},
            "attempts": MAX_RETRY + 1,
            "final": True,
            "reason": f"{LOST_WORKER_REASON}; retries exhausted after {MAX_RETRY + 1} attempts",
        }
    ]
    assert grid_json(str(spec_path), "--storage", url)["trials"] == []  # stays FAIL

    retried = grid_json(str(spec_path), "--storage", url, "--retry-failed")
    assert [(r["params"]["batch_size"], r["state"]) for r in retried["trials"]] == [
        (16, "COMPLETE")
    ]


class Recorder(SilentObserver):
    def __init__(self) -> None:
        self.done: list[tuple[int, int]] = []
        self.waits: list[int] = []

    def points_done(self, done: int, total: int) -> None:
        self.done.append((done, total))

    def waiting(self, running_elsewhere: int) -> None:
        self.waits.append(running_elsewhere)


def test_progress_counts_points_finished_by_other_workers(
    tmp_path: Path, tiny_model: Path, sst2_sample: Path
) -> None:
    spec = load_spec(
        write_spec(
            tmp_path, tiny_model, sst2_sample, "shared", lr="[1e-3]", baseline='kind = "none"'
        )
    )
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    storage = open_storage(url)
    study = create_grid_study(spec, storage)
    enqueue_missing(study, spec, design_points(spec))
    other = claim_next(study, storage)  # another worker's trial, heartbeating
    assert other is not None
    stop = threading.Event()

    def other_worker() -> None:
        while not stop.wait(0.2):
            storage.record_heartbeat(other._trial_id)
            mine = [t for t in study.get_trials(states=(TrialState.COMPLETE,))]
            if mine:  # this worker finished its point: finish ours a moment later
                time.sleep(1.0)
                storage.set_trial_state_values(
                    other._trial_id, TrialState.COMPLETE, [0.5, 0.5, 0.7]
                )
                return

    thread = threading.Thread(target=other_worker)
    thread.start()
    recorder = Recorder()
    try:
        result = run_grid(spec, url, recorder, GridOptions(poll_interval=0.2))
    finally:
        stop.set()
        thread.join()
    assert len(result.trials) == 1  # this worker ran one point, the other worker one
    assert recorder.waits and set(recorder.waits) == {1}
    assert recorder.done[0] == (0, 2) and recorder.done[-1] == (2, 2)
    assert (1, 2) in recorder.done


class _Result:
    metrics = {"accuracy": 0.75, "f1": 0.7, "loss": 0.5}
    wall_time_s = train_samples_per_second = train_runtime_s = 1.0
    steps = 1
    device = "cpu"


def _claimed_trial(
    tmp_path: Path,
) -> tuple[optuna.storages.RDBStorage, optuna.Study, optuna.trial.FrozenTrial]:
    """A one-trial study whose only trial this process has claimed (RUNNING)."""
    storage = open_storage(f"sqlite:///{tmp_path / 'advisor.db'}")
    study = optuna.create_study(
        study_name="s", storage=storage, directions=["maximize", "maximize", "minimize"]
    )
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params={"learning_rate": 1e-3, "batch_size": 16, "epochs": 1},
            distributions={
                "learning_rate": FloatDistribution(1e-5, 1e-2, log=True),
                "batch_size": IntDistribution(8, 64),
                "epochs": IntDistribution(1, 3),
            },
        )
    )
    trial = claim_next(study, storage)
    assert trial is not None
    return storage, study, trial


def test_a_worker_whose_trial_was_taken_over_keeps_going(tmp_path: Path) -> None:
    """Another worker declared this one lost (failed its trial, queued a retry) while it was
    still training: the late result is dropped, not stored twice, and nothing crashes."""
    from advisor.study.worker import run_trial

    storage, study, trial = _claimed_trial(tmp_path)

    class TakenOver:
        def run(self, params: dict[str, Any], seed: int, **kwargs: Any) -> _Result:
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)  # the other worker
            return _Result()

    record = run_trial(study, storage, trial, TakenOver(), None, SilentObserver(), 1.0)
    assert record.state == "FAIL" and record.reason == LOST_WORKER_REASON
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL]


def test_signals_are_held_back_while_storage_is_written() -> None:
    import os
    import signal

    from advisor.study.worker import deferred_signals

    reached = []
    # Python's own Ctrl-C handler, whatever this process inherited (a shell starts background
    # jobs with SIGINT ignored, and Python then leaves it ignored).
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), deferred_signals():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            reached.append("end of block")
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert reached == ["end of block"]


def test_storage_lost_during_the_grid_is_one_line_with_the_password_masked(
    tmp_path: Path, tiny_model: Path, sst2_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy

    spec = write_spec(
        tmp_path,
        tiny_model,
        sst2_sample,
        "db-lost",
        lr="[1e-3]",
        batch="[16]",
        baseline='kind = "none"',
    )

    def gone(*args: Any, **kwargs: Any) -> None:
        raise sqlalchemy.exc.OperationalError(
            "UPDATE trials", {}, Exception("connection to postgresql://u:hunter2@db/x lost")
        )

    monkeypatch.setattr(optuna.storages.RDBStorage, "set_trial_user_attr", gone)
    result = runner.invoke(
        app, ["grid", str(spec), "--storage", f"sqlite:///{tmp_path / 'advisor.db'}"]
    )
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    error = [line for line in lines if line.startswith("error:")]
    assert len(error) == 1 and "failed" in error[0] and "u:***@db" in error[0], lines
    assert "hunter2" not in result.output and "Traceback" not in result.output


def test_out_of_memory_outside_the_trainer_is_still_out_of_memory(tmp_path: Path) -> None:
    """On an H100, a real CUDA OOM was raised while the Trainer moved the model to the GPU,
    outside the training loop: a raw torch.OutOfMemoryError that must still read as OOM."""
    from advisor.study.worker import run_trial

    storage, study, trial = _claimed_trial(tmp_path)

    class NoMemory:
        def run(self, params: dict[str, Any], seed: int, **kwargs: Any) -> _Result:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB.")

    record = run_trial(study, storage, trial, NoMemory(), None, SilentObserver(), 1.0)
    stored = study.get_trials()[0]
    assert record.reason == "out of memory" and stored.state == TrialState.FAIL
    assert stored.user_attrs[FAIL_REASON_ATTR] == "out of memory"
    assert "Tried to allocate 20.00 MiB" in stored.user_attrs["fail_detail"]
