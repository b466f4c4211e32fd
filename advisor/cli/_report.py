"""`advisor report`: PNG figures and a self-contained HTML page for a study or a table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from advisor.cli._app import (
    JsonOption,
    StorageOption,
    app,
    emit_json,
    require_one_source,
    user_errors,
)


def _objectives(value: str) -> str:
    from advisor.steering._objectives import ObjectiveError, parse_objectives

    try:
        objectives = parse_objectives(value)
    except ObjectiveError as exc:
        raise typer.BadParameter(str(exc)) from None
    if len(objectives) < 2:
        raise typer.BadParameter("a Pareto front needs at least two objectives, e.g. f1,loss")
    return value


@app.command(short_help="Figures and a self-contained HTML page.")
def report(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Folder for report.html and the PNG figures.",
            file_okay=False,
            show_default=False,
        ),
    ],
    study: Annotated[
        str | None, typer.Option("--study", help="Study to report on.", show_default=False)
    ] = None,
    table: Annotated[
        Path | None,
        typer.Option(
            "--table",
            metavar="FILE.csv",
            show_default=False,
            help="Report on a table of trials instead (benchmark-table format).",
        ),
    ] = None,
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            callback=_objectives,
            help="Objectives of the Pareto front, e.g. f1,loss or accuracy,loss_rel.",
        ),
    ] = "f1,loss",
    degree: Annotated[
        int,
        typer.Option(
            "--degree",
            min=1,
            max=3,
            help="Degree of surfaces fitted for the report (stored ones are reused).",
        ),
    ] = 2,
    storage: StorageOption = None,
    json_output: JsonOption = False,
) -> None:
    """Plots (surfaces, interactions, Pareto front, seed variability) and an HTML page."""
    require_one_source(study, table)
    from advisor.render.report import report_summary
    from advisor.report import build_report
    from advisor.study.storage import load_study, open_storage
    from advisor.table import read_table

    with user_errors():
        if study is not None:
            source = load_study(open_storage(storage, read_only=True), study)
            result = build_report(
                source, out, objective, title=f"advisor report: study {study}", degree=degree
            )
        else:
            result = build_report(
                read_table(str(table)),
                out,
                objective,
                title=f"advisor report: table {table}",
                degree=degree,
            )
    if json_output:
        emit_json(result.to_json())
    else:
        report_summary(result)
