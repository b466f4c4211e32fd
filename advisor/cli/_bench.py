"""`advisor bench`: sample efficiency of samplers on a table of measured configurations."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from advisor.cli._app import JsonOption, app, emit_json, parse_csv_option, user_errors

SAMPLER_CHOICES = ("surface", "nsga2", "tpe", "gp", "random")  # = advisor.steering.SAMPLERS


class CostMode(str, Enum):
    """What a search is charged for (= advisor.bench.COST_MODES)."""

    trials = "trials"
    seconds = "seconds"


def _objectives(value: str) -> str:
    from advisor.steering import ObjectiveError, parse_objectives

    try:
        return ",".join(f"{o.name}:{o.direction[:3]}" for o in parse_objectives(value))
    except ObjectiveError as exc:
        raise typer.BadParameter(str(exc)) from None


def _samplers(value: str) -> str:
    names = parse_csv_option(value)
    unknown = [n for n in names if n not in SAMPLER_CHOICES]
    if unknown or not names:
        shown = repr(unknown[0]) if unknown else "none"
        raise typer.BadParameter(
            f"unknown sampler {shown}; valid choices: {', '.join(SAMPLER_CHOICES)}"
        )
    if len(set(names)) != len(names):
        raise typer.BadParameter("a sampler is named twice; name each once")
    return ",".join(names)


@app.command("bench", short_help="Compare samplers' sample efficiency on a measured table.")
def bench(
    table: Annotated[
        Path,
        typer.Option(
            "--table",
            metavar="FILE.csv",
            show_default=False,
            help="Table of measured configurations (benchmark-table format).",
        ),
    ],
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            callback=_objectives,
            show_default=False,
            help="Comma-separated metrics to optimise, e.g. f1,loss (optionally f1:max,loss:min).",
        ),
    ],
    budget: Annotated[int, typer.Option("--budget", min=1, help="Trials per search.")] = 30,
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, help="Independent searches per sampler.")
    ] = 20,
    samplers: Annotated[
        str,
        typer.Option(
            "--samplers",
            callback=_samplers,
            help=f"Comma-separated samplers: {','.join(SAMPLER_CHOICES)}.",
        ),
    ] = ",".join(SAMPLER_CHOICES),
    seed: Annotated[
        int, typer.Option("--seed", help="Base seed: repeat r seeds every sampler alike.")
    ] = 0,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            metavar="FILE.png",
            show_default=False,
            help="Also save a plot of hypervolume ratio against trials.",
        ),
    ] = None,
    cost: Annotated[
        CostMode,
        typer.Option(
            "--cost",
            help="Score against trials, or also against the share of the table's training "
            "seconds spent (a pruned run charged its train_seconds@K).",
        ),
    ] = CostMode.trials,
    prune: Annotated[
        bool | None,
        typer.Option(
            "--prune/--no-prune",
            show_default=False,
            help="Stop runs early from their curves (metric@K columns): the surface sampler "
            "with its Pareto pruner, Optuna's samplers with Optuna's pruner on one objective. "
            "Default: on with --cost seconds when the table has curves.",
        ),
    ] = None,
    batch: Annotated[
        int,
        typer.Option(
            "--batch",
            min=1,
            max=64,
            help="Proposals per round, made before any is answered (as `tune --workers N` "
            "runs them); also scores hypervolume against rounds.",
        ),
    ] = 1,
    json_output: JsonOption = False,
) -> None:
    """Sample efficiency of samplers on a table: hypervolume found per trial, over repeats."""
    from advisor.bench import plot_benchmark, run_benchmark
    from advisor.render.bench import bench_progress, render_benchmark
    from advisor.steering import parse_objectives
    from advisor.table import read_table

    names = parse_csv_option(samplers)
    with user_errors():
        rows = read_table(table)
        with bench_progress(len(names) * repeats * budget) as tick:
            result = run_benchmark(
                rows,
                parse_objectives(objective),
                budget=budget,
                repeats=repeats,
                samplers=names,
                seed=seed,
                on_trial=tick,
                cost=cost.value,
                prune=prune,
                batch=batch,
            )
    if plot is not None:
        plot_benchmark(result, str(plot))
    if json_output:
        emit_json(result.to_json())
    else:
        render_benchmark(result)
