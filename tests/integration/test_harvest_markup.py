"""Card file names are data: Rich markup in one is printed as written, never interpreted (the
id on screen must be the stored id)."""

from __future__ import annotations

import shutil
from pathlib import Path

import optuna
from typer.testing import CliRunner

from advisor.cli import app

CARDS = Path(__file__).resolve().parents[1] / "fixtures" / "cards" / "sst2"
BASE = "distilbert-base-uncased-finetuned-sst-2-english"
runner = CliRunner(env={"COLUMNS": "240"})


def test_markup_in_a_card_file_name_is_shown_as_written(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    shutil.copytree(CARDS, cards)
    source = next(p for p in cards.iterdir() if p.name.startswith("alice__"))
    source.rename(cards / "alice__[bold]distilbert-sst2.md")
    url = f"sqlite:///{tmp_path / 'x.db'}"

    result = runner.invoke(
        app, ["harvest", "--cards", str(cards), "--base", BASE, "--study", "c", "--storage", url]
    )

    assert result.exit_code == 0, result.output
    stored = {
        t.user_attrs.get("model_id")
        for t in optuna.load_study(study_name="c", storage=url).get_trials()
    }
    assert "alice/[bold]distilbert-sst2" in stored
    assert "alice/[bold]distilbert-sst2" in result.output
