"""Several `advisor grid` processes on one storage: the grid is split without duplicates, a
worker killed with SIGKILL has its point taken over and finished, SIGINT/SIGTERM leave no
RUNNING trial behind. PostgreSQL (many hosts) and SQLite (a few local processes).

Each worker is a real `python -m advisor grid` process fine-tuning the tiny model.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from conftest import tiny_spec_text
from optuna.trial import TrialState

from advisor.config import load_spec
from advisor.design import design_points, point_key
from advisor.study.grid_status import POINT_ATTR
from advisor.study.worker import FAIL_REASON_ATTR, LOST_WORKER_REASON, WORKER_ATTR, fail_reason

WORKER_TIMEOUT_S = 300
ONE_POINT = {"lr": "[1e-3]", "batch": "[16]", "epochs": "[5]", "baseline": 'kind = "none"'}
# A worker that is `advisor grid` with one change for the test's timing: each optimizer step
# first marks the worker as training (a file named after its pid) and sleeps STEP_S, so a
# signal sent once the mark exists lands in the middle of a fine-tune on any machine.
STEP_S = 0.1
SLOWED = textwrap.dedent(f"""
    import os, sys, time
    from pathlib import Path
    import transformers
    real_step = transformers.Trainer.training_step
    def training_step(self, *args, **kwargs):
        Path(os.environ["MARKERS"], f"{{os.getpid()}}.training").touch()
        time.sleep({STEP_S})
        return real_step(self, *args, **kwargs)
    transformers.Trainer.training_step = training_step
    from advisor.cli import main
    sys.argv = ["advisor", *sys.argv[1:]]
    main()
""")


@pytest.fixture()
def study_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """A unique study name, deleted from every storage the test used afterwards."""
    name = f"test-{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"
    urls: list[str] = []
    request.node.storage_urls = urls
    yield name
    for url in urls:
        for candidate in optuna.get_all_study_names(url):
            if candidate == name:
                optuna.delete_study(study_name=name, storage=url)


def storage_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    url = (
        request.getfixturevalue("pg_url")
        if backend == "postgres"
        else f"sqlite:///{tmp_path / 'advisor.db'}"
    )
    request.node.storage_urls.append(url)
    return url


def write_spec(tmp_path: Path, model: Path, data: Path, name: str, **kwargs: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(tiny_spec_text(model, data, name=name, **kwargs), encoding="utf-8")
    return path


def start_worker(
    spec: Path, url: str, log: Path, *extra: str, slowed: bool = False
) -> subprocess.Popen[bytes]:
    """`advisor grid SPEC --storage URL --json` in its own process, output in log files."""
    entry = ["-c", SLOWED] if slowed else ["-m", "advisor"]
    command = [sys.executable, *entry, "grid", str(spec), "--storage", url, "--json", *extra]
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1", "MARKERS": str(log.parent)}
    with log.with_suffix(".out").open("wb") as out, log.with_suffix(".err").open("wb") as err:
        return subprocess.Popen(command, stdout=out, stderr=err, env=env)


def finish(process: subprocess.Popen[bytes], log: Path) -> tuple[int, str, str]:
    try:
        code = process.wait(timeout=WORKER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return (code, log.with_suffix(".out").read_text(), log.with_suffix(".err").read_text())


def wait_for_training(folder: Path, pids: set[int], timeout: float = 240.0) -> int:
    """The pid of the first (slowed) worker that is inside an optimizer step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in pids:
            if (folder / f"{pid}.training").exists():
                return pid
        time.sleep(0.05)
    raise AssertionError(f"no worker of {sorted(pids)} started training within {timeout} s")


def running_trial_of(url: str, name: str, pid: int) -> optuna.trial.FrozenTrial:
    study = optuna.load_study(study_name=name, storage=url)
    mine = [
        t
        for t in study.get_trials(states=(TrialState.RUNNING,))
        if t.user_attrs.get(WORKER_ATTR, "").endswith(f":{pid}")
    ]
    assert len(mine) == 1, mine
    return mine[0]


def trials_of(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).get_trials()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_three_workers_split_the_grid_without_duplicates(
    backend: str,
    request: pytest.FixtureRequest,
    study_name: str,
    tmp_path: Path,
    tiny_model: Path,
    sst2_sample: Path,
) -> None:
    url = storage_url(request, backend, tmp_path)
    spec = write_spec(tmp_path, tiny_model, sst2_sample, study_name, seeds="[0, 1]")
    points = design_points(load_spec(spec))
    assert len(points) == 8  # 2 learning rates x 2 batch sizes x 2 seeds
    workers = [start_worker(spec, url, tmp_path / f"w{i}") for i in range(3)]
    outcomes = [finish(w, tmp_path / f"w{i}") for i, w in enumerate(workers)]

    for code, _out, err in outcomes:
        assert code == 0, err[-3000:]
        assert "database is locked" not in err and "Traceback" not in err, err[-3000:]
    trials = trials_of(url, study_name)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 8
    assert sorted(t.user_attrs[POINT_ATTR] for t in trials) == sorted(map(point_key, points))
    finished = [row["number"] for _, out, _ in outcomes for row in json.loads(out)["trials"]]
    assert sorted(finished) == sorted(t.number for t in trials)  # each run by exactly one worker
    study = optuna.load_study(study_name=study_name, storage=url)
    assert "advisor:baseline" in study.user_attrs


@pytest.mark.postgres
def test_sigkilled_worker_has_its_point_taken_over_and_finished(
    request: pytest.FixtureRequest,
    study_name: str,
    tmp_path: Path,
    tiny_model: Path,
    sst2_sample: Path,
) -> None:
    url = storage_url(request, "postgres", tmp_path)
    spec = write_spec(tmp_path, tiny_model, sst2_sample, study_name, **ONE_POINT)
    logs = [tmp_path / "a", tmp_path / "b"]
    # grace 6 s, heartbeats every 2 s: a beat delayed by a loaded machine must not let the other
    # worker take the point over before the kill (seen with grace 2 s and 4 jobs on 2 cores)
    started = [start_worker(spec, url, log, "--grace-period", "6", slowed=True) for log in logs]
    workers = {w.pid: (w, log) for w, log in zip(started, logs, strict=True)}
    pid = wait_for_training(tmp_path, set(workers))
    victim = running_trial_of(url, study_name, pid)
    os.kill(pid, signal.SIGKILL)  # in the middle of its fine-tune
    assert workers[pid][0].wait(timeout=30) == -signal.SIGKILL
    assert trials_of(url, study_name)[victim.number].state == TrialState.RUNNING

    survivor = next(p for p in workers if p != pid)
    code, out, err = finish(*workers[survivor])
    assert code == 0, err[-3000:]
    trials = trials_of(url, study_name)
    assert len(trials) == 2  # one point: the stale trial and its re-run
    lost, rerun = trials
    assert lost.number == victim.number and lost.state == TrialState.FAIL
    assert FAIL_REASON_ATTR not in lost.user_attrs and fail_reason(lost) == LOST_WORKER_REASON
    assert rerun.state == TrialState.COMPLETE
    assert rerun.system_attrs["failed_trial"] == victim.number
    assert rerun.user_attrs[POINT_ATTR] == lost.user_attrs[POINT_ATTR]
    assert rerun.user_attrs[WORKER_ATTR].endswith(f":{survivor}")
    assert [row["number"] for row in json.loads(out)["trials"]] == [rerun.number]


@pytest.mark.postgres
def test_sigint_and_sigterm_leave_no_running_trial(
    request: pytest.FixtureRequest,
    study_name: str,
    tmp_path: Path,
    tiny_model: Path,
    sst2_sample: Path,
) -> None:
    url = storage_url(request, "postgres", tmp_path)
    names = {signal.SIGINT: f"{study_name}-int", signal.SIGTERM: f"{study_name}-term"}
    workers = {}
    try:
        for signum, name in names.items():
            spec = write_spec(tmp_path, tiny_model, sst2_sample, name, **ONE_POINT)
            workers[signum] = start_worker(spec, url, tmp_path / name, slowed=True)
        for signum, worker in workers.items():
            wait_for_training(tmp_path, {worker.pid})
            worker.send_signal(signum)  # in the middle of its fine-tune
        outcomes = {s: finish(w, tmp_path / names[s]) for s, w in workers.items()}
        assert outcomes[signal.SIGINT][0] == 130, outcomes[signal.SIGINT][2][-3000:]
        assert outcomes[signal.SIGTERM][0] == 143, outcomes[signal.SIGTERM][2][-3000:]
        for signum, name in names.items():
            assert "error: interrupted" in outcomes[signum][2]
            trials = trials_of(url, name)
            assert [t.state for t in trials] == [TrialState.FAIL], name
            assert trials[0].user_attrs[FAIL_REASON_ATTR] == "interrupted"
            assert trials[0].user_attrs[WORKER_ATTR].endswith(f":{workers[signum].pid}")
    finally:
        for name in names.values():
            if name in optuna.get_all_study_names(url):
                optuna.delete_study(study_name=name, storage=url)
