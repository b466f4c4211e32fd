"""`advisor suggest` and `advisor tune` on a tiny-model grid study, and the objective studies
seen through optuna-dashboard's own WSGI app."""

from __future__ import annotations

import json
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import optuna
import pytest
from conftest import tiny_spec_text
from optuna.trial import TrialState
from typer.testing import CliRunner

from advisor.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def grid_db(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, keyword_data: Path) -> str:
    """A finished 12-point tiny grid (3 learning rates x 2 batch sizes x 2 epoch counts) on a
    task the tiny model can learn, so that its metrics move with the hyperparameters."""
    folder = tmp_path_factory.mktemp("steer")
    spec = folder / "steer.toml"
    spec.write_text(
        tiny_spec_text(
            tiny_model,
            keyword_data,
            name="steer",
            lr="{ low = 1e-4, high = 1e-2, log = true }",
            epochs="{ low = 1, high = 2 }",
            design='design = "factorial"\nlevels = 3',
        )
    )
    url = f"sqlite:///{folder / 'advisor.db'}"
    result = runner.invoke(app, ["grid", str(spec), "--storage", url, "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["trials"]) == 12
    return url


def test_suggest_returns_pareto_set_and_enqueues(grid_db: str) -> None:
    result = runner.invoke(
        app,
        [
            "suggest",
            "--study",
            "steer",
            "--objective",
            "f1,loss",
            "--n",
            "4",
            "--enqueue",
            "--json",
            "--storage",
            grid_db,
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    suggestions = payload["suggestions"]
    assert 1 <= len(suggestions) <= 4
    for s in suggestions:
        assert set(s["params"]) == {"learning_rate", "batch_size", "epochs"}
        assert 1e-4 <= s["params"]["learning_rate"] <= 1e-2
        assert s["params"]["batch_size"] in (16, 32) and s["params"]["epochs"] in (1, 2)
        for name in ("f1", "loss"):
            p = s["predicted"][name]
            assert p["lower"] <= p["mean"] <= p["upper"]
    # the suggestions are mutually non-dominated in predicted means
    means = [(s["predicted"]["f1"]["mean"], s["predicted"]["loss"]["mean"]) for s in suggestions]
    for a in means:
        assert not any(b[0] >= a[0] and b[1] <= a[1] and b != a for b in means)
    study = optuna.load_study(study_name="steer@f1,loss", storage=grid_db)
    assert study.metric_names == ["f1", "loss"]
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 12  # seeded from the grid
    waiting = study.get_trials(states=(TrialState.WAITING,))
    not_run = [s for s in suggestions if not s["already_run"]]
    assert len(waiting) == len(not_run) == len(payload["enqueued"])


def test_tune_adds_finished_trials_to_objective_study(grid_db: str) -> None:
    before = optuna.load_study(study_name="steer@f1,loss", storage=grid_db)
    waiting = len(before.get_trials(states=(TrialState.WAITING,)))
    finished = len(before.get_trials(states=(TrialState.COMPLETE,)))
    result = runner.invoke(
        app,
        [
            "tune",
            "--study",
            "steer",
            "--objective",
            "f1,loss",
            "--trials",
            "2",
            "--seed",
            "1",
            "--no-prune",  # every fine-tune runs to the end here (the pruner: test_study_record)
            "--json",
            "--storage",
            grid_db,
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["study"] == "steer@f1,loss"
    assert [t["state"] for t in payload["trials"]] == ["COMPLETE", "COMPLETE"]
    after = optuna.load_study(study_name="steer@f1,loss", storage=grid_db)
    assert len(after.get_trials(states=(TrialState.COMPLETE,))) == finished + 2
    assert len(after.get_trials(states=(TrialState.WAITING,))) == max(0, waiting - 2)
    for trial in after.get_trials(states=(TrialState.COMPLETE,))[-2:]:
        assert trial.values == [trial.user_attrs["f1"], trial.user_attrs["loss"]]
        assert {"accuracy", "f1_rel", "loss_rel"} <= set(trial.user_attrs)


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_tune_with_optuna_samplers(grid_db: str, sampler: str) -> None:
    result = runner.invoke(
        app,
        [
            "tune",
            "--study",
            "steer",
            "--objective",
            "accuracy",
            "--trials",
            "1",
            "--sampler",
            sampler,
            "--seed",
            "0",
            "--json",
            "--storage",
            grid_db,
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["trials"][0]["state"] == "COMPLETE"


def test_unknown_objective_lists_valid_names(grid_db: str) -> None:
    result = runner.invoke(
        app, ["suggest", "--study", "steer", "--objective", "f1,precision", "--storage", grid_db]
    )
    assert result.exit_code == 1
    for name in ("accuracy", "f1", "loss", "accuracy_rel", "f1_rel", "loss_rel"):
        assert name in result.stderr
    assert "precision" in result.stderr


def test_unknown_sampler_lists_choices(grid_db: str) -> None:
    result = runner.invoke(
        app,
        [
            "tune",
            "--study",
            "steer",
            "--objective",
            "f1",
            "--trials",
            "1",
            "--sampler",
            "cmaes",
            "--storage",
            grid_db,
        ],
    )
    assert result.exit_code == 2
    assert "surface" in result.output and "nsga2" in result.output


def test_dashboard_shows_objective_names(grid_db: str) -> None:
    from optuna_dashboard import wsgi

    runner.invoke(
        app, ["suggest", "--study", "steer", "--objective", "f1,loss", "--storage", grid_db]
    )
    application = wsgi(grid_db)

    def get(path: str) -> dict:
        status: list[str] = []
        environ: dict = {"REQUEST_METHOD": "GET", "PATH_INFO": path}
        setup_testing_defaults(environ)
        body = b"".join(application(environ, lambda s, h, exc=None: status.append(s)))
        assert status[0].startswith("200"), status
        return json.loads(body)

    studies = {s["study_name"]: s for s in get("/api/studies")["study_summaries"]}
    assert {"steer", "steer@f1,loss"} <= set(studies)
    detail = get(f"/api/studies/{studies['steer@f1,loss']['study_id']}")
    assert detail["objective_names"] == ["f1", "loss"]
    assert [d for d in detail["directions"]] == ["maximize", "minimize"]
    grid = get(f"/api/studies/{studies['steer']['study_id']}")
    assert grid["objective_names"] == ["accuracy", "f1", "loss"]
    record = optuna.load_study(study_name="steer", storage=grid_db)
    assert len(grid["trials"]) == len(record.trials) >= 12  # the grid and what tune added


@pytest.mark.parametrize("command", [["tune", "--trials", "1"], ["suggest"]])
def test_relative_objective_without_baseline_fails_before_anything(
    tmp_path: Path, command: list[str]
) -> None:
    import tomllib

    from advisor.config import parse_spec
    from advisor.study.grid import create_grid_study
    from advisor.study.storage import open_storage

    text = tiny_spec_text(
        tmp_path / "no-model", tmp_path / "no-data", name="nobase", baseline='kind = "none"'
    )
    spec = parse_spec(tomllib.loads(text), base_dir=str(tmp_path))
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    create_grid_study(spec, open_storage(url))
    result = runner.invoke(
        app,
        [*command, "--study", "nobase", "--objective", "f1_rel,loss", "--storage", url],
    )
    assert result.exit_code == 1
    assert "no baseline" in result.stderr and "f1_rel" in result.stderr
    assert optuna.get_all_study_names(url) == ["nobase"]  # no objective study was created


def test_suggest_uses_stored_surfaces_and_refits_with_their_options(grid_db: str) -> None:
    from advisor.steering import parse_objectives
    from advisor.study.record import RECORD_TRIAL_ATTR
    from advisor.study.storage import open_storage
    from advisor.study.views import ensure_view, table_of
    from advisor.tune import _surfaces

    def suggest_notes() -> list[str]:
        args = ["suggest", "--study", "steer", "--objective", "accuracy,f1", "--json"]
        result = runner.invoke(app, [*args, "--storage", grid_db])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["notes"]

    stored = runner.invoke(
        app, ["fit-surface", "--study", "steer", "--degree", "1", "--storage", grid_db, "--json"]
    )
    assert stored.exit_code == 0, stored.output
    assert not any("refitted" in n or "no surface stored" in n for n in suggest_notes())
    # suggest without --enqueue writes nothing: the objective study is made here
    grid = optuna.load_study(study_name="steer", storage=open_storage(grid_db))
    study = ensure_view(open_storage(grid_db), grid, parse_objectives("accuracy,f1"))
    first = study.get_trials(states=(TrialState.COMPLETE,))[0]
    study.add_trial(  # a fine-tune of the view that the record has not copied yet
        optuna.trial.create_trial(
            params=first.params,
            distributions=first.distributions,
            values=first.values,
            user_attrs={k: v for k, v in first.user_attrs.items() if k != RECORD_TRIAL_ATTR},
        )
    )
    notes = suggest_notes()
    fitted = json.loads(stored.stdout)["surfaces"][0]["n"]  # the grid and the tuned trials
    assert (
        f"accuracy: stored surface fitted on {fitted} trials, now {fitted + 1}: refitted"
        in (notes[0])
    )
    fits, _ = _surfaces(grid, table_of(grid), parse_objectives("accuracy,f1"))
    assert fits["accuracy"].degree == fits["f1"].degree == 1  # the stored surfaces' option
