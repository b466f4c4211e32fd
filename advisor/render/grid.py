"""Rich output for `advisor grid` and `advisor export`: progress bars and the summary table."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from advisor.worker import TrialRecord


class RichGridObserver:
    """Two bars: grid points done, and steps of the fine-tune running now."""

    def __init__(self, console: Console | None = None, unit: str = "grid points") -> None:
        self.unit = unit
        self.console = console or Console(stderr=True)
        self.progress = Progress(
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
        self.counts_from_runner = False  # set once the runner reports points done itself

    def __enter__(self) -> RichGridObserver:
        return self  # the bars appear at `started`: an error before it stays one clean line

    def __exit__(self, *exc: object) -> None:
        if self.points is not None:
            self.progress.stop()

    def started(self, total: int, done: int) -> None:
        if self.points is None:
            self.progress.start()
            self.points = self.progress.add_task(self.unit, total=total, completed=done)
        else:
            self.progress.update(self.points, total=total, completed=done)

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        label = (
            f"trial {number}: lr={params['learning_rate']:.3g} bs={params['batch_size']} "
            f"ep={params['epochs']} seed={params.get('seed', '')}"
        )
        if self.steps is not None:
            self.progress.remove_task(self.steps)
        self.steps = self.progress.add_task(label, total=None)

    def step(self, done: int, total: int) -> None:
        if self.steps is not None:
            self.progress.update(self.steps, completed=done, total=total)

    def trial_finished(self, record: TrialRecord) -> None:
        if record.state == "COMPLETE":
            m = record.metrics
            self.progress.console.print(
                f"  trial {record.number}: accuracy={m['accuracy']:.4f} f1={m['f1']:.4f} "
                f"loss={m['loss']:.4f}"
            )
        else:
            reason = escape(str(record.reason))
            self.progress.console.print(f"  [red]trial {record.number} failed[/]: {reason}")
        if self.points is not None and not self.counts_from_runner:
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
        if self.steps is not None:
            self.progress.remove_task(self.steps)
        self.steps = self.progress.add_task(label, total=None)

    def message(self, text: str) -> None:
        self.progress.console.print(escape(text))


def grid_summary(
    study_name: str, storage: str, records: list[TrialRecord], console: Console | None = None
) -> None:
    """The trials this invocation finished, as a table."""
    console = console or Console()
    if not records:
        console.print(
            f"study [bold]{escape(study_name)}[/] ({escape(storage)}): every grid "
            "point is finished; nothing to run"
        )
        return
    table = Table(title=f"{escape(study_name)}: trials finished by this run")
    for column in ("#", "lr", "batch", "epochs", "seed", "accuracy", "f1", "loss"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("state")
    for r in records:
        p, m = r.params, r.metrics
        table.add_row(
            str(r.number),
            f"{p['learning_rate']:.3g}",
            str(p["batch_size"]),
            str(p["epochs"]),
            str(p.get("seed", "")),
            *(f"{m[k]:.4f}" if k in m else "-" for k in ("accuracy", "f1", "loss")),
            r.state if not r.reason else f"{r.state} ({escape(r.reason)})",
        )
    console.print(table)


def status_table(status: dict[str, Any], console: Console | None = None) -> None:
    """`grid --status`: points and trials by state, failed points, running trials and every
    failed trial with its reason."""
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
        table = Table(title="running trials")
        for column in ("#", "params", "worker"):
            table.add_column(column)
        for r in status["running"]:
            table.add_row(str(r["number"]), _params(r["params"]), escape(r["worker"]))
        console.print(table)
    if status["failures"]:
        table = Table(title="failed trials")
        for column in ("#", "params", "reason", "detail"):
            table.add_column(column)
        for f in status["failures"]:
            table.add_row(
                str(f["number"]),
                _params(f["params"]),
                escape(f["reason"]),
                escape(f["detail"][:80]),
            )
        console.print(table)


def _params(params: dict[str, Any]) -> str:
    return " ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )
