"""`advisor suggest` and `advisor tune`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import typer

from advisor.cli._app import JsonOption, StorageOption, StudyOption, app, emit_json, user_errors

ObjectiveOption = Annotated[
    str,
    typer.Option(
        "--objective",
        help="Metrics to optimise, e.g. f1,loss or f1:max,loss:min.",
        show_default=False,
    ),
]


class SamplerChoice(str, Enum):
    surface = "surface"
    nsga2 = "nsga2"
    tpe = "tpe"
    gp = "gp"
    random = "random"


@app.command()
def suggest(
    study: StudyOption,
    objective: ObjectiveOption,
    n: Annotated[int, typer.Option("--n", min=1, help="How many configurations.")] = 5,
    enqueue: Annotated[
        bool,
        typer.Option(
            "--enqueue", help="Add those not yet run as waiting trials of the objective study."
        ),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the posterior draws.")] = 0,
    storage: StorageOption = None,
    json_output: JsonOption = False,
) -> None:
    """The surface-predicted Pareto set for the objectives: configs, means and intervals."""
    from advisor.render.steer import suggestions_table
    from advisor.tune import suggest as run_suggest

    with user_errors():
        result = run_suggest(study, objective, n=n, enqueue=enqueue, storage_url=storage, seed=seed)
    if json_output:
        emit_json(result.to_json())
    else:
        suggestions_table(result)


@app.command()
def tune(
    study: StudyOption,
    objective: ObjectiveOption,
    trials: Annotated[int, typer.Option("--trials", min=1, help="Fine-tunes to run.")],
    sampler: Annotated[
        SamplerChoice, typer.Option("--sampler", help="Who proposes the next configuration.")
    ] = SamplerChoice.surface,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampler seed.")] = None,
    storage: StorageOption = None,
    json_output: JsonOption = False,
) -> None:
    """Closed loop: the sampler proposes, real fine-tunes evaluate, surfaces refit."""
    from advisor.render.grid import RichGridObserver
    from advisor.render.steer import tune_summary
    from advisor.tune import observed_front
    from advisor.tune import tune as run_tune

    with user_errors():
        try:
            with RichGridObserver(unit="tune trials") as observer:
                result = run_tune(study, objective, trials, sampler.value, storage, observer, seed)
        except KeyboardInterrupt:
            raise typer.Exit(code=130) from None
        front: list[dict[str, Any]] = observed_front(result.study, storage)
    if json_output:
        emit_json(result.to_json())
    else:
        tune_summary(result, front)
