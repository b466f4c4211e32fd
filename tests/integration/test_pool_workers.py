"""`advisor grid --workers N` and `advisor tune --workers N`: N local processes on one SQLite
file split the work without duplicates, and Ctrl-C in the parent leaves no RUNNING trial.

Each run is a real `python -m advisor` process whose workers fine-tune the tiny model. A
`sitecustomize` on PYTHONPATH (loaded by the parent and by every spawned worker) makes each
optimizer step wait until two processes have started training (a barrier of marker files,
60 s at most), then sleep STEP_S: both workers must be training at the same moment, so a
`--workers` that ran one worker, or ran them one after the other, fails these tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
from conftest import tiny_spec_text
from optuna.trial import TrialState

from advisor.config import load_spec
from advisor.design import design_points, point_key
from advisor.study.grid_status import POINT_ATTR
from advisor.study.worker import FAIL_REASON_ATTR, INTERRUPTED_REASON, WORKER_ATTR

TIMEOUT_S = 400
STEP_S = 0.05
BARRIER = textwrap.dedent(f"""
    import os, time
    from pathlib import Path
    if os.environ.get("ADVISOR_TEST_BARRIER"):
        import transformers
        real_step = transformers.Trainer.training_step
        def training_step(self, *args, **kwargs):
            folder = Path(os.environ["ADVISOR_TEST_BARRIER"])
            (folder / f"{{os.getpid()}}.training").touch()
            deadline = time.monotonic() + 60
            while len(list(folder.glob("*.training"))) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep({STEP_S})
            return real_step(self, *args, **kwargs)
        transformers.Trainer.training_step = training_step
""")


def advisor_process(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """`python -m advisor ARGS` with the barrier loaded in it and in its workers."""
    markers = tmp_path / "markers"
    markers.mkdir(exist_ok=True)
    (tmp_path / "sitecustomize.py").write_text(BARRIER, encoding="utf-8")
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    env = {
        **os.environ,
        "PYTHONPATH": path,
        "ADVISOR_TEST_BARRIER": str(markers),
        "COLUMNS": "200",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "advisor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, out, err


def write_spec(tmp_path: Path, model: Path, data: Path, name: str, **kwargs: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(tiny_spec_text(model, data, name=name, **kwargs), encoding="utf-8")
    return path


def pid_of(trial: optuna.trial.FrozenTrial) -> int:
    return int(str(trial.user_attrs[WORKER_ATTR]).rpartition(":")[2])


def test_two_workers_finish_every_point_exactly_once(
    tmp_path: Path, tiny_model: Path, keyword_data: Path
) -> None:
    spec = write_spec(tmp_path, tiny_model, keyword_data, "pool", seeds="[0, 1]")
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    process = advisor_process(
        tmp_path, "grid", str(spec), "--storage", url, "--workers", "2", "--json"
    )
    code, out, err = finish(process)
    assert code == 0, err[-3000:]
    assert "2 workers on CPU" in err
    points = design_points(load_spec(spec))
    trials = optuna.load_study(study_name="pool", storage=url).get_trials()
    assert {t.state for t in trials} == {TrialState.COMPLETE}
    assert sorted(t.user_attrs[POINT_ATTR] for t in trials) == sorted(map(point_key, points))
    workers = {pid_of(t) for t in trials}
    assert len(workers) == 2 and process.pid not in workers  # two spawned workers trained
    reported = json.loads(out)["trials"]  # merged: every trial of both workers, once
    assert sorted(r["number"] for r in reported) == sorted(t.number for t in trials)
    assert {r["state"] for r in reported} == {"COMPLETE"}


def test_sigint_to_the_parent_stops_both_workers_and_leaves_nothing_running(
    tmp_path: Path, tiny_model: Path, keyword_data: Path
) -> None:
    spec = write_spec(
        tmp_path, tiny_model, keyword_data, "stop", seeds="[0, 1]", epochs="{ low = 5, high = 5 }"
    )
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    process = advisor_process(tmp_path, "grid", str(spec), "--storage", url, "--workers", "2")
    markers = tmp_path / "markers"
    deadline = time.monotonic() + 300
    while len(list(markers.glob("*.training"))) < 2:  # both workers inside a fine-tune
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the two workers never trained at once"
        time.sleep(0.1)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    code, _, err = finish(process)
    assert code == 130, err[-3000:]
    trials = optuna.load_study(study_name="stop", storage=url).get_trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    stopped = [t for t in trials if t.user_attrs.get(FAIL_REASON_ATTR) == INTERRUPTED_REASON]
    assert len({pid_of(t) for t in stopped}) == 2, [t.user_attrs for t in stopped]
    assert "interrupted" in err


def test_tune_workers_never_run_one_configuration_and_seed_twice_at_once(
    tmp_path: Path, tiny_model: Path, keyword_data: Path
) -> None:
    spec = write_spec(tmp_path, tiny_model, keyword_data, "tune")
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    grid = subprocess.run(
        [sys.executable, "-m", "advisor", "grid", str(spec), "--storage", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT_S,
    )
    assert grid.returncode == 0, grid.stderr[-3000:]
    process = advisor_process(
        tmp_path,
        "tune",
        "--study",
        "tune",
        "--objective",
        "f1,loss",
        "--trials",
        "4",
        "--seed",
        "0",
        "--storage",
        url,
        "--workers",
        "2",
        "--json",
    )
    code, out, err = finish(process)
    assert code == 0, err[-3000:]
    assert len(json.loads(out)["trials"]) == 4
    view = optuna.load_study(study_name="tune@f1,loss", storage=url)
    runs = [
        t
        for t in view.get_trials(states=(TrialState.COMPLETE,))
        if t.user_attrs.get("source") == "tune" and not t.user_attrs.get("answered_from_record")
    ]
    assert len(runs) == 4 and len({pid_of(t) for t in runs}) == 2

    def key(t: optuna.trial.FrozenTrial) -> tuple[float, int, int]:
        p = t.params
        return (round(p["learning_rate"], 12), p["batch_size"], p["epochs"])

    overlapping = 0
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            assert (key(a), a.user_attrs["seed"]) != (key(b), b.user_attrs["seed"])
            assert a.datetime_start and b.datetime_start
            assert a.datetime_complete and b.datetime_complete
            if a.datetime_start < b.datetime_complete and b.datetime_start < a.datetime_complete:
                overlapping += 1
                assert key(a) != key(b), "two workers were given the same configuration at once"
    assert overlapping >= 1  # the barrier made the two workers train at the same time
