"""Rich output for `advisor harvest`: coverage, the baseline, the trials and the skipped cards."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from advisor.harvest import Harvest, StoreResult


class HubProgress:
    """One bar on stderr while cards are fetched from the Hub (`progress(done, total, id)`)."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=True,
        )
        self.task: Any = None

    def __enter__(self) -> HubProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, done: int, total: int, model_id: str) -> None:
        if self.task is None:
            self.task = self.progress.add_task("model cards", total=total)
        self.progress.update(self.task, completed=done, description=f"card of {escape(model_id)}")


def harvest_summary(harvest: Harvest, stored: StoreResult, console: Console | None = None) -> None:
    """Coverage, baseline, trials (new or already held) and every skipped card with its reason."""
    console = console or Console()
    console.print(
        f"harvest of {escape(str(harvest.source))}: [bold]{harvest.cards}[/] cards found, "
        f"[bold]{harvest.usable}[/] usable, {len(harvest.skipped)} skipped"
    )
    console.print(_baseline_line(harvest))
    partial = f" ({len(stored.partial)} lacking a metric, stored PRUNED)" if stored.partial else ""
    console.print(
        f"study [bold]{escape(stored.study)}[/]: {len(stored.added)} trials added{partial}, "
        f"{len(stored.already)} already held"
    )
    if harvest.records:
        console.print(_trials_table(harvest, stored))
    if harvest.skipped:
        console.print(_skipped_table(harvest))


def _baseline_line(harvest: Harvest) -> str:
    if harvest.baseline is not None:
        metrics = " ".join(f"{k}={v:.4f}" for k, v in harvest.baseline.metrics.items())
        return (
            f"baseline: {escape(harvest.baseline.model_id)} ({metrics}, from its "
            f"{escape(str(harvest.baseline.metrics_source))})"
        )
    if harvest.baseline_problem:
        return (
            f"[yellow]no baseline[/]: the card of {escape(str(harvest.base))} gives none "
            f"({escape(harvest.baseline_problem)}); relative surfaces need one"
        )
    return "no baseline (no --base): relative surfaces need one"


def _trials_table(harvest: Harvest, stored: StoreResult) -> Table:
    added = set(stored.added)
    table = Table(title="usable cards")
    for column in ("model", "learning_rate", "batch_size", "epochs", "accuracy", "f1", "loss"):
        table.add_column(column, justify="left" if column == "model" else "right")
    table.add_column("task")
    table.add_column("dataset")
    table.add_column("trial")
    for r in harvest.records:
        metrics = (f"{v:.4f}" if v is not None else "-" for v in r.metrics.values())
        table.add_row(  # card text is data, never Rich markup: "[red]x" stays "[red]x"
            escape(r.model_id),
            f"{r.learning_rate:.3g}",
            str(r.batch_size),
            f"{r.epochs:g}",
            *metrics,
            escape(r.task or "unknown"),
            escape(r.dataset or "-"),
            "added" if r.model_id in added else "held",
        )
    return table


def _skipped_table(harvest: Harvest) -> Table:
    counts = ", ".join(f"{code}: {n}" for code, n in harvest.skipped_by_code().items())
    table = Table(title=f"skipped cards ({counts})")
    table.add_column("model")
    table.add_column("reason")
    for skip in harvest.skipped:
        table.add_row(escape(skip.model_id), escape(skip.reason))
    return table
