"""Every kind of bad input through the CLI: one clear line on stderr, exit code 1, nothing on
stdout, no password shown, and the storage (which already holds a finished study) unchanged."""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pytest
from conftest import tiny_spec_text
from optuna.distributions import CategoricalDistribution, FloatDistribution
from typer.testing import CliRunner

from advisor.cli import app
from advisor.study.storage import BASELINE_ATTR, SPEC_ATTR

PROGRESS_LINE = re.compile(r"^\[\d+:\d{2}(:\d{2})?\] ")  # the grid's log-style progress

runner = CliRunner()
PASSWORD = "s3cret-Pa55"
DONE = "finished-study"


@dataclass
class Case:
    """One bad input: how to build the command, and what the error line must say."""

    id: str
    expect: tuple[str, ...]
    spec: dict[str, str] = field(default_factory=dict)  # tiny_spec_text keyword overrides
    edit: Callable[[str], str] | None = None  # text edit of the spec
    data: Callable[[Path], None] | None = None  # rewrite the copied data folder
    storage: str | None = None  # another --storage ({tmp} is the test folder)
    args: tuple[str, ...] = ()  # extra arguments ({spec}, {tmp}); replaces `grid SPEC` if set


def _rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
        writer.writerow(header)
        writer.writerows(rows)


def _texts(n: int) -> list[str]:
    return [f"a sentence number {i}" for i in range(n)]


CASES = [
    Case("malformed-toml", ("malformed TOML",), edit=lambda t: t + "\n[space\n"),
    Case(
        "unknown-key",
        ("unknown key model.max_lenght", "allowed here"),
        edit=lambda t: t.replace("max_length = 32", "max_lenght = 32"),
    ),
    Case("unknown-section", ("unknown key trainer",), edit=lambda t: t + "\n[trainer]\nx = 1\n"),
    Case(
        "missing-key",
        ("missing key space.epochs",),
        edit=lambda t: "\n".join(x for x in t.splitlines() if not x.startswith("epochs")),
    ),
    Case(
        "missing-study-name",
        ("missing key study.name",),
        edit=lambda t: t.replace('[study]\nname = "bad"\n', "[study]\n"),
    ),
    Case(
        "learning-rate-zero",
        ("space.learning_rate.low must be greater than 0",),
        spec={"lr": "{ low = 0.0, high = 1e-3, log = true }"},
    ),
    Case(
        "learning-rate-negative",
        ("space.learning_rate must be greater than 0",),
        spec={"lr": "[-1e-4, 1e-3]"},
    ),
    Case(
        "batch-size-zero", ("space.batch_size must be greater than 0",), spec={"batch": "[0, 16]"}
    ),
    Case(
        "low-above-high",
        ("space.epochs: low (3) is greater than high (1)",),
        spec={"epochs": "{ low = 3, high = 1 }"},
    ),
    Case(
        "unknown-design",
        ("grid.design = 'random'", "factorial, ccd, box-behnken, lhs"),
        spec={"design": 'design = "random"'},
    ),
    Case(
        "empty-dataset",
        ("data.train is empty",),
        data=lambda d: _rows(d / "train.tsv", ["sentence", "label"], []),
    ),
    Case(
        "single-class",
        ("data.train has a single class",),
        data=lambda d: _rows(d / "train.tsv", ["sentence", "label"], [[t, "1"] for t in _texts(8)]),
    ),
    Case(
        "non-integer-labels",
        ("must hold integer class labels", "'positive'"),
        data=lambda d: _rows(
            d / "train.tsv",
            ["sentence", "label"],
            [[t, ("positive", "negative")[i % 2]] for i, t in enumerate(_texts(8))],
        ),
    ),
    Case(
        "missing-text-column",
        ("no column 'sentence'", "data.text_column"),
        data=lambda d: _rows(
            d / "train.tsv", ["text", "label"], [[t, str(i % 2)] for i, t in enumerate(_texts(8))]
        ),
    ),
    Case(
        "missing-label-column",
        ("no column 'label'", "data.label_column"),
        data=lambda d: _rows(
            d / "validation.tsv",
            ["sentence", "sentiment"],
            [[t, str(i % 2)] for i, t in enumerate(_texts(8))],
        ),
    ),
    Case(
        "missing-data-file",
        ("data.train", "does not exist"),
        data=lambda d: (d / "train.tsv").unlink(),
    ),
    Case(
        "model-path-missing",
        ("model.name: directory", "no-such-model-dir", "does not exist"),
        edit=lambda t: _set_model(t, "./no-such-model-dir"),
    ),
    Case(
        "hub-unreachable-model",
        ("cannot load model 'no-such-org/no-such-model'", "Hugging Face Hub"),
        edit=lambda t: _set_model(t, "no-such-org/no-such-model"),
    ),
    Case(
        "hub-unreachable-data",
        ("cannot load Hub dataset 'glue/sst2'", 'source = "files"'),
        edit=lambda t: t.replace('source = "files"', 'source = "glue/sst2"'),
    ),
    Case(
        "storage-unreachable",
        ("cannot open storage", "advisor:***@127.0.0.1:1/nowhere"),
        storage=f"postgresql+psycopg://advisor:{PASSWORD}@127.0.0.1:1/nowhere",
    ),
    Case(
        "storage-password-only",
        ("cannot open storage", "://:***@"),
        storage=f"postgresql://:{PASSWORD}@127.0.0.1:1/nowhere",
    ),
    Case(
        "storage-folder-missing",
        ("cannot open storage", "does not exist"),
        storage="sqlite:///{tmp}/no-such-folder/advisor.db",
    ),
    Case(
        "study-missing-status",
        ("study 'bad' does not exist", DONE),
        args=("grid", "{spec}", "--status"),
    ),
    Case(
        "study-missing-export",
        ("study 'nope' does not exist", DONE),
        args=("export", "--study", "nope", "--out", "{tmp}/out.csv"),
    ),
    Case(
        "other-spec-same-study",
        (f"study '{DONE}' was created from a spec with a different", "new [study] name"),
        edit=lambda t: t.replace('name = "bad"', f'name = "{DONE}"'),
    ),
    Case(
        "seed-negative",
        ("grid.seeds: seed -1 is outside 0..4294967295",),
        spec={"seeds": "[-1]"},
    ),
    Case(
        "seed-too-large",
        ("grid.seeds: seed 4294967296 is outside",),
        spec={"seeds": "[0, 4294967296]"},
    ),
    Case(
        "levels-huge",
        ("grid.levels = 1000000 is too large", "at most 100"),
        spec={"design": 'design = "factorial"\nlevels = 1000000'},
    ),
    Case(
        "lhs-samples-huge",
        ("grid.samples = 1000000000 is too large",),
        spec={"design": 'design = "lhs"\nsamples = 1000000000'},
    ),
    Case(
        "grid-over-10000-points",
        ("12,000 points", "more than 10,000", "--force"),
        spec={
            "design": 'design = "factorial"\nlevels = 100',
            "epochs": "{ low = 1, high = 3 }",
            "seeds": str(list(range(20))),
        },
    ),
    Case(
        "study-name-with-at",
        ("contains '@'", "objective studies"),
        edit=lambda t: t.replace('name = "bad"', 'name = "x@f1,loss"'),
    ),
    Case(
        "save-models-is-a-file",
        ("--save-models", "is a file"),
        args=("grid", "{spec}", "--save-models", "{spec}"),
    ),
    Case(
        "storage-without-scheme",
        ("did you mean sqlite:///advisor.db",),
        storage="advisor.db",
    ),
    Case(
        "spec-file-missing",
        ("spec file", "does not exist"),
        args=("grid", "{tmp}/no-such-spec.toml"),
    ),
]


def _set_model(text: str, name: str) -> str:
    head, _, rest = text.partition("[model]\nname = ")
    return f'{head}[model]\nname = "{name}"' + rest[rest.index("\n") :]


def finished_study(url: str) -> None:
    """A grid study with finished trials, a baseline and a stored spec (no fine-tunes)."""
    study = optuna.create_study(
        study_name=DONE, storage=url, directions=["maximize", "maximize", "minimize"]
    )
    study.set_metric_names(["accuracy", "f1", "loss"])
    study.set_user_attr(
        BASELINE_ATTR, {"kind": "checkpoint", "metrics": {"accuracy": 0.5, "f1": 0.6, "loss": 0.7}}
    )
    study.set_user_attr(SPEC_ATTR, {"name": DONE})
    distributions = {
        "learning_rate": FloatDistribution(1e-5, 1e-3, log=True),
        "batch_size": CategoricalDistribution([16, 32]),
        "epochs": CategoricalDistribution([1]),
        "seed": CategoricalDistribution([0]),
    }
    for lr, batch in itertools.product([1e-5, 1e-3], [16, 32]):
        metrics = {"accuracy": 0.6 + lr, "f1": 0.5 + lr, "loss": 0.6 - lr}
        study.add_trial(
            optuna.trial.create_trial(
                params={"learning_rate": lr, "batch_size": batch, "epochs": 1, "seed": 0},
                distributions=distributions,
                values=list(metrics.values()),
                user_attrs={**metrics, "grid_point": f"lr={lr:g}|bs={batch}|ep=1|seed=0"},
            )
        )


def snapshot(url: str) -> list[Any]:
    """Everything stored: each study's attributes and each trial's state, params and attrs."""
    storage = optuna.storages.RDBStorage(url)
    state = []
    for summary in sorted(storage.get_all_studies(), key=lambda s: s.study_name):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        system = storage.get_study_system_attrs(summary._study_id)
        state.append(
            (
                summary.study_name,
                study.user_attrs,
                system,
                [
                    (
                        t.number,
                        t.state,
                        t.params,
                        t.values,
                        t.user_attrs,
                        t.system_attrs,
                        t.datetime_start,
                        t.datetime_complete,
                    )
                    for t in study.get_trials()
                ],
            )
        )
    storage.engine.dispose()
    return state


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Any]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'advisor.db'}"
    finished_study(url)
    return url, snapshot(url)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_1_and_changes_nothing(
    case: Case, stored: tuple[str, list[Any]], tmp_path: Path, tiny_model: Path, sst2_sample: Path
) -> None:
    url, before = stored
    data = tmp_path / "data"
    data.mkdir()
    for name in ("train.tsv", "validation.tsv"):
        (data / name).write_bytes((sst2_sample / name).read_bytes())
    if case.data:
        case.data(data)
    text = tiny_spec_text(tiny_model, data, name="bad", **case.spec)
    spec = tmp_path / "bad.toml"
    spec.write_text(case.edit(text) if case.edit else text, encoding="utf-8")
    storage = (case.storage or url).format(tmp=tmp_path)
    args = [a.format(spec=spec, tmp=tmp_path) for a in case.args or ("grid", "{spec}")]

    result = runner.invoke(app, [*args, "--storage", storage])

    # progress lines ("[0:00] loading data ...") may come first; the error itself is one line
    lines = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not PROGRESS_LINE.match(line)
    ]
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.stdout == ""
    for fragment in case.expect:
        assert fragment in lines[0], lines[0]
    assert PASSWORD not in result.output
    assert snapshot(url) == before
