"""`advisor harvest`: a study from Hugging Face model cards (Hub or a folder of cards)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from advisor.cli._app import JsonOption, StorageOption, StudyOption, app, emit_json, user_errors


@app.command(short_help="Build a study from Hugging Face model cards.")
def harvest(
    study: StudyOption,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            metavar="MODEL_ID",
            help="Base model: its derived models are harvested from the Hub; with --cards, the "
            "base's card in DIR gives the baseline.",
            show_default=False,
        ),
    ] = None,
    cards: Annotated[
        Path | None,
        typer.Option(
            "--cards",
            metavar="DIR",
            help="Harvest offline from DIR/OWNER__NAME.md or DIR/OWNER__NAME/README.md cards.",
            exists=True,
            file_okay=False,
            dir_okay=True,
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help="Read at most N Hub models (most downloaded first).",
            show_default=False,
        ),
    ] = None,
    storage: StorageOption = None,
    json_output: JsonOption = False,
) -> None:
    """Build a study from the model cards of models fine-tuned from a base (a trial per card)."""
    if base is None and cards is None:
        raise typer.BadParameter(
            "pass --base MODEL_ID (Hub) or --cards DIR (offline)", param_hint="'--base'"
        )
    from advisor.harvest import run_harvest
    from advisor.render.harvest import HubProgress, harvest_summary

    with user_errors():
        if cards is None and not json_output:
            with HubProgress() as progress:
                result, stored = run_harvest(
                    study, base=base, storage_url=storage, limit=limit, progress=progress
                )
        else:
            result, stored = run_harvest(
                study, base=base, cards=cards, storage_url=storage, limit=limit
            )
    if json_output:
        emit_json(result.to_json())
    else:
        harvest_summary(result, stored)
