"""Which accuracy, F1 and loss a card states: its results list first, else its `model-index`.

The "results on the evaluation set" list is authoritative (the per-epoch table above it is
history). `model-index` entries on a `train` split are training scores, never evaluation
results, and are ignored. Entries the Hub's own evaluation added (`verified: true`) describe
another evaluation: they are used only when the card has no results list.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from advisor.harvest._records import AMBIGUOUS, CONTRADICTION, INVALID_VALUE
from advisor.harvest._text import Stated, as_list, evaluation_bullets, parse_number
from advisor.table import METRICS

RESULTS_LIST = "results list"
MODEL_INDEX = "model-index"
_METRIC_NAMES = {
    "loss": "loss",
    "accuracy": "accuracy",
    "f1": "f1",
    "f1_score": "f1",
}
_PREFIXES = ("eval_", "validation_", "val_")


class CardProblem(ValueError):
    """A card that cannot give a value: `code` is a skip code, the message the detail."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class IndexEntry:
    """One `model-index` result: its dataset label, split, whether verified, its metrics."""

    label: str | None
    split: str | None
    task: str | None
    statements: tuple[tuple[str, Stated, bool], ...]  # (metric, value, verified)


def metric_name(name: str) -> str | None:
    """`accuracy`, `f1` or `loss` for a stated metric name (`Loss`, `eval_f1`, `Eval Accuracy`,
    `Validation Loss`), None for any other (`Train Loss`, `Precision`, `F1 Weighted`)."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    return _METRIC_NAMES.get(key)


def index_entries(metadata: dict[str, Any]) -> list[IndexEntry]:
    """Every result of the card's `model-index` (malformed parts are ignored)."""
    entries = []
    for model in as_list(metadata.get("model-index")):
        if not isinstance(model, dict):
            continue
        for result in as_list(model.get("results")):
            if isinstance(result, dict):
                entries.append(_index_entry(result))
    return entries


def _index_entry(result: dict[str, Any]) -> IndexEntry:
    dataset: dict[str, Any] = _mapping(result.get("dataset"))
    task: dict[str, Any] = _mapping(result.get("task"))
    name = dataset.get("type") or dataset.get("name")
    config = dataset.get("config") or dataset.get("args")
    label = f"{name}/{config}" if name and isinstance(config, str) and config != name else name
    statements = []
    for metric in as_list(result.get("metrics")):
        if not isinstance(metric, dict):
            continue
        key = metric_name(str(metric.get("type") or metric.get("name") or ""))
        number = parse_number(metric.get("value"))
        if key and number:
            stated = Stated(number[0], number[1], MODEL_INDEX)
            statements.append((key, stated, bool(metric.get("verified"))))
    split = dataset.get("split")
    return IndexEntry(
        label=str(label) if label else None,
        split=str(split) if split is not None else None,
        task=str(task.get("type")) if task.get("type") else None,
        statements=tuple(statements),
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def evaluation_entries(entries: list[IndexEntry]) -> list[IndexEntry]:
    """The entries that hold evaluation results (not scores on a `train` split)."""
    return [e for e in entries if (e.split or "").strip().lower() != "train"]


def stated_metrics(body: str, entries: list[IndexEntry]) -> tuple[dict[str, float], str]:
    """The metrics a card states and where it states them.

    Returns:
        `({metric: value} for the metrics stated, "results list" | "model-index")`;
        the dict is empty when the card states none.

    Raises:
        CardProblem: a metric stated twice with different values, or an impossible value.
    """
    entries = evaluation_entries(entries)
    listed: dict[str, list[Stated]] = defaultdict(list)
    for name, raw in evaluation_bullets(body):
        key = metric_name(name)
        number = parse_number(raw)
        if key and number:
            listed[key].append(Stated(number[0], number[1], RESULTS_LIST))
    if listed:
        chosen = {m: _agreed(m, values, CONTRADICTION) for m, values in listed.items()}
        for metric, stated, verified in (s for e in entries for s in e.statements):
            if not verified and metric in chosen:
                _agreed(metric, [chosen[metric], stated], CONTRADICTION)
        unlisted = _index_values(entries, verified=False, skip=set(chosen))
        return _checked({**chosen, **unlisted}), RESULTS_LIST
    return _checked(_index_values(entries, verified=None, skip=set())), MODEL_INDEX


def _index_values(
    entries: list[IndexEntry], *, verified: bool | None, skip: set[str]
) -> dict[str, Stated]:
    """Metrics from model-index (only unverified ones when `verified` is False)."""
    found: dict[str, list[Stated]] = defaultdict(list)
    for entry in entries:
        for metric, stated, is_verified in entry.statements:
            if metric not in skip and (verified is None or is_verified == verified):
                found[metric].append(stated)
    return {m: _agreed(m, values, AMBIGUOUS) for m, values in found.items()}


def _agreed(metric: str, values: list[Stated], code: str) -> Stated:
    """The most precise of several statements of one metric, if they all agree."""
    for value in values[1:]:
        if not values[0].agrees(value, rounded=True):
            first, second = values[0], value
            where = (
                f"in the {first.where}"
                if first.where == second.where
                else f"in the {first.where} and {second.where}"
            )
            detail = f"{metric} is stated as {first.text} and {second.text} {where}"
            raise CardProblem(code, detail)
    return min(values, key=lambda stated: stated.half_unit)


def _checked(metrics: dict[str, Stated]) -> dict[str, float]:
    """Reject values no evaluation can produce: NaN, a loss below 0, a score outside [0, 1]."""
    values = {}
    for metric in METRICS:
        if metric not in metrics:
            continue
        stated = metrics[metric]
        low, high = (0.0, math.inf) if metric == "loss" else (0.0, 1.0)
        if not (math.isfinite(stated.value) and low <= stated.value <= high):
            bound = "a finite number >= 0" if metric == "loss" else "a fraction in [0, 1]"
            raise CardProblem(INVALID_VALUE, f"{metric} is {stated.text}, not {bound}")
        values[metric] = stated.value
    return values
