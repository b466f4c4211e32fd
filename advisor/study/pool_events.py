"""How the events of many workers reach one progress display.

A worker's `QueueObserver` sends every observer event to the parent; the parent's `FanIn`
decides which of them the one observer it drives is shown.
"""

from __future__ import annotations

import os
import time
from typing import Any

from advisor.study.worker import INTERRUPTED_REASON, Interrupted, Observer

STEP_EVENT_S = 0.25  # at most this often a worker sends a step of its fine-tune


class QueueObserver:
    """A worker's observer: every event goes to the parent over `queue`, tagged with the
    worker's index. Step events are thinned to one per STEP_EVENT_S (and the last)."""

    def __init__(self, queue: Any, index: int, parent: int) -> None:
        self.queue, self.index, self.parent = queue, index, parent
        self.last_step = 0.0

    def _send(self, method: str, *args: Any) -> None:
        self.queue.put((self.index, "event", (method, args)))

    def _check_parent(self) -> None:
        if os.getppid() != self.parent:  # orphaned: stop as if interrupted
            raise Interrupted()

    def started(self, total: int, done: int) -> None:
        self._send("started", total, done)

    def phase(self, text: str) -> None:
        self._send("phase", text)

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        self._check_parent()
        self._send("trial_started", number, params)

    def step(self, done: int, total: int) -> None:
        self._check_parent()
        now = time.monotonic()
        if now - self.last_step >= STEP_EVENT_S or done >= total:
            self.last_step = now
            self._send("step", done, total)

    def trial_finished(self, record: Any) -> None:
        self._send("trial_finished", record)

    def waiting(self, running_elsewhere: int) -> None:
        self._check_parent()
        self._send("waiting", running_elsewhere)

    def points_done(self, done: int, total: int) -> None:
        self._send("points_done", done, total)

    def message(self, text: str) -> None:
        self._send("message", text)


class FanIn:
    """Drives one observer from the events of many workers.

    The first `started` is shown (with `total`, when given, as the total); phases only
    before it (later workers loading their copy of the model would hide the trials); every
    trial start, end and message; steps of the latest trial started only; a `waiting` only
    when no other worker of the pool is training (otherwise it waits for its own siblings).
    """

    def __init__(self, observer: Observer, total: int | None = None) -> None:
        self.observer, self.total = observer, total
        self.shown_started = False
        self.running: dict[int, int] = {}  # worker -> trial number
        self.focus: int | None = None
        self.interrupted: list[int] = []  # trials closed as "interrupted"

    def dispatch(self, worker: int, method: str, args: tuple[Any, ...]) -> None:
        if not self._forwarded(worker, method, args):
            return
        if method == "started" and self.total is not None:
            args = (self.total, 0)
        hook = getattr(self.observer, method, None)
        if hook is not None:
            hook(*args)

    def _forwarded(self, worker: int, method: str, args: tuple[Any, ...]) -> bool:
        if method == "started":
            first, self.shown_started = not self.shown_started, True
            return first
        if method == "phase":
            return not self.shown_started
        if method == "trial_started":
            self.running[worker], self.focus = int(args[0]), worker
        elif method == "trial_finished":
            self.running.pop(worker, None)
            self.focus = None if self.focus == worker else self.focus
            if getattr(args[0], "reason", None) == INTERRUPTED_REASON:
                self.interrupted.append(int(args[0].number))
        elif method == "step":
            return worker == self.focus
        elif method == "waiting":
            return not any(w != worker for w in self.running)
        return True
