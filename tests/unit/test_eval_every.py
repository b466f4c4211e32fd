"""`[training] eval_every`: "epoch" (the default) or a positive step count, a clear error for
anything else, and a spec that round-trips through its stored form."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from advisor.config import StudySpec, parse_spec
from advisor.errors import SpecError

SPEC: dict[str, Any] = {
    "study": {"name": "curves"},
    "model": {"name": "minilm"},
    "data": {"source": "glue/sst2"},
    "space": {
        "learning_rate": {"low": 1e-5, "high": 1e-4},
        "batch_size": [8, 16],
        "epochs": {"low": 1, "high": 3},
    },
}


def _spec(**training: Any) -> StudySpec:
    raw = copy.deepcopy(SPEC)
    if training:
        raw["training"] = training
    return parse_spec(raw)


def test_default_is_every_epoch() -> None:
    assert _spec().training.eval_every == "epoch"


@pytest.mark.parametrize("value", ["epoch", 1, 250])
def test_valid_values_round_trip_through_the_stored_form(value: str | int) -> None:
    spec = _spec(eval_every=value)
    assert spec.training.eval_every == value
    stored = json.loads(json.dumps(spec.to_dict()))  # as a study user attribute keeps it
    assert StudySpec.from_dict(stored) == spec


def test_the_default_is_left_out_of_the_stored_form() -> None:
    """A spec stored before `eval_every` existed compares equal to the same spec today."""
    assert "eval_every" not in _spec().to_dict()["training"]
    assert _spec(eval_every=50).to_dict()["training"]["eval_every"] == 50


@pytest.mark.parametrize("value", [0, -5, 2.5, True, "steps", "Epoch", [1]])
def test_bad_values_name_the_key(value: Any) -> None:
    with pytest.raises(SpecError, match=r'training\.eval_every must be "epoch" or a whole number'):
        _spec(eval_every=value)
