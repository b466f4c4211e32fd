"""Storage that is hard to use safely: a password with a raw `@`, a read-only or immutable
SQLite file, a command run from the wrong folder, `--storage advisor.db`, lock files."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from conftest import start_together
from optuna.distributions import CategoricalDistribution, FloatDistribution
from typer.testing import CliRunner

from advisor.cli import app
from advisor.study.locks import LOCK_DIR_ENV, study_lock
from advisor.study.storage import BASELINE_ATTR, mask_url, open_storage

runner = CliRunner()
HERE = Path(__file__).resolve().parent
BASE = {"accuracy": 0.5, "f1": 0.6, "loss": 0.7}
SECRET = "S3cr@3tPW"
RAW_AT_URL = f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/x"


def make_study(url: str, name: str = "done") -> None:
    """A grid-like study of 18 finished trials (a smooth response plus noise) and a baseline."""
    study = optuna.create_study(
        study_name=name, storage=url, directions=["maximize", "maximize", "minimize"]
    )
    study.set_metric_names(["accuracy", "f1", "loss"])
    study.set_user_attr(BASELINE_ATTR, {"kind": "checkpoint", "metrics": BASE})
    distributions = {
        "learning_rate": FloatDistribution(1e-5, 1e-3, log=True),
        "batch_size": CategoricalDistribution([16, 32]),
        "epochs": CategoricalDistribution([1, 2, 3]),
        "seed": CategoricalDistribution([0]),
    }
    for i, (lr, batch, epochs) in enumerate(
        itertools.product([1e-5, 1e-4, 1e-3], [16, 32], [1, 2, 3])
    ):
        noise = ((i * 7919) % 13 - 6) / 600
        accuracy = 0.6 + 0.05 * epochs - 0.01 * epochs**2 + (0.02 if batch == 16 else 0) + noise
        metrics = {"accuracy": accuracy, "f1": accuracy - 0.02, "loss": 1.2 - accuracy}
        relative = {f"{m}_rel": v - BASE[m] for m, v in metrics.items()}
        study.add_trial(
            optuna.trial.create_trial(
                params={"learning_rate": lr, "batch_size": batch, "epochs": epochs, "seed": 0},
                distributions=distributions,
                values=list(metrics.values()),
                user_attrs={**metrics, **relative},
            )
        )


def one_error_line(result: object) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]  # type: ignore[attr-defined]
    assert result.exit_code == 1, (result.exit_code, result.output)  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr  # type: ignore[attr-defined]
    return lines[0]


# --- a password with a raw `@` -----------------------------------------------------------------


def test_mask_url_hides_a_password_with_a_raw_at() -> None:
    assert mask_url(RAW_AT_URL) == "postgresql+psycopg://postgres:***@127.0.0.1:1/x"
    message = f"cannot open {RAW_AT_URL}: refused"
    assert (
        mask_url(message) == "cannot open postgresql+psycopg://postgres:***@127.0.0.1:1/x: refused"
    )


COMMANDS = {
    "grid": ["grid", "{spec}"],
    "grid-status": ["grid", "{spec}", "--status"],
    "export": ["export", "--study", "s", "--out", "{tmp}/out.csv"],
    "report": ["report", "--study", "s", "--out", "{tmp}/report"],
    "fit-surface": ["fit-surface", "--study", "s"],
    "suggest": ["suggest", "--study", "s", "--objective", "f1,loss"],
    "suggest-enqueue": ["suggest", "--study", "s", "--objective", "f1,loss", "--enqueue"],
    "tune": ["tune", "--study", "s", "--objective", "f1,loss", "--trials", "1"],
    "harvest": ["harvest", "--cards", "{tmp}", "--study", "h"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_raw_at_in_the_password_is_never_printed(
    command: str, tmp_path: Path, tiny_spec: Path
) -> None:
    args = [a.format(spec=tiny_spec, tmp=tmp_path) for a in COMMANDS[command]]
    result = runner.invoke(app, [*args, "--storage", RAW_AT_URL])
    line = one_error_line(result)
    assert "3tPW" not in result.output and "S3cr" not in result.output, line
    assert "***" in line or "127.0.0.1" in line, line


def with_password(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user.split(':')[0]}:{password}@{host}"


@pytest.mark.postgres
def test_a_raw_at_password_reaches_postgresql_and_stays_hidden(pg_url: str) -> None:
    url = with_password(pg_url, SECRET)
    name = f"missing-{uuid.uuid4().hex[:8]}"
    result = runner.invoke(
        app, ["export", "--study", name, "--out", "/tmp/x.csv", "--storage", url]
    )
    line = one_error_line(result)
    # the server was reached (the study is missing, not the host), and the password not shown
    assert f"study {name!r} does not exist in storage postgresql+psycopg://postgres:***@" in line
    assert "3tPW" not in result.output and "S3cr" not in result.output


@pytest.mark.postgres
def test_a_driver_message_never_repeats_the_password(pg_url: str) -> None:
    scheme, rest = with_password(pg_url, SECRET).split("://", 1)
    userinfo, host = rest.rsplit("@", 1)
    url = f"{scheme}://{userinfo}@{host.split('/')[0]}/no_such_db_{uuid.uuid4().hex[:6]}"
    result = runner.invoke(app, ["export", "--study", "s", "--out", "/tmp/x.csv", "--storage", url])
    line = one_error_line(result)
    assert "cannot open storage" in line and "does not exist" in line, line
    assert "3tPW" not in result.output and "S3cr" not in result.output


# --- read-only storage ----------------------------------------------------------------------


@contextlib.contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make files and folders unwritable: immutable as root (chmod does not stop root), a read-only
    mode otherwise; undone afterwards so that pytest can clean up."""
    root = os.geteuid() == 0
    for path in paths:
        if root:
            subprocess.run(["chattr", "+i", str(path)], check=True)
        else:
            path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield
    finally:
        for path in paths:
            if root:
                subprocess.run(["chattr", "-i", str(path)], check=True)
            else:
                path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.fixture()
def frozen_storage(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "advisor.db"
    url = f"sqlite:///{db}"
    # made by another process, which closes it on exit: the WAL-mode file alone, as on disk
    script = (
        f"import sys; sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(HERE.parent)!r}]\n"
        "from advisor.study.storage import open_storage\n"
        "from test_storage_safety import make_study\n"
        f"open_storage({url!r}).engine.dispose()\n"
        f"make_study({url!r})\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    assert sorted(p.name for p in folder.iterdir()) == LISTING
    with read_only(db, folder):
        yield url, folder


LISTING = ["advisor.db"]
READS = {
    "status-missing-study": (["export", "--study", "nope", "--out", "{out}/x.csv"], 1),
    "export": (["export", "--study", "done", "--out", "{out}/x.csv"], 0),
    "report": (["report", "--study", "done", "--out", "{out}/report"], 0),
    "fit-surface-no-store": (["fit-surface", "--study", "done", "--no-store", "--json"], 0),
    "suggest": (["suggest", "--study", "done", "--objective", "f1,loss", "--json"], 0),
}


@pytest.mark.parametrize("command", list(READS))
def test_read_commands_work_on_a_read_only_file_system(
    command: str, frozen_storage: tuple[str, Path], tmp_path: Path
) -> None:
    url, folder = frozen_storage
    args, code = READS[command]
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(app, [*(a.format(out=out) for a in args), "--storage", url])
    assert result.exit_code == code, (result.output, result.exception)
    if code:
        assert f"does not exist in storage {folder / 'advisor.db'}" in one_error_line(result)
    assert sorted(p.name for p in folder.iterdir()) == LISTING  # no lock or journal file


WRITES = {
    "fit-surface": ["fit-surface", "--study", "done"],
    "suggest-enqueue": ["suggest", "--study", "done", "--objective", "f1,loss", "--enqueue"],
    "tune": ["tune", "--study", "done", "--objective", "f1,loss", "--trials", "1"],
}


@pytest.mark.parametrize("command", list(WRITES))
def test_a_write_to_a_read_only_file_says_read_only_in_one_line(
    command: str, frozen_storage: tuple[str, Path]
) -> None:
    url, folder = frozen_storage
    result = runner.invoke(app, [*WRITES[command], "--storage", url])
    line = one_error_line(result)
    assert "read-only" in line and str(folder / "advisor.db") in line, line


def test_suggest_without_enqueue_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "advisor.db"
    url = f"sqlite:///{db}"
    make_study(url)
    before = db.read_bytes()
    result = runner.invoke(
        app, ["suggest", "--study", "done", "--objective", "f1,loss", "--json", "--storage", url]
    )
    assert result.exit_code == 0, result.output
    assert optuna.get_all_study_names(url) == ["done"]  # no objective study was created
    assert db.read_bytes() == before


# --- the wrong folder, a bare file name, lock files --------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["suggest", "--study", "s", "--objective", "f1,loss"],
        ["fit-surface", "--study", "s"],
        ["export", "--study", "s", "--out", "x.csv"],
        ["report", "--study", "s", "--out", "report"],
        ["tune", "--study", "s", "--objective", "f1,loss", "--trials", "1"],
    ],
)
def test_a_command_in_the_wrong_folder_names_the_path_and_creates_nothing(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADVISOR_STORAGE", raising=False)
    result = runner.invoke(app, args)
    assert f"no storage at {tmp_path / 'advisor.db'}" in one_error_line(result)
    assert list(tmp_path.iterdir()) == []


def test_grid_status_without_the_study_names_the_storage(tmp_path: Path, tiny_spec: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    make_study(url)
    result = runner.invoke(app, ["grid", str(tiny_spec), "--status", "--storage", url])
    assert f"does not exist in storage {tmp_path / 'other.db'}" in one_error_line(result)


def test_a_bare_file_name_as_storage_suggests_the_sqlite_url(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["export", "--study", "s", "--out", "x.csv", "--storage", "advisor.db"]
    )
    assert "did you mean sqlite:///advisor.db" in one_error_line(result)


def test_lock_files_are_kept_out_of_the_database_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locks = tmp_path / "locks"
    monkeypatch.setenv(LOCK_DIR_ENV, str(locks))
    folder = tmp_path / "work"
    folder.mkdir()
    storage = open_storage(f"sqlite:///{folder / 'advisor.db'}")
    with study_lock(storage, "a"), study_lock(storage, "b"):
        pass
    assert not list(folder.glob("*.lock"))
    assert len(list(locks.glob("advisor.db.*.lock"))) == 2
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "advisor.db.0123abcd.lock"],
        cwd=Path(__file__).resolve().parents[2],
    )
    assert ignored.returncode == 0


# --- seeding an objective study once ---------------------------------------------------------

SEED_OBJECTIVE = """
import sys, time
import optuna
real = optuna.Study.add_trial
def slow(self, trial):  # widens the window between "what is missing" and "copied"
    time.sleep(0.05)
    return real(self, trial)
optuna.Study.add_trial = slow
from advisor.study.views import ensure_view
from advisor.steering import parse_objectives
from advisor.study.storage import load_study, open_storage
storage = open_storage(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
ensure_view(storage, load_study(storage, "done"), parse_objectives("f1,loss"))
"""


def test_commands_starting_together_seed_an_objective_study_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'advisor.db'}"
    make_study(url)
    for code, _, err in start_together(SEED_OBJECTIVE, [url], 3):
        assert code == 0, err[-2000:]
    copies = optuna.load_study(study_name="done@f1,loss", storage=url).get_trials()
    sources = [t.user_attrs["grid_trial"] for t in copies]
    assert sorted(sources) == list(range(18))  # each grid trial once, not once per command
