"""Text-classification data: local .tsv/.csv/.jsonl files or a Hub dataset, validated and
subsampled (stratified, seeded) into plain (texts, labels) splits."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from advisor.config import DataSpec, StudySpec
from advisor.errors import DataError
from advisor.training.hub import OFFLINE_HINT, check_hub

LOCAL_SOURCE = "files"
HUB_HINT = (
    'set data.source = "files" with local .tsv/.csv/.jsonl paths '
    "(e.g. ../shared/data/sst2/train.tsv)"
)


@dataclass(frozen=True)
class Split:
    """One split: texts and integer labels 0..num_labels-1."""

    texts: list[str]
    labels: list[int]


@dataclass(frozen=True)
class Dataset:
    train: Split
    eval: Split
    num_labels: int


def load_dataset(spec: StudySpec) -> Dataset:
    """Load, validate and subsample the spec's train and eval splits.

    Raises:
        DataError: missing file or column, empty split, a single class, non-integer labels,
            or an unreachable Hub.
    """
    data = spec.data
    if data.source == LOCAL_SOURCE:
        train = _read_local(spec.resolve_path(data.train), data, "data.train")
        evaluation = _read_local(spec.resolve_path(data.eval), data, "data.eval")
    else:
        train, evaluation = _read_hub(data)
    train_split = _to_split(train, data, "data.train")
    eval_split = _to_split(evaluation, data, "data.eval")
    labels = sorted(set(train_split.labels) | set(eval_split.labels))
    if len(set(train_split.labels)) < 2:
        raise DataError(
            f"data.train has a single class (label {labels[0]}); a classifier needs at least two"
        )
    if labels[0] < 0:
        raise DataError(f"labels must be integers from 0, found {labels[0]}")
    num_labels = labels[-1] + 1
    train_split = stratified_subsample(train_split, data.train_size, data.subsample_seed)
    eval_split = stratified_subsample(eval_split, data.eval_size, data.subsample_seed)
    return Dataset(train=train_split, eval=eval_split, num_labels=num_labels)


def _read_local(path: str, data: DataSpec, key: str) -> pd.DataFrame:
    file = Path(path)
    if not file.is_file():
        raise DataError(f"{key}: file {path!r} does not exist")
    suffix = file.suffix.lower()
    try:
        if suffix == ".tsv":
            return pd.read_csv(
                file, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False
            )
        if suffix == ".csv":
            return pd.read_csv(file, dtype=str, keep_default_na=False)
        if suffix in (".jsonl", ".json"):
            return pd.read_json(file, lines=True, dtype=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataError(f"{key}: cannot read {path!r}: {exc}") from exc
    raise DataError(f"{key}: {path!r} has an unsupported extension; use .tsv, .csv or .jsonl")


def _read_hub(data: DataSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is a dependency
        raise DataError(f"the `datasets` package is needed for Hub data; or {HUB_HINT}") from exc
    name, _, config = data.source.partition("/")
    check = check_hub(name, "dataset")
    if check.verdict in ("missing", "unreachable"):
        why = "is not on the Hub" if check.verdict == "missing" else "cannot be reached on the Hub"
        raise DataError(f"Hub dataset {name!r} {why} ({check.detail}): {HUB_HINT}, {OFFLINE_HINT}")
    try:
        loaded = datasets.load_dataset(name, config or None)
    except Exception as exc:  # network and Hub errors come in many types
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(
            f"cannot load Hub dataset {data.source!r} ({first_line}); the Hub may be "
            f"unreachable: {HUB_HINT}"
        ) from exc
    frames = []
    for key, split in (("data.train", data.train), ("data.eval", data.eval)):
        if split not in loaded:
            raise DataError(
                f"{key} = {split!r} is not a split of {data.source!r}; splits: "
                f"{', '.join(loaded.keys())}"
            )
        frames.append(loaded[split].to_pandas())
    return frames[0], frames[1]


def _to_split(frame: pd.DataFrame, data: DataSpec, key: str) -> Split:
    for column_key, column in (
        ("data.text_column", data.text_column),
        ("data.label_column", data.label_column),
    ):
        if column not in frame.columns:
            raise DataError(
                f"{key} has no column {column!r} ({column_key}); columns: "
                f"{', '.join(map(str, frame.columns))}"
            )
    if len(frame) == 0:
        raise DataError(f"{key} is empty")
    labels = pd.to_numeric(frame[data.label_column], errors="coerce")
    bad = labels.isna() | (labels != labels.round())
    if bad.any():
        example = frame[data.label_column][bad].iloc[0]
        raise DataError(
            f"{key}: column {data.label_column!r} must hold integer class labels; found {example!r}"
        )
    return Split(
        texts=frame[data.text_column].astype(str).tolist(), labels=labels.astype(int).tolist()
    )


def stratified_subsample(split: Split, size: int | None, seed: int) -> Split:
    """At most `size` examples keeping class proportions (seeded); all of them if size is None."""
    if size is None or size >= len(split.labels):
        return split
    labels = np.asarray(split.labels)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quotas = np.floor(counts / counts.sum() * size).astype(int)
    for i in np.argsort(-(counts / counts.sum() * size - quotas))[: size - quotas.sum()]:
        quotas[i] += 1
    chosen = np.concatenate(
        [
            rng.choice(np.flatnonzero(labels == c), size=q, replace=False)
            for c, q in zip(classes, quotas, strict=True)
        ]
    )
    chosen = np.sort(chosen)
    return Split(texts=[split.texts[i] for i in chosen], labels=labels[chosen].tolist())
