"""Nothing mixed: a study refuses another spec (any part of it, also when two start together),
changed data, and broken stored surfaces; every table is checked alike; a failed model save keeps
the fine-tune's metrics. Each refusal is one line and exit code 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
from conftest import tiny_spec_text
from optuna.trial import TrialState
from typer.testing import CliRunner

from advisor.cli import app
from advisor.config import load_spec
from advisor.study.grid import create_grid_study
from advisor.study.storage import DATA_ATTR, open_storage
from advisor.study.surfaces import SURFACES_SYSTEM_ATTR
from advisor.study.worker import SAVE_ERROR_ATTR

runner = CliRunner()
ONE_POINT = {"lr": "[1e-3]", "batch": "[16]", "epochs": "[1]", "baseline": 'kind = "none"'}


def one_error_line(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.stderr
    return errors[0]


def spec_file(folder: Path, model: Path, data: Path, name: str = "s", **kwargs: str) -> Path:
    path = folder / f"{name}-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(tiny_spec_text(model, data, name=name, **kwargs), encoding="utf-8")
    return path


def copy_data(source: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    for name in ("train.tsv", "validation.tsv"):
        (folder / name).write_bytes((source / name).read_bytes())
    return folder


def registered(spec: Path, url: str) -> optuna.Study:
    """A grid study made from `spec` (its spec and data fingerprint stored), nothing trained."""
    from advisor.fingerprint import data_fingerprint
    from advisor.study.grid import check_same_data

    parsed = load_spec(spec)
    study = create_grid_study(parsed, open_storage(url))
    check_same_data(study, data_fingerprint(parsed), allow_change=False, store=True)
    return study


# --- the whole spec is compared -------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"seeds": "[0, 1]"}, "different 'seeds' ([grid] seeds) ([0] stored, [0, 1] now)"),
        ({"design": 'design = "ccd"'}, "different 'design' ([grid] design)"),
        ({"design": 'design = "factorial"\nlevels = 3'}, "different 'levels' ([grid] levels)"),
        ({"baseline": 'kind = "none"'}, "different 'baseline_kind' ([baseline] kind)"),
    ],
)
def test_another_grid_or_baseline_on_an_existing_study_is_one_line(
    change: dict[str, str], expect: str, tmp_path: Path, tiny_model: Path, sst2_sample: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    registered(spec_file(tmp_path, tiny_model, sst2_sample), url)
    other = spec_file(tmp_path, tiny_model, sst2_sample, **change)
    result = runner.invoke(app, ["grid", str(other), "--storage", url])
    line = one_error_line(result)
    assert expect in line and "new [study] name" in line, line
    assert optuna.load_study(study_name="s", storage=url).get_trials() == []


@pytest.fixture()
def fresh_name(request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"race-{uuid.uuid4().hex[:8]}"
    urls: list[str] = []
    request.node.race_urls = urls
    yield name
    for url in urls:
        if name in optuna.get_all_study_names(url):
            optuna.delete_study(study_name=name, storage=url)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_two_specs_started_together_on_one_name_one_wins(
    backend: str,
    request: pytest.FixtureRequest,
    fresh_name: str,
    tmp_path: Path,
    tiny_model: Path,
    sst2_sample: Path,
) -> None:
    url = (
        request.getfixturevalue("pg_url")
        if backend == "postgres"
        else f"sqlite:///{tmp_path / 'advisor.db'}"
    )
    request.node.race_urls.append(url)
    specs = [
        spec_file(tmp_path, tiny_model, sst2_sample, name=fresh_name, **{**ONE_POINT, "lr": lr})
        for lr in ("[1e-3]", "[3e-4]")
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "advisor", "grid", str(spec), "--storage", url, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for spec in specs
    ]
    outcomes = [(w.wait(timeout=300), *w.communicate()) for w in workers]
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 1], outcomes
    loser = next(err for code, _, err in outcomes if code == 1)
    assert "was created from a spec with a different 'space'" in loser, loser
    winner = json.loads(next(out for code, out, _ in outcomes if code == 0))
    lrs = {
        t.params["learning_rate"]
        for t in optuna.load_study(study_name=fresh_name, storage=url).get_trials()
    }
    assert lrs == {winner["trials"][0]["params"]["learning_rate"]}


# --- the data ---------------------------------------------------------------------------------


def test_changed_data_under_an_unchanged_spec_is_refused_unless_allowed(
    tmp_path: Path, tiny_model: Path, sst2_sample: Path
) -> None:
    data = copy_data(sst2_sample, tmp_path / "data")
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    spec = spec_file(tmp_path, tiny_model, data, **ONE_POINT)
    before = dict(registered(spec, url).user_attrs[DATA_ATTR])
    lines = (data / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    (data / "train.tsv").write_text(lines[0] + "".join(reversed(lines[1:])), encoding="utf-8")

    line = one_error_line(runner.invoke(app, ["grid", str(spec), "--storage", url]))
    assert "the train file changed" in line and "--allow-data-change" in line, line
    tune = ["tune", "--study", "s", "--objective", "f1,loss", "--trials", "1", "--storage", url]
    assert "the train file changed" in one_error_line(runner.invoke(app, tune))
    assert optuna.load_study(study_name="s", storage=url).get_trials() == []

    allowed = runner.invoke(app, ["grid", str(spec), "--storage", url, "--allow-data-change"])
    assert allowed.exit_code == 0, allowed.output
    after = optuna.load_study(study_name="s", storage=url).user_attrs[DATA_ATTR]
    assert after["train_sha256"] != before["train_sha256"]
    assert after["eval_sha256"] == before["eval_sha256"]


# --- stored surfaces -------------------------------------------------------------------------


def test_a_stored_surface_with_an_unknown_transform_is_one_line(tmp_path: Path) -> None:
    from test_storage_safety import make_study

    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    make_study(url)
    assert runner.invoke(app, ["fit-surface", "--study", "done", "--storage", url]).exit_code == 0
    study = optuna.load_study(study_name="done", storage=url)
    stored = study._storage.get_study_system_attrs(study._study_id)[SURFACES_SYSTEM_ATTR]
    record = json.loads(json.dumps(stored))

    def corrupt(value: Any) -> None:
        if isinstance(value, dict):
            if "transform" in value:
                value["transform"] = "log7"
            for item in value.values():
                corrupt(item)
        elif isinstance(value, list):
            for item in value:
                corrupt(item)

    corrupt(record)
    study._storage.set_study_system_attr(study._study_id, SURFACES_SYSTEM_ATTR, record)
    result = runner.invoke(
        app, ["suggest", "--study", "done", "--objective", "f1,loss", "--storage", url]
    )
    line = one_error_line(result)
    assert "unknown transform 'log7'" in line and "fit-surface" in line, line


# --- one table validator ----------------------------------------------------------------------


TABLE = "learning_rate,batch_size,epochs,accuracy,f1,loss\n" + "".join(
    f"{lr},{bs},{ep},0.{60 + i},0.{50 + i},0.{40 - i}\n"
    for i, (lr, bs, ep) in enumerate(
        [(1e-5, 16, 1), (1e-4, 16, 2), (1e-3, 32, 3), (1e-5, 32, 2), (1e-4, 32, 1), (1e-3, 16, 2)]
        * 2
    )
)


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (
            lambda t: t.replace("1e-05,16,1", "0,16,1", 1),
            "learning_rate must be a finite number > 0",
        ),
        (lambda t: t.replace("1e-05,16,1", "-1e-05,16,1", 1), "learning_rate must be"),
        (
            lambda t: t.replace("1e-05,16,1", "1e-05,0,1", 1),
            "batch_size must be a whole number >= 1",
        ),
        (lambda t: t.replace("1e-05,16,1", "1e-05,inf,1", 1), "batch_size must be"),
        (lambda t: t.replace("1e-05,16,1", "1e-05,16,-2", 1), "epochs must be a finite number > 0"),
        (lambda t: t.replace(",loss\n", ",f1\n", 1), "names column(s) f1 more than once"),
    ],
)
@pytest.mark.parametrize("command", ["bench", "fit-surface", "report"])
def test_every_command_rejects_the_same_bad_tables(
    command: str, edit: Any, expect: str, tmp_path: Path
) -> None:
    table = tmp_path / "t.csv"
    table.write_text(edit(TABLE), encoding="utf-8")
    args = {
        "bench": ["bench", "--table", str(table), "--objective", "f1,loss", "--budget", "3"],
        "fit-surface": ["fit-surface", "--table", str(table)],
        "report": ["report", "--table", str(table), "--out", str(tmp_path / "r")],
    }[command]
    line = one_error_line(runner.invoke(app, args))
    assert expect in line, line


# --- --save-models --------------------------------------------------------------------------


def test_an_unwritable_save_folder_is_refused_before_any_training(
    tmp_path: Path, tiny_model: Path, sst2_sample: Path
) -> None:
    from test_storage_safety import read_only

    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    spec = spec_file(tmp_path, tiny_model, sst2_sample, **ONE_POINT)
    folder = tmp_path / "models"
    folder.mkdir()
    with read_only(folder):
        result = runner.invoke(
            app, ["grid", str(spec), "--storage", url, "--save-models", str(folder)]
        )
    line = one_error_line(result)
    assert f"--save-models {folder} cannot be written" in line, line
    assert optuna.get_all_study_names(url) == []


def test_a_failed_save_keeps_the_metrics_and_no_partial_folder(
    tmp_path: Path, tiny_model: Path, sst2_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transformers

    def full_disk(self: Any, output_dir: str | None = None, **kwargs: Any) -> None:
        Path(str(output_dir)).mkdir(parents=True, exist_ok=True)
        (Path(str(output_dir)) / "model.safetensors").write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(transformers.Trainer, "save_model", full_disk)
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    spec = spec_file(tmp_path, tiny_model, sst2_sample, **ONE_POINT)
    models = tmp_path / "models"
    result = runner.invoke(app, ["grid", str(spec), "--storage", url, "--save-models", str(models)])

    assert result.exit_code == 0, result.output
    (trial,) = optuna.load_study(study_name="s", storage=url).get_trials()
    assert trial.state == TrialState.COMPLETE and "f1" in trial.user_attrs
    assert "No space left on device" in trial.user_attrs[SAVE_ERROR_ATTR]
    assert "was not saved" in result.output
    assert list(models.iterdir()) == []  # the partial folder is gone
