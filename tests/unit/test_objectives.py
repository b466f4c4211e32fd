"""Objective lists: directions inferred or explicit, unknown and duplicate names rejected."""

from __future__ import annotations

import pytest

from advisor.errors import AdvisorError
from advisor.steering import Objective, ObjectiveError, parse_objectives
from advisor.table import ALL_METRICS


def test_directions_are_inferred_from_the_metric() -> None:
    assert parse_objectives("f1,loss") == [
        Objective("f1", "maximize"),
        Objective("loss", "minimize"),
    ]
    assert [o.direction for o in parse_objectives("accuracy_rel, f1_rel, loss_rel")] == [
        "maximize",
        "maximize",
        "minimize",
    ]


def test_explicit_directions_override_and_accept_spellings() -> None:
    parsed = parse_objectives("f1:max,loss:min,accuracy:minimise")
    assert [(o.name, o.direction) for o in parsed] == [
        ("f1", "maximize"),
        ("loss", "minimize"),
        ("accuracy", "minimize"),
    ]
    assert parse_objectives(["loss:MAX"]) == [Objective("loss", "maximize")]


def test_sign_turns_every_objective_into_minimisation() -> None:
    f1, loss = parse_objectives("f1,loss")
    assert f1.sign == -1.0 and loss.sign == 1.0


def test_unknown_metric_lists_the_valid_names() -> None:
    with pytest.raises(ObjectiveError) as info:
        parse_objectives("f1,precision")
    message = str(info.value)
    assert "'precision'" in message
    assert ", ".join(ALL_METRICS) in message
    assert isinstance(info.value, AdvisorError)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("f1,loss,f1", "named twice"),
        ("f1:max,f1:min", "named twice"),
        ("f1:up", "unknown direction 'up'"),
        ("", "no objective"),
        (" , ", "no objective"),
    ],
)
def test_bad_lists_are_rejected(spec: str, fragment: str) -> None:
    with pytest.raises(ObjectiveError, match=fragment):
        parse_objectives(spec)
