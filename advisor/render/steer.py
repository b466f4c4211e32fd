"""Rich output for `advisor suggest` and `advisor tune`."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from advisor.tune import SuggestResult, TuneResult


def suggestions_table(result: SuggestResult, console: Console | None = None) -> None:
    """The predicted Pareto set with means, 95% intervals and how sure each one is."""
    console = console or Console()
    names = [o.name for o in result.objectives]
    arrows = ", ".join(
        f"{o.name} {'↑' if o.direction == 'maximize' else '↓'}" for o in result.objectives
    )
    table = Table(title=f"{result.study}: predicted Pareto set ({arrows})")
    for column in ("lr", "batch", "epochs"):
        table.add_column(column, justify="right")
    relative = [n for n in names if n.endswith("_rel")]
    for name in names:
        table.add_column(f"{name}\n95% CI", justify="right")  # folded: whole at 80 columns
    for name in relative:
        table.add_column(f"P({name}\n> base)", justify="right")
    table.add_column("on\nfront", justify="right")
    table.add_column("run", justify="center")
    observed_notes: list[str] = []
    for s in result.front.suggestions:
        cells = [
            f"{s.params['learning_rate']:.3g}",
            str(s.params["batch_size"]),
            str(s.params["epochs"]),
        ]
        for name in names:
            p = s.predicted[name]
            cells.append(f"{p['mean']:.3f}\n[{p['lower']:.3f}, {p['upper']:.3f}]")
        for name in relative:
            value = s.predicted[name].get("p_beats_baseline")
            cells.append("-" if value is None else f"{value:.2f}")
        cells.append("-" if math.isnan(s.front_share) else f"{s.front_share:.0%}")
        cells.append("yes" if s.already_run else "")
        table.add_row(*cells)
        if s.observed:
            seen = ", ".join(f"{k} {v:.3f}" for k, v in s.observed.items())
            observed_notes.append(
                f"lr={s.params['learning_rate']:.3g} "
                f"batch={s.params['batch_size']} epochs={s.params['epochs']} "
                f"was run: observed mean {seen}"
            )
    console.print(table)
    for line in observed_notes:
        console.print(f"  {line}")
    console.print(_tradeoff(result))
    for note in result.front.notes:
        console.print(f"[yellow]note:[/] {note}")
    for extension in result.extensions:
        console.print(f"[cyan]beyond the box:[/] {extension.sentence()}")
    if result.extend_asked and not result.extended:
        console.print("nothing enqueued by --extend: no extension predicted, or all run already")
    if result.extended:
        console.print(
            f"enqueued {len(result.extended)} configuration(s) outside the spec's box in "
            f"{result.study}: {', '.join(map(str, result.extended))}; run them with `advisor tune`"
        )
    if result.enqueued_asked and not result.enqueued:
        console.print("nothing enqueued: every suggestion has been run already")
    if result.enqueued:
        console.print(
            f"enqueued {len(result.enqueued)} waiting trial(s) in {result.study}: "
            f"{', '.join(map(str, result.enqueued))}; run them with `advisor tune`"
        )


def _tradeoff(result: SuggestResult) -> str:
    suggestions = result.front.suggestions
    shown = len(suggestions)
    if result.front.front_size <= 1 or len(result.objectives) < 2 or shown < 2:
        return (
            f"{result.front.front_size} of {result.front.candidates} candidate "
            "configurations are predicted Pareto-optimal."
        )
    first, last = suggestions[0], suggestions[-1]
    a, b = (o.name for o in result.objectives[:2])
    return (
        f"{result.front.front_size} of {result.front.candidates} candidate configurations "
        f"are predicted Pareto-optimal (showing {shown}). Along the front, {a} goes from "
        f"{first.predicted[a]['mean']:.4f} to {last.predicted[a]['mean']:.4f} while {b} goes "
        f"from {first.predicted[b]['mean']:.4f} to {last.predicted[b]['mean']:.4f}: "
        "choose by the trade-off you need. 'on front' is the share of posterior draws of the "
        "surfaces in which the configuration stays Pareto-optimal."
    )


def tune_summary(
    result: TuneResult, front: list[dict[str, object]], console: Console | None = None
) -> None:
    """Trials this run finished and the observed Pareto front of the objective study."""
    console = console or Console()
    finished = [t for t in result.trials if t.state == "COMPLETE"]
    console.print(f"{result.study}: {len(finished)} of {len(result.trials)} trials finished")
    if result.record and finished:
        console.print(
            f"recorded in study {result.record} too: its report, export and fit-surface "
            "include them",
            highlight=False,
        )
    if not front:
        return
    table = Table(title=f"{result.study}: observed Pareto front")
    for column in front[0]:
        table.add_column(column, justify="right")
    for row in front:
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()))
    console.print(table)
