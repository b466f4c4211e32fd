"""Output for `advisor grid`, `advisor tune` and `advisor export`: progress while fine-tunes
run (bars on a terminal, one flushed line per event in logs) and the summary tables."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from advisor.study.grid_status import is_collapsed
from advisor.study.worker import INTERRUPTED_REASON, TrialRecord

COLLAPSED_NOTE = "one class"
PERIODIC_LINE_S = 30.0


class ProgressState:
    """What is running now, so a Ctrl-C can say what it stopped."""

    def __init__(self) -> None:
        self.phase_text: str | None = None  # loading data, the model, the baseline
        self.running_trial: int | None = None
        self.interrupted_trial: int | None = None  # closed as "interrupted" by the runner
        self.finished: list[TrialRecord] = []

    def _phase_started(self, text: str) -> None:
        self.phase_text, self.running_trial = text, None

    def _trial_started(self, number: int) -> None:
        self.phase_text, self.running_trial = None, number

    def _trial_finished(self, record: TrialRecord) -> None:
        self.running_trial = None
        if record.reason == INTERRUPTED_REASON:
            self.interrupted_trial = record.number
        else:
            self.finished.append(record)


def grid_observer(unit: str = "grid points") -> RichGridObserver | LineGridObserver:
    """Bars when stdout and stderr are both terminals; flushed lines otherwise (logs, CI,
    Slurm/Kubernetes workers), so a redirected run still shows life while it trains."""
    if sys.stdout.isatty() and sys.stderr.isatty():
        return RichGridObserver(unit=unit)
    return LineGridObserver(unit=unit)


class RichGridObserver(ProgressState):
    """Bars: a spinner for loading and the baseline, grid points done, steps of the fine-tune."""

    def __init__(self, console: Console | None = None, unit: str = "grid points") -> None:
        super().__init__()
        self.unit = unit
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.points: Any = None
        self.steps: Any = None
        self.shown = False
        self.counts_from_runner = False  # set once the runner reports points done itself

    def __enter__(self) -> RichGridObserver:
        return self  # the bars appear at the first phase: an error before it stays one line

    def __exit__(self, *exc: object) -> None:
        if self.shown:
            self.progress.stop()

    def _show(self) -> None:
        if not self.shown:
            self.progress.start()
            self.shown = True

    def _replace_steps(self, label: str) -> None:
        self._show()
        if self.steps is not None:
            self.progress.remove_task(self.steps)
        self.steps = self.progress.add_task(escape(label), total=None)

    def phase(self, text: str) -> None:
        self._phase_started(text)
        self._replace_steps(text)

    def started(self, total: int, done: int) -> None:
        self._show()
        if self.phase_text is not None and self.steps is not None:
            self.progress.remove_task(self.steps)
            self.steps, self.phase_text = None, None
        if self.points is None:
            self.points = self.progress.add_task(self.unit, total=total, completed=done)
        else:
            self.progress.update(self.points, total=total, completed=done)

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        self._trial_started(number)
        self._replace_steps(f"trial {number}: {_params_label(params)}")

    def step(self, done: int, total: int) -> None:
        if self.steps is not None:
            self.progress.update(self.steps, completed=done, total=total)

    def trial_finished(self, record: TrialRecord) -> None:
        self._trial_finished(record)
        self.progress.console.print(f"  {_record_line(record, markup=True)}")
        interrupted = record.reason == INTERRUPTED_REASON
        if self.points is not None and not self.counts_from_runner and not interrupted:
            self.progress.advance(self.points)

    def points_done(self, done: int, total: int) -> None:
        """Points finished across all workers (the runner refreshes it after each trial and
        while waiting), so every worker's bar shows the whole grid's progress."""
        self.counts_from_runner = True
        if self.points is not None:
            self.progress.update(self.points, completed=done, total=total)

    def waiting(self, running_elsewhere: int) -> None:
        label = f"waiting for {running_elsewhere} trial(s) running in other workers"
        current = [t.description for t in self.progress.tasks if t.id == self.steps]
        if current == [label]:
            return  # same wait: keep its elapsed time
        self._replace_steps(label)

    def message(self, text: str) -> None:
        self._show()
        self.progress.console.print(escape(text))


class LineGridObserver(ProgressState):
    """One flushed line per event: what starts, each finished fine-tune with its time and the
    grid's ETA, and a line every `interval` seconds inside a long fine-tune."""

    def __init__(
        self,
        stream: TextIO | None = None,
        unit: str = "grid points",
        interval: float = PERIODIC_LINE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.stream = stream
        self.unit = unit
        self.interval = interval
        self.clock = clock
        self.began = clock()
        self.total: int | None = None
        self.done = 0
        self.grid_began: float | None = None
        self.counted = 0  # fine-tunes this invocation finished (the ETA's rate)
        self.task_began = self.began
        self.trial_began: dict[int, float] = {}  # trial number -> when it started
        self.last_line = self.began
        self.label = ""
        self.last_wait: int | None = None

    def __enter__(self) -> LineGridObserver:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _line(self, text: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(f"[{_clock(self.clock() - self.began)}] {text}\n")
        stream.flush()
        self.last_line = self.clock()

    def _begin(self, label: str) -> None:
        self.label = label
        self.task_began = self.clock()
        self.last_wait = None

    def phase(self, text: str) -> None:
        self._phase_started(text)
        self._begin(text.split(":")[0])
        self._line(f"{text} ...")

    def started(self, total: int, done: int) -> None:
        self.phase_text = None
        self.total, self.done = total, done
        if self.grid_began is None:
            self.grid_began = self.clock()
            self._line(f"{self.unit}: {done} of {total} done")

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        self._trial_started(number)
        self._begin(f"trial {number}")
        self.trial_began[number] = self.task_began  # several workers: one start per trial
        self._line(f"trial {number} started: {_params_label(params)}")

    def step(self, done: int, total: int) -> None:
        now = self.clock()
        if now - self.last_line < self.interval or done <= 0 or total <= 0:
            return
        spent = now - self.task_began
        eta = spent / done * (total - done)
        self._line(
            f"  {self.label}: step {done}/{total} ({done / total:.0%}), "
            f"{_clock(spent)} elapsed, ETA {_clock(eta)}"
        )

    def trial_finished(self, record: TrialRecord) -> None:
        self._trial_finished(record)
        spent = self.clock() - self.trial_began.pop(record.number, self.task_began)
        interrupted = record.reason == INTERRUPTED_REASON
        if not interrupted:  # the runner's next `points_done` corrects the count
            self.counted += 1
            self.done += 1
        text = _record_line(record, markup=False, took=_clock(spent))
        self._line(f"{text}; {self._grid_eta()}" if self.total and not interrupted else text)

    def _grid_eta(self) -> str:
        assert self.total is not None
        done = min(self.done, self.total)
        shown = f"{done}/{self.total} {self.unit}"
        if self.grid_began is None or self.counted == 0 or done >= self.total:
            return shown
        rate = (self.clock() - self.grid_began) / self.counted
        return f"{shown}, ETA {_clock(rate * (self.total - done))}"

    def points_done(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def waiting(self, running_elsewhere: int) -> None:
        if self.last_wait != running_elsewhere or self.clock() - self.last_line >= self.interval:
            self.last_wait = running_elsewhere
            self._line(f"waiting for {running_elsewhere} trial(s) running in other workers")

    def message(self, text: str) -> None:
        self._line(text)


def interrupted_message(state: ProgressState, resume: str) -> str:
    """What a Ctrl-C stopped, what was kept, and `resume` (how to go on)."""
    trial = state.running_trial if state.running_trial is not None else state.interrupted_trial
    if trial is not None:
        stopped = f'trial {trial} was stopped and is marked failed (reason "{INTERRUPTED_REASON}")'
    elif state.phase_text is not None and state.phase_text.startswith("baseline"):
        stopped = "the baseline fine-tune was stopped before it finished; nothing was stored"
    elif state.phase_text is not None:
        stopped = f"stopped while {state.phase_text}; nothing was stored"
    else:
        stopped = "stopped between fine-tunes"
    kept = len([r for r in state.finished if r.state == "COMPLETE"])
    if kept:
        stopped += f"; the {kept} fine-tune(s) finished before it are stored"
    return f"interrupted: {stopped}. {resume}"


def _params_label(params: dict[str, Any]) -> str:
    seed = f" seed={params['seed']}" if "seed" in params else ""
    return (
        f"lr={params['learning_rate']:.3g} batch={params['batch_size']} "
        f"epochs={params['epochs']}{seed}"
    )


def _record_line(record: TrialRecord, markup: bool, took: str | None = None) -> str:
    when = f" in {took}" if took else ""
    if record.state == "COMPLETE":
        m = record.metrics
        text = (
            f"trial {record.number} finished{when}: accuracy={m['accuracy']:.4f} "
            f"f1={m['f1']:.4f} loss={m['loss']:.4f}"
        )
        if is_collapsed(m):
            text += " (predicted one class for every sentence: it did not learn)"
        return text
    reason = str(record.reason)
    if markup:
        return f"[red]trial {record.number} failed[/]{when}: {escape(reason)}"
    return f"trial {record.number} failed{when}: {reason}"


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def grid_summary(
    study_name: str,
    storage: str,
    records: list[TrialRecord],
    console: Console | None = None,
    baseline: dict[str, Any] | None = None,
) -> None:
    """The trials this invocation finished, as a table, then the baseline and what to make of
    collapsed runs (a model that predicts one class)."""
    console = console or Console()
    if not records:
        console.print(
            f"study [bold]{escape(study_name)}[/] ({escape(storage)}): every grid "
            "point is finished; nothing to run"
        )
    else:
        console.print(_trials_table(f"{study_name}: trials finished by this run", records))
    _baseline_line(baseline, console)
    collapsed = [r for r in records if r.state == "COMPLETE" and is_collapsed(r.metrics)]
    if collapsed:
        numbers = ", ".join(str(r.number) for r in collapsed)
        console.print(
            f"[yellow]{len(collapsed)} of {len(records)} run(s) predicted one class for every "
            f"sentence[/] (trial {numbers}: state '{COLLAPSED_NOTE}'): they learned nothing, "
            "usually from too small a learning rate or too few steps. The surfaces model them "
            "as they are; look for configurations away from them."
        )


def _trials_table(title: str, records: list[TrialRecord]) -> Table:
    # Short headers and folded states: the table stays whole at 80 columns.
    table = Table(title=escape(title), title_justify="left")
    for column in ("#", "lr", "bs", "ep", "seed", "acc", "f1", "loss"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("state", overflow="fold")
    for r in records:
        p, m = r.params, r.metrics
        table.add_row(
            str(r.number),
            f"{p['learning_rate']:.3g}",
            str(p["batch_size"]),
            str(p["epochs"]),
            str(p.get("seed", "")),
            *(f"{m[k]:.4f}" if k in m else "-" for k in ("accuracy", "f1", "loss")),
            _state(r),
        )
    return table


def _state(record: TrialRecord) -> str:
    if record.state == "COMPLETE":
        return COLLAPSED_NOTE if is_collapsed(record.metrics) else "ok"
    state = record.state.lower()
    return f"{state}: {escape(record.reason)}" if record.reason else state


def _baseline_line(baseline: dict[str, Any] | None, console: Console) -> None:
    """`baseline (config lr=... ): accuracy ...`, and a warning when it is at chance."""
    if not baseline:
        return
    m = baseline["metrics"]
    how = _params_label(baseline["params"]) if baseline.get("params") else "the checkpoint"
    console.print(
        f"baseline ({escape(str(baseline.get('kind')))}, {escape(how)}): "
        f"accuracy {m['accuracy']:.4f}, f1 {m['f1']:.4f}, loss {m['loss']:.4f}"
    )
    if baseline.get("collapsed"):
        console.print(
            "[yellow]the baseline predicts one class for every sentence: it is at chance[/], "
            "so relative metrics (accuracy_rel, ...) measure gains over a model that learned "
            'nothing; give \\[baseline] a configuration that learns (kind = "config").'
        )


def status_table(status: dict[str, Any], console: Console | None = None) -> None:
    """`grid --status`: points and trials by state, failed points, running trials, every
    failed trial with its reason, collapsed runs and the baseline."""
    console = console or Console()
    states = ", ".join(f"{k.lower()}: {v}" for k, v in sorted(status["states"].items()))
    console.print(f"study [bold]{escape(status['study'])}[/]: trials {states or 'none'}")
    if "points" in status:
        p = status["points"]
        console.print(
            f"grid points: {p['total']} total, {p['complete']} complete, "
            f"{p['open']} waiting or running, {p['failed']} failed, "
            f"{p['pending']} not queued yet"
        )
    if status.get("failed_points"):
        console.print(
            "failed points (the next `advisor grid` re-runs them, except final ones: "
            "add --retry-failed for those):"
        )
        for f in status["failed_points"]:
            final = " [bold](final)[/]" if f["final"] else ""
            console.print(
                f"  {escape(f['point'])}: [red]{escape(f['reason'])}[/]{final}, "
                f"{f['attempts']} attempt(s)",
                highlight=False,
            )
    if status.get("running"):
        table = Table(title="running trials", title_justify="left")
        for column in ("#", "params", "worker"):
            table.add_column(column, overflow="fold")
        for r in status["running"]:
            table.add_row(str(r["number"]), _params(r["params"]), escape(r["worker"]))
        console.print(table)
    if status["failures"]:
        table = Table(title="failed trials", title_justify="left")
        for column in ("#", "params", "reason", "detail"):
            table.add_column(column, overflow="fold")
        for f in status["failures"]:
            table.add_row(
                str(f["number"]),
                _params(f["params"]),
                escape(f["reason"]),
                escape(f["detail"][:80]),
            )
        console.print(table)
    _collapsed_lines(status, console)
    _baseline_line(status.get("baseline"), console)
    _record_lines(status, console)


def _record_lines(status: dict[str, Any], console: Console) -> None:
    """Where the study of record's fine-tunes came from, and each objective set's view."""
    sources = status.get("sources") or {}
    if sources:
        shown = ", ".join(f"{k} {v}" for k, v in sorted(sources.items()))
        console.print(f"finished fine-tunes by source: {shown}", highlight=False)
    views = status.get("views") or []
    if not views:
        return
    table = Table(title="objective sets (views of this study)", title_justify="left")
    for column in ("study", "trials", "own fine-tunes", "front", "running", "waiting"):
        table.add_column(column, overflow="fold")
    for v in views:
        table.add_row(
            escape(v["study"]),
            str(sum(v["states"].values())),
            str(v["own_fine_tunes"]),
            str(v["front_size"]),
            str(len(v["running"])),
            str(v["states"].get("WAITING", 0)),
        )
    console.print(table)
    for v in views:
        for r in v["running"]:
            console.print(
                f"  running in {escape(v['study'])}: trial {r['number']} "
                f"{escape(_params(r['params']))} on {escape(r['worker'])}",
                highlight=False,
            )


def _collapsed_lines(status: dict[str, Any], console: Console) -> None:
    collapsed = status.get("collapsed") or []
    if not collapsed:
        return
    finished = status["states"].get("COMPLETE", 0)
    console.print(
        f"[yellow]{len(collapsed)} of {finished} finished trial(s) predicted one class for "
        "every sentence[/] (they learned nothing):"
    )
    for c in collapsed:
        console.print(f"  trial {c['number']}: {escape(_params(c['params']))}", highlight=False)


def _params(params: dict[str, Any]) -> str:
    return " ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )
