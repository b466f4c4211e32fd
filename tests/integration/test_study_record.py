"""The study of record: every fine-tune of a spec is recorded in the grid study once, the
objective-set studies are views of it, reads write nothing, stored surfaces stay small, and a
storage made by the previous layout is brought over without losing a trial."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
from conftest import tiny_spec_text
from optuna.trial import TrialState
from typer.testing import CliRunner

from advisor.cli import app
from advisor.study.record import RECORD_TRIAL_ATTR, SOURCE_ATTR
from advisor.study.worker import SilentObserver
from advisor.tune import tune

runner = CliRunner()
FIXTURE = Path(__file__).parents[1] / "fixtures" / "storage_v1" / "storage_v1.db"


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def dump(path: Path) -> list[str]:
    """The database's content as SQL statements (what `sqlite3 DB .dump` prints)."""
    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())


class CountingObserver(SilentObserver):
    """Counts fine-tunes started (an answer from the record starts none)."""

    def __init__(self) -> None:
        self.started_fine_tunes: list[dict[str, Any]] = []

    def trial_started(self, number: int, params: dict[str, Any]) -> None:
        self.started_fine_tunes.append(params)


@pytest.fixture(scope="module")
def record_db(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, keyword_data: Path):
    """An 8-point tiny grid, then `tune --objective f1,loss --trials 2` on it."""
    folder = tmp_path_factory.mktemp("record")
    spec = folder / "rec.toml"
    spec.write_text(
        tiny_spec_text(
            tiny_model,
            keyword_data,
            name="rec",
            lr="{ low = 1e-4, high = 1e-2, log = true }",
            epochs="{ low = 1, high = 2 }",
        )
    )
    db = folder / "advisor.db"
    url = f"sqlite:///{db}"
    invoke("grid", str(spec), "--storage", url)
    tuned = invoke(
        "tune",
        "--study",
        "rec",
        "--objective",
        "f1,loss",
        "--trials",
        "2",
        "--seed",
        "0",
        "--sampler",
        "random",
        "--no-prune",  # the pruner is tested on its own below
        "--storage",
        url,
        "--json",
    )
    return spec, db, url, json.loads(tuned.stdout)


def test_tuned_trials_are_in_the_record_and_every_reader_sees_them(record_db, tmp_path) -> None:
    spec, _, url, tuned = record_db
    assert tuned["record"] == "rec" and len(tuned["trials"]) == 2
    record = optuna.load_study(study_name="rec", storage=url)
    done = record.get_trials(states=(TrialState.COMPLETE,))
    sources = sorted(t.user_attrs[SOURCE_ATTR] for t in done)
    assert sources[:8] == ["grid"] * 8 and sources[8:] == ["tune", "tune"]
    view = optuna.load_study(study_name="rec@f1,loss", storage=url)
    for copy in (t for t in done if t.user_attrs[SOURCE_ATTR] == "tune"):
        assert copy.user_attrs["objectives"] == "f1,loss"
        original = view.trials[copy.user_attrs["view_trial"]]
        assert original.datetime_start == copy.datetime_start  # the dashboard's timeline
        assert copy.values == [original.user_attrs[m] for m in ("accuracy", "f1", "loss")]
    exported = tmp_path / "rec.csv"
    invoke("export", "--study", "rec", "--out", str(exported), "--storage", url)
    assert len(exported.read_text().strip().splitlines()) == 1 + 1 + 10  # header, baseline, runs
    fitted = json.loads(
        invoke(
            "fit-surface",
            "--study",
            "rec",
            "--degree",
            "1",
            "--no-store",
            "--json",
            "--storage",
            url,
        ).stdout
    )
    assert max(s["n"] for s in fitted["surfaces"]) == 10  # 8 grid runs and 2 tuned
    status = json.loads(invoke("grid", str(spec), "--status", "--json", "--storage", url).stdout)
    assert status["sources"] == {"grid": 8, "tune": 2}
    (views,) = status["views"]
    assert views["study"] == "rec@f1,loss" and views["own_fine_tunes"] == 2
    assert views["states"]["COMPLETE"] == 10 and views["front_size"] >= 1
    by_name = json.loads(invoke("status", "--study", "rec", "--json", "--storage", url).stdout)
    assert by_name["sources"] == status["sources"] and by_name["points"] == status["points"]
    assert [v["study"] for v in by_name["views"]] == ["rec@f1,loss"]
    refused = runner.invoke(app, ["status", "--study", "rec@f1,loss", "--storage", url])
    assert refused.exit_code == 1 and "use --study rec" in refused.output


def test_a_second_objective_set_reuses_the_first_sets_fine_tunes(record_db) -> None:
    _, _, url, tuned = record_db
    measured = tuned["trials"][0]["params"]
    config = {k: measured[k] for k in ("learning_rate", "batch_size", "epochs")}
    # the new set's view is seeded with all ten fine-tunes, the f1,loss ones included
    tune("rec", "accuracy,f1,loss", trials=0, sampler="random", storage_url=url)
    view = optuna.load_study(study_name="rec@accuracy,f1,loss", storage=url)
    assert len(view.get_trials(states=(TrialState.COMPLETE,))) == 10
    asked = optuna.trial.create_trial(  # as `suggest --enqueue` adds one
        state=TrialState.WAITING, params=config, distributions=view.trials[0].distributions
    )
    view.add_trial(asked)  # the tuner is asked for a configuration the record already has
    observer = CountingObserver()
    result = tune(
        "rec",
        "accuracy,f1,loss",
        trials=1,
        sampler="random",
        storage_url=url,
        seed=3,
        observer=observer,
        prune=False,
    )
    assert len(observer.started_fine_tunes) == 1  # the new proposal only
    assert observer.started_fine_tunes[0] != {**config, "seed": 0}
    answered = [d for d in result.decisions if "answered from it, no fine-tune" in d]
    assert len(answered) == 1
    view = optuna.load_study(study_name="rec@accuracy,f1,loss", storage=url)
    reused = [t for t in view.trials if t.user_attrs.get("answered_from_record")]
    assert len(reused) == 1 and reused[0].params == config
    record = optuna.load_study(study_name="rec", storage=url)
    linked = record.trials[reused[0].user_attrs[RECORD_TRIAL_ATTR]]
    assert reused[0].values == [linked.user_attrs[m] for m in ("accuracy", "f1", "loss")]
    assert len(record.get_trials(states=(TrialState.COMPLETE,))) == 11  # one new fine-tune
    # ... and the f1,loss view sees the new fine-tune too
    other = optuna.load_study(study_name="rec@f1,loss", storage=url)
    assert len(other.get_trials(states=(TrialState.COMPLETE,))) == 11


def test_a_direction_is_part_of_the_objective_set(record_db) -> None:
    _, _, url, _ = record_db
    before = len(optuna.load_study(study_name="rec@f1,loss", storage=url).trials)
    invoke(
        "suggest",
        "--study",
        "rec",
        "--objective",
        "f1:min,loss",
        "--enqueue",
        "--n",
        "2",
        "--storage",
        url,
    )
    assert len(optuna.load_study(study_name="rec@f1,loss", storage=url).trials) == before
    worst = optuna.load_study(study_name="rec@f1:min,loss", storage=url)
    assert [d.name for d in worst.directions] == ["MINIMIZE", "MINIMIZE"]
    assert worst.get_trials(states=(TrialState.WAITING,))


def test_reads_leave_the_database_unchanged(record_db, tmp_path) -> None:
    spec, db, url, _ = record_db
    invoke("fit-surface", "--study", "rec", "--degree", "1", "--storage", url)  # stored
    before = dump(db)
    reads = [
        ["suggest", "--study", "rec", "--objective", "accuracy,loss"],  # a set with no view
        ["suggest", "--study", "rec", "--objective", "f1,loss", "--json"],
        ["fit-surface", "--study", "rec", "--degree", "1", "--no-store"],
        ["report", "--study", "rec", "--out", str(tmp_path / "report")],
        ["export", "--study", "rec", "--out", str(tmp_path / "out.csv")],
        ["grid", str(spec), "--status"],
        ["status", "--study", "rec"],
    ]
    for args in reads:
        invoke(*args, "--storage", url)
        assert dump(db) == before, args


def test_stored_surfaces_keep_optuna_studies_readable(record_db) -> None:
    _, _, url, _ = record_db
    invoke("fit-surface", "--study", "rec", "--storage", url)  # degree 2: the largest record
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "optuna"), "studies", "--storage", url, "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    studies = json.loads(listed)
    assert studies
    for study in studies:
        assert len(json.dumps(study)) < 10_000, study["name"]
    notes = json.loads(
        invoke(
            "suggest", "--study", "rec", "--objective", "f1,loss", "--json", "--storage", url
        ).stdout
    )["notes"]
    assert not any("refitted" in n for n in notes)  # current against the record


def test_a_storage_of_the_previous_layout_opens_without_losing_a_trial(tmp_path: Path) -> None:
    """The fixture (tests/fixtures/storage_v1/make.py): an 8-point grid `tiny`, 3 fine-tunes
    tuned in `tiny@f1,loss` and 1 in `tiny@accuracy,f1,loss`, stored only there (each view
    holds copies of the grid trials); surfaces stored as one large user attribute."""
    db = tmp_path / "storage_v1.db"
    shutil.copy(FIXTURE, db)
    url = f"sqlite:///{db}"
    before = dump(db)
    exported = tmp_path / "tiny.csv"
    invoke("export", "--study", "tiny", "--out", str(exported), "--storage", url)
    assert len(exported.read_text().strip().splitlines()) == 1 + 1 + 12  # all 12 fine-tunes
    suggested = json.loads(
        invoke(
            "suggest", "--study", "tiny", "--objective", "f1,loss", "--json", "--storage", url
        ).stdout
    )
    assert suggested["suggestions"]
    assert dump(db) == before  # reading an old storage does not migrate it
    # the first write brings it over: the record gets the four tuned fine-tunes, once
    invoke("fit-surface", "--study", "tiny", "--degree", "1", "--storage", url)
    invoke("suggest", "--study", "tiny", "--objective", "f1,loss", "--enqueue", "--storage", url)
    invoke("suggest", "--study", "tiny", "--objective", "f1,loss", "--enqueue", "--storage", url)
    record = optuna.load_study(study_name="tiny", storage=url)
    done = record.get_trials(states=(TrialState.COMPLETE,))
    sources = sorted(t.user_attrs.get(SOURCE_ATTR, "grid") for t in done)
    assert sources == ["grid"] * 8 + ["tune"] * 4
    for name in ("tiny@f1,loss", "tiny@accuracy,f1,loss"):
        view = optuna.load_study(study_name=name, storage=url)
        complete = view.get_trials(states=(TrialState.COMPLETE,))
        assert len(complete) == 12, name  # each fine-tune once in every view
    assert len(json.dumps(record.user_attrs)) < 10_000


def test_grid_fine_tunes_store_a_curve_point_per_epoch(record_db, tmp_path) -> None:
    _, _, url, _ = record_db
    record = optuna.load_study(study_name="rec", storage=url)
    for trial in record.get_trials(states=(TrialState.COMPLETE,)):
        curve = trial.user_attrs["curve"]
        assert [p["epoch"] for p in curve] == list(range(1, trial.params["epochs"] + 1))
        assert curve[-1]["f1"] == trial.user_attrs["f1"]  # the last point is the final value
        assert trial.user_attrs["train_seconds"] == curve[-1]["train_seconds"] > 0
        # optuna-dashboard's learning-curve view: the first objective (accuracy) per epoch
        assert trial.intermediate_values == {p["epoch"]: p["accuracy"] for p in curve}
    exported = tmp_path / "curves.csv"
    invoke("export", "--study", "rec", "--out", str(exported), "--storage", url)
    header = exported.read_text().splitlines()[0].split(",")
    assert {"train_seconds", "f1@1", "loss@2", "train_seconds@2"} <= set(header)


def test_a_pruned_fine_tune_keeps_its_curve_and_joins_the_record(record_db, monkeypatch) -> None:
    _, _, url, _ = record_db

    class AlwaysPrune:  # the wiring under test, not the pruner's judgement (test_pruner.py)
        def __init__(self, **options: Any) -> None: ...

        def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
            return True

    monkeypatch.setattr("advisor.steering.ParetoPruner", AlwaysPrune)
    view = optuna.load_study(study_name="rec@f1,loss", storage=url)
    config = {"learning_rate": 3e-3, "batch_size": 16, "epochs": 2}
    view.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING, params=config, distributions=view.trials[0].distributions
        )
    )
    result = tune("rec", "f1,loss", trials=1, sampler="random", storage_url=url, prune=True)
    (record,) = result.trials
    assert record.state == "PRUNED"
    view = optuna.load_study(study_name="rec@f1,loss", storage=url)
    pruned = view.trials[record.number]
    assert pruned.state == TrialState.PRUNED and pruned.params == config
    assert [p["epoch"] for p in pruned.user_attrs["curve"]] == [1]
    assert pruned.user_attrs["pruned_at_epoch"] == 1
    assert 0 < pruned.user_attrs["train_seconds"] <= pruned.user_attrs["wall_time_s"]
    assert "f1" not in pruned.user_attrs  # no final value: it never finished
    grid = optuna.load_study(study_name="rec", storage=url)
    (copy,) = [
        t
        for t in grid.trials
        if t.user_attrs.get("view_trial") == record.number
        and t.user_attrs.get("objectives") == "f1,loss"
    ]
    assert (
        copy.state == TrialState.PRUNED and copy.user_attrs["curve"] == pruned.user_attrs["curve"]
    )
