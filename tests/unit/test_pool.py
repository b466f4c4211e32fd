"""`advisor.study.pool`: where workers run, how many, and how their events reach one display."""

from __future__ import annotations

from typing import Any

import pytest

from advisor.errors import SpecError
from advisor.study.placement import describe, placements, visible_gpus, worker_count
from advisor.study.pool_events import FanIn
from advisor.study.worker import INTERRUPTED_REASON, TrialRecord


def test_workers_are_spread_over_the_gpus_and_share_the_cores() -> None:
    where = placements(4, ["0", "1"], cores=16)
    assert [p.gpu for p in where] == ["0", "1", "0", "1"]
    assert {p.threads for p in where} == {4}
    assert where[1].env()["CUDA_VISIBLE_DEVICES"] == "1"
    assert where[1].env()["OMP_NUM_THREADS"] == "4"
    cpu = placements(2, [], cores=2)
    assert [p.gpu for p in cpu] == [None, None] and {p.threads for p in cpu} == {1}
    assert "CUDA_VISIBLE_DEVICES" not in cpu[0].env()
    assert {p.threads for p in placements(3, [], cores=2)} == {1}  # never below one thread
    assert describe(cpu, 2) == "2 workers on CPU, 1 CPU thread each (2 cores)"
    assert "GPU 0: 2, GPU 1: 2" in describe(where, 16)


def test_workers_per_gpu_multiplies_the_visible_gpus() -> None:
    assert worker_count(1, 3, ["0", "1"]) == 6
    assert worker_count(6, 3, ["0", "1"]) == 6
    assert worker_count(2, None, []) == 2
    with pytest.raises(SpecError, match="needs a CUDA GPU"):
        worker_count(1, 2, [])
    with pytest.raises(SpecError, match="disagree"):
        worker_count(4, 3, ["0", "1"])


def test_visible_gpus_follow_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert visible_gpus() == ["2", "3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert visible_gpus() == []


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.events.append((name, args))


def test_fan_in_shows_one_start_the_latest_trials_steps_and_no_sibling_waits() -> None:
    shown = Recorder()
    fan = FanIn(shown, total=6)  # type: ignore[arg-type]
    fan.dispatch(0, "phase", ("loading data",))
    fan.dispatch(0, "started", (3, 0))
    fan.dispatch(1, "phase", ("loading data",))  # a later worker loading: hidden
    fan.dispatch(1, "started", (3, 0))
    fan.dispatch(0, "trial_started", (0, {}))
    fan.dispatch(1, "trial_started", (1, {}))
    fan.dispatch(0, "step", (1, 10))  # not the latest trial: hidden
    fan.dispatch(1, "step", (2, 10))
    fan.dispatch(0, "trial_finished", (TrialRecord(0, "COMPLETE", {}),))
    fan.dispatch(0, "waiting", (1,))  # waits for worker 1's trial: hidden
    fan.dispatch(1, "trial_finished", (TrialRecord(1, "FAIL", {}, reason=INTERRUPTED_REASON),))
    fan.dispatch(0, "waiting", (1,))  # a trial elsewhere: shown
    names = [name for name, _ in shown.events]
    assert names == [
        "phase",
        "started",
        "trial_started",
        "trial_started",
        "step",
        "trial_finished",
        "trial_finished",
        "waiting",
    ]
    assert shown.events[1] == ("started", (6, 0))  # the pool's total
    assert shown.events[4] == ("step", (2, 10))
    assert fan.interrupted == [1]
