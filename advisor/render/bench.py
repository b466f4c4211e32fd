"""Rendering of `advisor bench`: a progress bar while it runs and a table of the results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from advisor.bench import BenchResult


@contextmanager
def bench_progress(total: int, console: Console | None = None) -> Iterator[Callable[[str], None]]:
    """A progress bar over all trials of all samplers; yields the per-trial callback."""
    console = console or Console(stderr=True)
    columns = (
        TextColumn("[bold]bench[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("", total=total)

        def tick(sampler: str) -> None:
            progress.update(task, advance=1, description=sampler)

        yield tick


def checkpoints(budget: int) -> list[int]:
    """Budgets shown in the table: 5, 10, 15, 20, 30, 40, ... and the last one."""
    marks = [b for b in (5, 10, 15, 20) if b < budget]
    marks += list(range(30, budget, 10))
    return [*marks, budget]


def render_benchmark(result: BenchResult, console: Console | None = None) -> None:
    """Print the hypervolume ratio (mean +- sd) per sampler and budget, and trials to targets."""
    from advisor.bench import THRESHOLDS

    console = console or Console()
    marks = checkpoints(result.budget)
    table = Table(
        title=(f"hypervolume / true Pareto hypervolume ({result.repeats} repeats, mean ± sd)"),
        caption=_caption(result),
    )
    table.add_column("sampler", style="bold")
    for b in marks:
        table.add_column(f"{b} trials", justify="right")
    for t in THRESHOLDS:
        table.add_column(f"to {t:g}", justify="right")
    reach = {t: result.trials_to(t) for t in THRESHOLDS}
    for name, ratios in result.ratios.items():
        sd = ratios.std(axis=0, ddof=1) if ratios.shape[0] > 1 else 0 * ratios[0]
        cells = [f"{ratios[:, b - 1].mean():.3f} ± {sd[b - 1]:.3f}" for b in marks]
        for t in THRESHOLDS:
            median, hits = reach[t][name]
            shown = f"> {result.budget}" if median is None else f"{median:g}"
            cells.append(f"{shown} ({hits}/{result.repeats})")
        table.add_row(name, *cells)
    console.print(table)


def _caption(result: BenchResult) -> str:
    objectives = ",".join(o.name for o in result.objectives)
    text = (
        f"{result.n_configs} configurations, {result.pareto_size} on the true Pareto front of "
        f"{objectives}; scored on {','.join(result.kept)}. 'to t': median trials to reach t "
        f"(repeats that reached it)."
    )
    if result.fallback_share is not None:
        text += f" surface handed {result.fallback_share:.0%} of its trials to its fallback."
    return text
