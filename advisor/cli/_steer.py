"""`advisor suggest` and `advisor tune`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import typer

from advisor.cli._app import (
    JsonOption,
    StorageOption,
    StudyOption,
    app,
    emit_json,
    fail,
    next_steps,
    quiet_libraries,
    user_errors,
)
from advisor.cli._grid import (
    WorkersOption,
    WorkersPerGpuOption,
    announce_workers,
    worker_placements,
)

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


@app.command(short_help="Predicted Pareto set: configurations to run next.")
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
    extend: Annotated[
        bool,
        typer.Option(
            "--extend",
            help="Enqueue the configurations outside the spec's box where the surfaces put "
            "the best (waiting trials of the objective study).",
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
        result = run_suggest(
            study, objective, n=n, enqueue=enqueue, storage_url=storage, seed=seed, extend=extend
        )
    if json_output:
        emit_json(result.to_json())
        return
    suggestions_table(result)
    next_steps(_after_suggest(study, objective, enqueue, len(result.enqueued)), storage)


def _after_suggest(
    study: str, objective: str, enqueue: bool, enqueued: int
) -> list[tuple[str, str]]:
    tune = f"advisor tune --study {study} --objective {objective}"
    if enqueued:
        return [(f"{tune} --trials {enqueued}", "fine-tune the enqueued configurations")]
    if enqueue:
        return [(f"{tune} --trials 5", "let the surfaces propose new configurations")]
    return [
        (
            f"advisor suggest --study {study} --objective {objective} --enqueue",
            "queue the suggestions not run yet",
        ),
        (f"{tune} --trials 5", "run them, then let the surfaces propose more"),
    ]


@app.command(short_help="Closed loop: surfaces propose, real fine-tunes evaluate.")
def tune(
    study: StudyOption,
    objective: ObjectiveOption,
    trials: Annotated[int, typer.Option("--trials", min=1, help="Fine-tunes to run.")],
    sampler: Annotated[
        SamplerChoice, typer.Option("--sampler", help="Who proposes the next configuration.")
    ] = SamplerChoice.surface,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampler seed.")] = None,
    prior: Annotated[
        str | None,
        typer.Option(
            "--prior",
            metavar="STUDY|FILE|none",
            help="The surface sampler's learned prior: a study in the storage to learn it from,"
            " a prior JSON file, or none. Default: the shipped fine-tune prior.",
        ),
    ] = None,
    replicates: Annotated[
        int,
        typer.Option(
            "--replicates",
            min=1,
            help="Seeds per configuration: a proposal the study of record already holds this"
            " many times is answered from it instead of fine-tuned again.",
        ),
    ] = 1,
    prune: Annotated[
        bool | None,
        typer.Option(
            "--prune/--no-prune",
            help="Stop a fine-tune after an epoch when it can no longer reach the Pareto front"
            " (its curve is kept). Default: on when fine-tunes can have more than one epoch.",
            show_default=False,
        ),
    ] = None,
    workers: WorkersOption = 1,
    workers_per_gpu: WorkersPerGpuOption = None,
    storage: StorageOption = None,
    json_output: JsonOption = False,
) -> None:
    """Closed loop: the sampler proposes, real fine-tunes evaluate, surfaces refit. Every
    fine-tune joins the study of record (`--study`), where report, export and fit-surface see
    it; a configuration measured before is not fine-tuned again. With --workers N, N local
    processes share the --trials, proposing one at a time, each seeing the others' runs."""
    from advisor.render.grid import grid_observer, interrupted_message
    from advisor.render.steer import tune_summary
    from advisor.study.pool import tune_workers
    from advisor.tune import observed_front
    from advisor.tune import tune as run_tune

    with user_errors():
        where = worker_placements(workers, workers_per_gpu)
        if trials < 2:  # one fine-tune: one process
            where = None
        observer = grid_observer(unit="tune trials")
        try:
            with observer:
                if where is None:
                    result = run_tune(
                        study,
                        objective,
                        trials,
                        sampler.value,
                        storage,
                        observer,
                        seed,
                        prior,
                        replicates=replicates,
                        prune=prune,
                    )
                else:
                    announce_workers(observer, where[:trials])
                    result = tune_workers(
                        observer,
                        where,
                        trials=trials,
                        seed=seed,
                        study_name=study,
                        objectives=objective,
                        sampler=sampler.value,
                        storage_url=storage,
                        prior=prior,
                        replicates=replicates,
                        prune=prune,
                        setup=quiet_libraries,
                    )
        except KeyboardInterrupt:
            left = trials - len(observer.finished)
            resume = (
                f"Run `advisor tune --study {study} --objective {objective} --trials {left}` "
                "for the trials left (the surfaces see every stored one)."
            )
            exit_ = fail(interrupted_message(observer, resume))
            exit_.exit_code = 130
            raise exit_ from None
        front: list[dict[str, Any]] = observed_front(result.study, storage)
    if json_output:
        emit_json(result.to_json())
        return
    tune_summary(result, front)
    next_steps(
        [
            (
                f"advisor report --study {study} --objective {objective} --out report/",
                "figures and an HTML page of everything run so far",
            )
        ],
        storage,
    )
