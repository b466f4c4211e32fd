"""Rendering of `advisor bench`: a progress bar while it runs and a table of the results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich import box
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
    """Print the hypervolume ratio (mean, sd below it) per sampler and budget, and trials to
    targets; a `*` marks a sampler still in its random start at that budget."""
    from advisor.bench import THRESHOLDS

    console = console or Console()
    marks = checkpoints(result.budget)
    table = Table(
        title=f"hypervolume / true Pareto hypervolume after N trials ({result.repeats} "
        "repeats: mean, sd below)",
        caption=_caption(result, marks),
        box=box.SIMPLE_HEAD,
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("sampler", style="bold")
    for b in marks:
        table.add_column(f"N={b}", justify="right")
    for t in THRESHOLDS:
        table.add_column(f"to {t:g}", justify="right")
    reach = {t: result.trials_to(t) for t in THRESHOLDS}
    random_at = {b: set(result.in_random_start(b)) for b in marks}
    for name, ratios in result.ratios.items():
        sd = ratios.std(axis=0, ddof=1) if ratios.shape[0] > 1 else 0 * ratios[0]
        cells = [
            f"{ratios[:, b - 1].mean():.3f}{'*' if name in random_at[b] else ' '}\n"
            f"[dim]±{sd[b - 1]:.3f}[/] "
            for b in marks
        ]
        for t in THRESHOLDS:
            median, hits = reach[t][name]
            shown = f"> {result.budget}" if median is None else f"{median:g}"
            cells.append(f"{shown}\n[dim]{hits}/{result.repeats}[/]")
        table.add_row(name, *cells)
    console.print(table)
    if result.batch > 1:
        console.print(_rounds_table(result))
    if result.spent is not None:
        console.print(_cost_table(result))
    for note in result.notes:
        console.print(f"[dim]note: {note}[/]")


def _cost_table(result: BenchResult) -> Table:
    """Hypervolume ratio at shares of the table's training cost, and the share to targets."""
    from advisor.bench import THRESHOLDS
    from advisor.bench_cost import COST_FRACTIONS, cost_rows, cost_to_target_rows

    assert result.spent is not None
    unit = "epochs" if result.cost_unit == "epochs" else f"{result.cost_unit}"
    table = Table(
        title=f"hypervolume / true Pareto hypervolume after a share of the table's training "
        f"cost ({result.total_cost:.4g} {unit}; mean, sd below)",
        caption="'to t': median share of the cost spent to reach t (- : not reached within "
        "the budget; a share the budget did not reach in every repeat is left blank)."
        + _pruning_note(result),
        box=box.SIMPLE_HEAD,
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("sampler", style="bold", min_width=7)
    for fraction in COST_FRACTIONS:
        table.add_column(f"{fraction:.0%}", justify="right")
    for t in THRESHOLDS:
        table.add_column(f"to {t:g}", justify="right")
    at = {(r["sampler"], r["cost_fraction"]): r for r in cost_rows(result.ratios, result.spent)}
    reach = {
        (r["sampler"], r["target"]): r["cost_fraction_median"]
        for r in cost_to_target_rows(result.ratios, result.spent, THRESHOLDS)
    }
    for name in result.ratios:
        cells = []
        for fraction in COST_FRACTIONS:
            row = at[(name, fraction)]
            mean, sd = row["hv_ratio_mean"], row["hv_ratio_sd"]
            cells.append("" if mean is None else f"{mean:.3f}\n[dim]±{sd:.3f}[/]")
        for t in THRESHOLDS:
            share = reach[(name, t)]
            cells.append("-" if share is None else f"{share:.1%}")
        table.add_row(name, *cells)
    return table


def _rounds_table(result: BenchResult) -> Table:
    """`--batch N`: hypervolume ratio after rounds of N proposals, and rounds to targets."""
    from advisor.bench import THRESHOLDS
    from advisor.bench_rounds import round_rows, rounds_to_rows

    rows = round_rows(result.ratios, result.batch)
    shown = sorted({r["round"] for r in rows})
    if len(shown) > 8:  # the first rounds, where batching costs most, and the last
        shown = [*shown[:6], shown[-1]]
    repeated = result.repeated_shares()
    table = Table(
        title=f"hypervolume / true Pareto hypervolume after R rounds of {result.batch} "
        "proposals (mean, sd below)",
        caption="'to t': median rounds to reach t (below: repeats that reached it); "
        "'repeated': share of proposals repeating one made earlier in their round.",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("sampler", style="bold")
    for number in shown:
        table.add_column(f"R={number}", justify="right")
    for t in THRESHOLDS:
        table.add_column(f"to {t:g}", justify="right")
    table.add_column("repeated", justify="right")
    at = {(r["sampler"], r["round"]): r for r in rows}
    reach = {
        (r["sampler"], r["threshold"]): r
        for r in rounds_to_rows(result.ratios, result.batch, THRESHOLDS)
    }
    for name in result.ratios:
        cells = [
            f"{at[(name, n)]['hv_ratio_mean']:.3f}\n[dim]±{at[(name, n)]['hv_ratio_sd']:.3f}[/]"
            for n in shown
        ]
        for t in THRESHOLDS:
            row = reach[(name, t)]
            median = "-" if row["median_rounds"] is None else f"{row['median_rounds']:g}"
            cells.append(f"{median}\n[dim]{row['reached']}/{row['repeats']}[/]")
        cells.append(f"{repeated.get(name, 0.0):.0%}")
        table.add_row(name, *cells)
    return table


def _pruning_note(result: BenchResult) -> str:
    if not result.pruning:
        return " No run was pruned."
    shares = result.pruned_share()
    parts = [
        f"{name} {pruner} ({shares.get(name, 0.0):.0%} of its trials pruned)"
        for name, pruner in result.pruners.items()
        if pruner is not None
    ]
    return " Pruners: " + ", ".join(parts) + "."


def _caption(result: BenchResult, marks: list[int]) -> str:
    objectives = ",".join(o.name for o in result.objectives)
    text = (
        f"{result.n_configs} configurations, {result.pareto_size} on the true Pareto front of "
        f"{objectives}; scored on {','.join(result.kept)}. 'to t': median trials to reach t "
        f"(below: repeats that reached it)."
    )
    text += _random_start_note(result, marks)
    if result.fallback_share is not None:
        text += (
            f" surface did not steer {result.fallback_share:.0%} of its trials (start-up picks"
            " and its fallback's)."
        )
    return text


def _start_words(n: int | None) -> str:
    """How long a sampler samples at random (0: a start-up window picks its first trials)."""
    if n is None:
        return "always"
    return f"the first {n}" if n else "none (its start-up keeps to a window: see the notes)"


def _random_start_note(result: BenchResult, marks: list[int]) -> str:
    """Which samplers are still sampling at random at each shown budget, and for how long each
    one does: identical rows there are the shared seed, not equal skill."""
    if not result.random_starts:
        return ""
    starts = ", ".join(f"{name} {_start_words(n)}" for name, n in result.random_starts.items())
    at = []
    for b in marks:
        names = result.in_random_start(b)
        if names:
            at.append(f"N={b}: {', '.join(names)}")
    text = f" Random start (trials sampled at random before a model steers): {starts}."
    if at:
        text += (
            f" * still in the random start ({'; '.join(at)}): samplers seeded alike draw the "
            "same random trials, so their rows there are equal by construction."
        )
    return text
