"""`advisor grid` and `advisor export`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from advisor.study.placement import Placement

WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        min=1,
        max=256,
        help="Local worker processes on the same storage: spread over the CUDA GPUs, or "
        "sharing the CPU cores (threads split between them).",
    ),
]
WorkersPerGpuOption = Annotated[
    int | None,
    typer.Option(
        "--workers-per-gpu",
        min=1,
        max=64,
        metavar="K",
        help="K workers on each visible CUDA GPU (the same as --workers K*GPUs).",
        show_default=False,
    ),
]


def worker_placements(workers: int, workers_per_gpu: int | None) -> list[Placement] | None:
    """Where `--workers` / `--workers-per-gpu` put the workers; None for one worker (it runs
    in this process, as without the options)."""
    from advisor.study.placement import placements, usable_cores, visible_gpus, worker_count

    gpus = visible_gpus() if workers > 1 or workers_per_gpu else []
    count = worker_count(workers, workers_per_gpu, gpus)
    return placements(count, gpus, usable_cores()) if count > 1 else None


def announce_workers(observer: object, where: list[Placement]) -> None:
    """Say where the workers run (one progress line)."""
    from advisor.study.placement import describe, usable_cores

    hook = getattr(observer, "message", None)
    if hook is not None:
        hook(describe(where, usable_cores()))


@app.command(short_help="Run the seed grid of real fine-tunes (resumable, many workers).")
def grid(
    spec_file: Annotated[Path, typer.Argument(metavar="SPEC.toml", help="Study spec (TOML).")],
    storage: StorageOption = None,
    json_output: JsonOption = False,
    status: Annotated[
        bool,
        typer.Option(
            "--status", help="Show points and trials by state and failure reasons; run nothing."
        ),
    ] = False,
    save_models: Annotated[
        str | None,
        typer.Option("--save-models", metavar="DIR", help="Save each fine-tuned model under DIR."),
    ] = None,
    grace_period: Annotated[
        int,
        typer.Option(
            "--grace-period",
            min=1,
            max=3600,
            help="Seconds without a heartbeat before another worker takes a trial over.",
        ),
    ] = 60,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="Also re-run failed points whose failure is final (diverged "
            "loss, retries exhausted).",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Run a grid of more than 10,000 points."),
    ] = False,
    allow_data_change: Annotated[
        bool,
        typer.Option(
            "--allow-data-change",
            help="Go on although the data files differ from those the study was made with.",
        ),
    ] = False,
    workers: WorkersOption = 1,
    workers_per_gpu: WorkersPerGpuOption = None,
) -> None:
    """Run the study's seed grid: one real fine-tune per grid point and seed (resumable;
    --workers N runs N processes here; start it on several machines with one PostgreSQL
    --storage to share the work)."""
    from advisor.config import load_spec
    from advisor.design import design_points
    from advisor.render.grid import grid_observer, grid_summary, interrupted_message, status_table
    from advisor.study.grid import GridOptions, run_grid
    from advisor.study.grid_status import baseline_status, grid_status
    from advisor.study.pool import grid_workers
    from advisor.study.storage import load_study, open_storage
    from advisor.study.views import sources_count, views_status
    from advisor.study.worker import Interrupted

    with user_errors():
        spec = load_spec(spec_file)
        if status:
            handle = open_storage(storage, read_only=True)
            study = load_study(handle, spec.name)
            report = grid_status(study, design_points(spec))
            report["sources"] = sources_count(study)
            report["views"] = views_status(handle, spec.name)
            emit_json(report) if json_output else status_table(report)
            return
        options = GridOptions(
            save_models=save_models,
            grace_period=grace_period,
            heartbeat_interval=min(10, max(1, grace_period // 3)),
            poll_interval=min(5.0, max(0.5, grace_period / 4)),
            retry_failed=retry_failed,
            force=force,
            allow_data_change=allow_data_change,
        )
        where = worker_placements(workers, workers_per_gpu)
        observer = grid_observer()
        try:
            with observer:
                if where is None:
                    result = run_grid(spec, storage, observer, options)
                else:
                    announce_workers(observer, where)
                    result = grid_workers(
                        spec, storage, observer, options, where, setup=quiet_libraries
                    )
        except KeyboardInterrupt as exc:  # Ctrl-C: 130; SIGTERM (`Interrupted`): 143
            code = 143 if isinstance(exc, Interrupted) else 130
            resume = "Run the same command again to resume: finished points are skipped."
            raise _fail_with(interrupted_message(observer, resume), code=code) from None
        if json_output:
            emit_json(result.to_json())
            return
        baseline = baseline_status(load_study(open_storage(storage), spec.name))
    grid_summary(result.study, result.storage, result.trials, baseline=baseline)
    next_steps(
        [
            (
                f"advisor fit-surface --study {spec.name}",
                "how lr, batch and epochs move each metric",
            ),
            (
                f"advisor suggest --study {spec.name} --objective f1,loss",
                "the configurations to run next",
            ),
        ],
        storage,
    )


def _fail_with(message: str, code: int) -> typer.Exit:
    """One red line on stderr, and the exit to raise with `code`."""
    exit_ = fail(message)
    exit_.exit_code = code
    return exit_


@app.command(short_help="Write the finished trials as a benchmark table (CSV).")
def export(
    study: StudyOption,
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.", show_default=False)],
    storage: StorageOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write the study's finished trials as a table in the benchmark-table format."""
    from advisor.study.export import export_study

    with user_errors():
        rows = export_study(study, out, storage)
    if json_output:
        emit_json({"study": study, "out": str(out), "rows": rows})
    else:
        typer.echo(f"wrote {rows} trials of {study} to {out}")
