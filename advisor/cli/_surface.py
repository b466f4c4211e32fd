"""`advisor fit-surface`: absolute and relative polynomial response surfaces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from advisor.cli._app import (
    JsonOption,
    StorageOption,
    app,
    emit_json,
    next_steps,
    require_one_source,
    user_errors,
)
from advisor.surface._options import DEFAULT_ALPHA, Coding, Mode, Selection

DEFAULT_METRICS = "accuracy,f1,loss"  # advisor.table.METRICS (pandas stays unimported for --help)


def _metrics(value: str) -> str:
    from advisor.table import METRICS

    names = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        shown = repr(unknown[0]) if unknown else "none"
        raise typer.BadParameter(f"unknown metric {shown}; valid choices: {', '.join(METRICS)}")
    return ",".join(names)


def _degree(value: int) -> int:
    if value not in (1, 2, 3):
        raise typer.BadParameter(f"{value} is not a valid degree; valid choices: 1, 2, 3")
    return value


def _alpha(value: float) -> float:
    if not 0.0 < value < 1.0:
        raise typer.BadParameter(f"{value:g} is not between 0 and 1 (exclusive)")
    return value


@app.command("fit-surface", short_help="Fit absolute and relative response surfaces.")
def fit_surface(
    study: Annotated[
        str | None,
        typer.Option("--study", help="Study whose finished trials to fit.", show_default=False),
    ] = None,
    table: Annotated[
        Path | None,
        typer.Option(
            "--table",
            metavar="FILE.csv",
            show_default=False,
            help="Fit a table of trials instead (benchmark-table format; role=baseline row).",
        ),
    ] = None,
    metric: Annotated[
        str,
        typer.Option(
            "--metric",
            callback=_metrics,
            help="Comma-separated metrics: accuracy,f1,loss.",
        ),
    ] = DEFAULT_METRICS,
    mode: Annotated[
        Mode,
        typer.Option("--mode", help="Absolute surfaces, relative (metric - baseline), or both."),
    ] = Mode.BOTH,
    degree: Annotated[
        int,
        typer.Option(
            "--degree",
            callback=_degree,
            help="1 main effects; 2 adds squares and two-way interactions; 3 full cubic.",
        ),
    ] = 2,
    select: Annotated[
        Selection | None,
        typer.Option(
            "--select",
            help="Hierarchical backward term selection by AIC or BIC.",
            show_default=False,
        ),
    ] = None,
    robust: Annotated[
        bool, typer.Option("--robust", help="Heteroscedasticity-robust (HC3) standard errors.")
    ] = False,
    alpha: Annotated[
        float,
        typer.Option(
            "--alpha",
            callback=_alpha,
            help="Significance level for intervals and findings (between 0 and 1).",
        ),
    ] = DEFAULT_ALPHA,
    coding: Annotated[
        Coding,
        typer.Option(
            "--coding",
            help="coded: each factor's range mapped to [-1, 1]; natural: log10 lr, "
            "log2 batch, epochs as they are.",
        ),
    ] = Coding.CODED,
    store: Annotated[
        bool, typer.Option("--store/--no-store", help="Store the fitted surfaces with the study.")
    ] = True,
    full: Annotated[
        bool,
        typer.Option("--full", help="Print the coefficient tables and fit statistics too."),
    ] = False,
    storage: StorageOption = None,
    json_output: JsonOption = False,
) -> None:
    """Fit absolute and relative polynomial response surfaces and store them with the study."""
    require_one_source(study, table)
    from advisor.render.surface import render_fits
    from advisor.study.storage import load_study, open_storage
    from advisor.study.surfaces import store_surfaces
    from advisor.study.views import table_of
    from advisor.surface import fit_surfaces
    from advisor.table import read_table

    with user_errors():
        handle = (
            None
            if study is None
            else load_study(open_storage(storage, read_only=not store, must_exist=True), study)
        )
        if handle is None:
            rows, source = read_table(str(table)), f"table {table}"
        else:
            rows, source = table_of(handle), f"study {study}"
        fits = fit_surfaces(
            rows, metric, mode, degree, robust=robust, select=select, coding=coding, alpha=alpha
        )
        stored = handle is not None and store
        if handle is not None and store:
            store_surfaces(handle, fits, rows)
    if json_output:
        emit_json({"source": source, "stored": stored, **fits.to_dict()})
    else:
        render_fits(fits, source, stored_in=study if stored else None, full=full)
        if study is not None:
            next_steps(
                [
                    (
                        f"advisor suggest --study {study} --objective f1,loss",
                        "configurations the surfaces predict best",
                    )
                ],
                storage,
            )
