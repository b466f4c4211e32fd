"""Line-oriented progress (logs, CI, Slurm/Kubernetes workers), the collapse rule, the grid
summary at 80 columns and what a Ctrl-C message says, without any fine-tune."""

from __future__ import annotations

import io
import re

from rich.console import Console

from advisor.render.grid import (
    LineGridObserver,
    RichGridObserver,
    grid_summary,
    interrupted_message,
)
from advisor.study.grid_status import is_collapsed
from advisor.study.worker import TrialRecord


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


PARAMS = {"learning_rate": 1e-4, "batch_size": 16, "epochs": 2, "seed": 0}
TRAINED = {"accuracy": 0.79, "f1": 0.80, "loss": 0.45}
ALL_POSITIVE = {"accuracy": 0.5092, "f1": 2 * 0.5092 / 1.5092, "loss": 0.69}


def test_lines_show_phases_periodic_steps_and_the_grid_eta() -> None:
    out, clock = io.StringIO(), FakeClock()
    observer = LineGridObserver(stream=out, interval=30, clock=clock)
    observer.phase("loading data (train.tsv, validation.tsv)")
    clock.now += 4
    observer.phase("baseline: fine-tune lr=0.0002 batch=8 epochs=1")
    observer.step(1, 40)  # too soon after the last line: nothing
    clock.now += 31
    observer.step(20, 40)
    clock.now += 30
    observer.started(total=4, done=0)
    observer.trial_started(0, PARAMS)
    clock.now += 60
    observer.trial_finished(TrialRecord(0, "COMPLETE", PARAMS, TRAINED))
    observer.points_done(1, 4)
    observer.trial_started(1, PARAMS)
    clock.now += 10
    observer.step(5, 50)  # 10 s since the last line: quiet
    clock.now += 20
    observer.step(25, 50)
    observer.trial_finished(TrialRecord(1, "COMPLETE", PARAMS, ALL_POSITIVE))
    text = out.getvalue().splitlines()
    assert text[0] == "[0:00] loading data (train.tsv, validation.tsv) ..."
    assert text[1] == "[0:04] baseline: fine-tune lr=0.0002 batch=8 epochs=1 ..."
    assert text[2] == "[0:35]   baseline: step 20/40 (50%), 0:31 elapsed, ETA 0:31"
    assert text[3] == "[1:05] grid points: 0 of 4 done"
    assert text[4] == "[1:05] trial 0 started: lr=0.0001 batch=16 epochs=2 seed=0"
    assert text[5] == (
        "[2:05] trial 0 finished in 1:00: accuracy=0.7900 f1=0.8000 loss=0.4500; "
        "1/4 grid points, ETA 3:00"
    )
    assert text[7] == "[2:35]   trial 1: step 25/50 (50%), 0:30 elapsed, ETA 0:30"
    assert "predicted one class for every sentence" in text[8]
    assert text[8].endswith("2/4 grid points, ETA 1:30")
    assert len(text) == 9


def test_an_interrupted_trial_is_not_counted_done() -> None:
    out = io.StringIO()
    observer = LineGridObserver(stream=out, clock=FakeClock())
    observer.started(total=3, done=0)
    observer.trial_started(5, PARAMS)
    observer.trial_finished(TrialRecord(5, "FAIL", PARAMS, reason="interrupted"))
    assert observer.done == 0 and observer.finished == []
    assert "ETA" not in out.getvalue()
    message = interrupted_message(observer, "Run it again.")
    assert message == (
        'interrupted: trial 5 was stopped and is marked failed (reason "interrupted"). '
        "Run it again."
    )


def test_interrupted_message_names_what_was_running() -> None:
    observer = RichGridObserver(console=Console(file=io.StringIO()))
    observer.phase("baseline: fine-tune lr=0.0002 batch=8 epochs=1")
    assert interrupted_message(observer, "again").startswith(
        "interrupted: the baseline fine-tune was stopped before it finished; nothing was stored"
    )
    observer.trial_started(3, PARAMS)
    assert 'trial 3 was stopped and is marked failed (reason "interrupted")' in (
        interrupted_message(observer, "again")
    )
    observer.__exit__(None, None, None)


def test_collapse_rule_on_the_metrics_and_the_recorded_attribute() -> None:
    assert is_collapsed(ALL_POSITIVE)  # every sentence positive: F1 = 2a/(1+a)
    assert is_collapsed({"accuracy": 0.49, "f1": 0.0, "loss": 0.7})  # every one negative
    assert not is_collapsed({"accuracy": 0.5115, "f1": 0.6758, "loss": 0.68})  # nearly, not all
    assert not is_collapsed(TRAINED)
    assert not is_collapsed({**ALL_POSITIVE, "collapsed": False})  # the recorded flag decides
    assert is_collapsed({**TRAINED, "collapsed": True})
    assert not is_collapsed({"accuracy": float("nan"), "f1": float("nan")})
    assert not is_collapsed({})


def test_grid_summary_fits_80_columns_and_flags_collapse_and_a_chance_baseline() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=80)
    records = [
        TrialRecord(0, "COMPLETE", PARAMS, TRAINED),
        TrialRecord(1, "COMPLETE", PARAMS, ALL_POSITIVE),
        TrialRecord(2, "FAIL", PARAMS, reason="worker lost (no heartbeat); retries exhausted"),
    ]
    baseline = {
        "kind": "config",
        "params": {"learning_rate": 5e-5, "batch_size": 16, "epochs": 2},
        "metrics": ALL_POSITIVE,
        "collapsed": True,
    }
    grid_summary("demo", "sqlite:///advisor.db", records, console=console, baseline=baseline)
    text = buffer.getvalue()
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "…" not in text  # states fold, never truncate
    assert "one class" in text and "retries exhausted" in " ".join(text.split())
    flat = " ".join(text.split())
    assert "1 of 3 run(s) predicted one class for every sentence (trial 1" in flat
    assert "the baseline predicts one class for every sentence: it is at chance" in flat
    assert "[baseline] a configuration that learns" in flat


def test_bars_on_a_terminal_show_the_phase_then_the_grid() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    with RichGridObserver(console=console) as observer:
        observer.phase("loading data (train.tsv, validation.tsv)")
        observer.phase("baseline: fine-tune lr=0.0002 batch=8 epochs=1")
        observer.step(10, 38)
        observer.started(total=2, done=0)
        assert observer.phase_text is None
        observer.trial_started(0, PARAMS)
        observer.step(3, 10)
        observer.trial_finished(TrialRecord(0, "COMPLETE", PARAMS, ALL_POSITIVE))
        observer.trial_started(1, PARAMS)
        observer.trial_finished(TrialRecord(1, "FAIL", PARAMS, reason="interrupted"))
        points = next(t for t in observer.progress.tasks if t.id == observer.points)
        assert points.completed == 1  # the interrupted trial is not a finished point
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buffer.getvalue())  # colours, cursor moves
    assert "loading data (train.tsv, validation.tsv)" in text and "grid points" in text
    assert "trial 0 finished" in text and "predicted one class" in text


def test_interleaved_trials_of_several_workers_are_timed_from_their_own_start() -> None:
    out, clock = io.StringIO(), FakeClock()
    observer = LineGridObserver(stream=out, interval=30, clock=clock)
    observer.started(2, 0)
    observer.trial_started(0, PARAMS)
    clock.now += 10
    observer.trial_started(1, PARAMS)  # a second worker's trial begins while 0 runs
    clock.now += 15
    observer.trial_finished(TrialRecord(0, "COMPLETE", PARAMS, TRAINED))
    clock.now += 20
    observer.trial_finished(TrialRecord(1, "COMPLETE", PARAMS, TRAINED))
    lines = out.getvalue().splitlines()
    assert any("trial 0 finished in 0:25" in line for line in lines), lines
    assert any("trial 1 finished in 0:35" in line for line in lines), lines
