"""Several local workers on one storage: `advisor grid --workers N`, `advisor tune --workers N`.

Each worker is a spawned process (not forked: the parent may hold torch, CUDA and SQLite
handles) running the same library call as a single `advisor grid` or `advisor tune`, so the
work is split exactly as between separate processes: atomic claims under the study lock,
heartbeats, takeover of a dead worker's trial. What the pool adds:

- placement (`advisor.study.placement`): with G CUDA GPUs, worker i sees only GPU i mod G
  (`CUDA_VISIBLE_DEVICES`), and the usable cores are split between the workers
  (`OMP_NUM_THREADS` and friends), so N workers do not each start one thread per core;
- one progress display (`advisor.study.pool_events`): workers send their observer events over
  a queue and the parent drives one observer (the first `started`, every trial, the step bar
  of the latest trial);
- one preparation: worker 0 runs alone until it reports `started` (data and model loaded and
  checked, baseline stored, points queued, all under the study lock as for one process), so a
  bad spec fails once and the baseline is never computed twice; then the others start;
- signals: a worker runs in its own process group, so a terminal's Ctrl-C reaches the parent
  only, which forwards it (SIGINT, or SIGTERM for SIGTERM) once to every worker and waits for
  them: each fails its running trial as "interrupted" before it exits. A worker whose parent
  died stops the same way at its next training step.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue as queue_module
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from advisor.errors import AdvisorError
from advisor.study.placement import Placement, placed_environment
from advisor.study.pool_events import FanIn, QueueObserver
from advisor.study.worker import Interrupted, Observer, deferred_signals, sigterm_as_interrupt

DRAIN_TIMEOUT_S = 60.0  # after a forwarded signal, how long workers get to close their trials
_POLL_S = 0.2


class WorkerError(AdvisorError):
    """A worker process stopped without a result (a crash, or killed)."""


def run_workers(
    target: Callable[..., Any],
    jobs: Sequence[dict[str, Any]],
    observer: Observer,
    where: Sequence[Placement],
    *,
    total: int | None = None,
    first_is_enough: bool = False,
    setup: Callable[[], None] | None = None,
) -> list[Any]:
    """Run `target(observer=..., **jobs[i])` in worker process i, placed by `where[i]`, and
    return the results of the workers that finished (in worker order). `setup` (a module-level
    function) runs first in each worker: the CLI's logging and warning filters, say.

    Worker 0 starts alone and the others once it reports `started` (its preparation is
    done); with `first_is_enough`, none is started when worker 0 has already returned by then
    (`run_grid` returns only when every point is finished). Ctrl-C or SIGTERM in the parent
    is forwarded to every worker; the parent waits until each has closed its trial, then
    raises the KeyboardInterrupt (`Interrupted` for SIGTERM) it received.

    Raises:
        AdvisorError: the error a worker raised (spec, data, model, storage), after the other
            workers finished; `WorkerError` when every worker stopped without a result.
        KeyboardInterrupt: the parent was interrupted (after the workers closed their trials).
    """
    if len(jobs) != len(where):
        raise ValueError(f"{len(jobs)} jobs for {len(where)} placements")
    pool = _Pool(target, list(jobs), list(where), FanIn(observer, total), setup)
    with sigterm_as_interrupt():
        try:
            pool.start(0)
            pool.wait(until=lambda: pool.fanin.shown_started or 0 in pool.ended)
            if 0 in pool.ended and (first_is_enough or 0 not in pool.results):
                pool.wait(until=lambda: True)
            else:
                for index in range(1, len(jobs)):
                    pool.start(index)
            pool.wait(until=lambda: len(pool.ended) == len(pool.processes))
        except KeyboardInterrupt as exc:
            pool.stop(signal.SIGTERM if isinstance(exc, Interrupted) else signal.SIGINT)
            raise
    return pool.outcome()


class _Pool:
    """The worker processes, their queue, and what each one ended with."""

    def __init__(
        self,
        target: Callable[..., Any],
        jobs: list[dict[str, Any]],
        where: list[Placement],
        fanin: FanIn,
        setup: Callable[[], None] | None = None,
    ) -> None:
        self.setup = setup
        self.context = multiprocessing.get_context("spawn")
        self.queue: Any = self.context.Queue()
        self.target, self.jobs, self.where, self.fanin = target, jobs, where, fanin
        self.processes: dict[int, Any] = {}
        self.results: dict[int, Any] = {}
        self.errors: dict[int, BaseException] = {}
        self.ended: set[int] = set()

    def start(self, index: int) -> None:
        args = (self.target, self.jobs[index], index, os.getpid(), self.queue, self.setup)
        process = self.context.Process(target=_worker_main, args=args, name=f"advisor-{index}")
        # a signal waits until the worker is started and known, so it is forwarded to it too
        with deferred_signals(), placed_environment(self.where[index].env()):
            process.start()  # the spawned child copies the environment here
            self.processes[index] = process

    def wait(self, until: Callable[[], bool]) -> None:
        """Relay events until `until()` holds (checked after each event or poll)."""
        while True:
            self._relay(_POLL_S)
            self._reap()
            if until():
                return

    def _relay(self, timeout: float) -> bool:
        try:
            index, kind, payload = self.queue.get(timeout=timeout)
        except queue_module.Empty:
            return False
        if kind == "event":
            self.fanin.dispatch(index, *payload)
        elif kind == "result":
            self.results[index] = payload
        elif kind == "error":
            self.errors[index] = payload
        return True

    def _reap(self) -> None:
        for index, process in self.processes.items():
            if index in self.ended or process.exitcode is None:
                continue
            while self._relay(0.05):  # what it sent before it exited
                pass
            self.ended.add(index)
            if index not in self.results and index not in self.errors:
                self._lost(index, process)

    def _lost(self, index: int, process: Any) -> None:
        code = process.exitcode
        if code in (130, 143):
            how = "was interrupted"
        else:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            if len(self.ended) < len(self.processes):
                how += "; the others go on and take over its trial after the grace period"
        self.errors[index] = WorkerError(f"worker {index} (pid {process.pid}) {how}")
        if code not in (130, 143):  # an interrupted worker's trial line says so already
            self.fanin.dispatch(index, "message", (f"worker {index} (pid {process.pid}) {how}",))

    def stop(self, signum: int) -> None:
        """Forward `signum` to every live worker and wait (signals held off) until each has
        closed its trial; a worker still alive after DRAIN_TIMEOUT_S is killed."""
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for index, process in self.processes.items():
                if index not in self.ended and process.exitcode is None:
                    _signal(process, signum)
            deadline = time.monotonic() + DRAIN_TIMEOUT_S
            while len(self.ended) < len(self.processes) and time.monotonic() < deadline:
                self._relay(_POLL_S)
                self._reap()
            for process in self.processes.values():
                if process.exitcode is None:
                    process.kill()
                    process.join(5)
        finally:
            for signum_, handler in previous.items():
                signal.signal(signum_, handler)

    def outcome(self) -> list[Any]:
        for process in self.processes.values():
            process.join()
        raised = [e for e in self.errors.values() if not isinstance(e, WorkerError)]
        if raised:
            raise raised[0]
        if not self.results:
            lost = "; ".join(str(e) for e in self.errors.values()) or "no worker ran"
            raise WorkerError(f"no worker finished: {lost}")
        return [self.results[i] for i in sorted(self.results)]


def _signal(process: Any, signum: int) -> None:
    with suppress(ProcessLookupError):  # it has just exited
        os.kill(process.pid, signum)


def _worker_main(
    target: Callable[..., Any],
    job: dict[str, Any],
    index: int,
    parent: int,
    queue: Any,
    setup: Callable[[], None] | None,
) -> None:
    """A worker process: run the job, send its result or its error, exit 130/143 when
    interrupted."""
    os.setpgrp()  # the terminal's Ctrl-C goes to the parent, which forwards it once
    observer = QueueObserver(queue, index, parent)
    try:
        if setup is not None:
            setup()
        result = target(observer=observer, **job)
    except KeyboardInterrupt as exc:  # the trial is closed by now; hold further signals off
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        sys.exit(143 if isinstance(exc, Interrupted) else 130)
    except AdvisorError as exc:
        queue.put((index, "error", _portable(exc)))
        sys.exit(1)
    except Exception as exc:
        traceback.print_exc()
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        queue.put((index, "error", WorkerError(f"worker {index} crashed: {detail}")))
        sys.exit(1)
    queue.put((index, "result", result))


def _portable(exc: AdvisorError) -> AdvisorError:
    """The error itself where it survives pickling, else its message as an AdvisorError."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return AdvisorError(str(exc))
    return exc


def grid_workers(
    spec: Any,
    storage_url: str | None,
    observer: Observer,
    options: Any,
    where: Sequence[Placement],
    setup: Callable[[], None] | None = None,
) -> Any:
    """`run_grid` in `len(where)` workers; one `GridResult` with every trial they finished."""
    from advisor.study.grid import GridResult, run_grid
    from advisor.study.storage import resolve_storage_url

    url = resolve_storage_url(storage_url)
    job = {"spec": spec, "storage_url": url, "options": options}
    results = run_workers(
        run_grid, [job] * len(where), observer, where, first_is_enough=True, setup=setup
    )
    merged = GridResult(results[0].study, results[0].storage, results[0].total_points)
    merged.trials = sorted((t for r in results for t in r.trials), key=lambda t: t.number)
    return merged


def tune_workers(
    observer: Observer,
    where: Sequence[Placement],
    *,
    trials: int,
    seed: int | None = None,
    setup: Callable[[], None] | None = None,
    **tune_options: Any,
) -> Any:
    """`advisor.tune.tune` in up to `len(where)` workers sharing `trials` fine-tunes; worker i
    is seeded `seed + i`, so seeded samplers do not propose in lockstep. One `TuneResult`."""
    from advisor.study.storage import resolve_storage_url
    from advisor.tune import TuneResult, tune

    url = resolve_storage_url(tune_options.pop("storage_url", None))
    used = list(where)[: max(1, min(len(where), trials))]
    shares = [trials // len(used) + (i < trials % len(used)) for i in range(len(used))]
    jobs = [
        {
            **tune_options,
            "storage_url": url,
            "trials": share,
            "seed": None if seed is None else seed + i,
        }
        for i, share in enumerate(shares)
    ]
    results = run_workers(tune, jobs, observer, used, total=trials, setup=setup)
    merged = TuneResult(results[0].study, results[0].storage, [], record=results[0].record)
    merged.trials = sorted((t for r in results for t in r.trials), key=lambda t: t.number)
    merged.decisions = [d for r in results for d in r.decisions]
    return merged
