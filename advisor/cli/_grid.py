"""`advisor grid` and `advisor export`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from advisor.cli._app import JsonOption, StorageOption, StudyOption, app, emit_json, user_errors


@app.command()
def grid(
    spec_file: Annotated[Path, typer.Argument(metavar="SPEC.toml", help="Study spec (TOML).")],
    storage: StorageOption = None,
    json_output: JsonOption = False,
    status: Annotated[bool, typer.Option(
        "--status", help="Show trials by state and failure reasons; run nothing.")] = False,
    save_models: Annotated[str | None, typer.Option(
        "--save-models", metavar="DIR", help="Save each fine-tuned model under DIR.")] = None,
    grace_period: Annotated[int, typer.Option(
        "--grace-period", min=1, help="Seconds without a heartbeat before a trial is taken over."
    )] = 60,
) -> None:
    """Run the study's seed grid: one real fine-tune per grid point and seed (resumable)."""
    from advisor.config import load_spec
    from advisor.grid import GridOptions, grid_status, run_grid
    from advisor.render.grid import RichGridObserver, grid_summary, status_table
    from advisor.storage import load_study, open_storage

    with user_errors():
        spec = load_spec(spec_file)
        if status:
            report = grid_status(load_study(open_storage(storage), spec.name))
            emit_json(report) if json_output else status_table(report)
            return
        options = GridOptions(save_models=save_models, grace_period=grace_period,
                              heartbeat_interval=min(10, max(1, grace_period // 3)))
        try:
            with RichGridObserver() as observer:
                result = run_grid(spec, storage, observer, options)
        except KeyboardInterrupt:
            raise typer.Exit(code=130) from None
    if json_output:
        emit_json(result.to_json())
    else:
        grid_summary(result.study, result.storage, result.trials)


@app.command()
def export(
    study: StudyOption,
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.", show_default=False)],
    storage: StorageOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write the study's finished trials as a table in the benchmark-table format."""
    from advisor.export import export_study

    with user_errors():
        rows = export_study(study, out, storage)
    if json_output:
        emit_json({"study": study, "out": str(out), "rows": rows})
    else:
        typer.echo(f"wrote {rows} trials of {study} to {out}")
