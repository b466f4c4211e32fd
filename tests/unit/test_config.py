"""The TOML study spec: a valid spec parses to the right values, and every kind of mistake is a
SpecError that names the key (and lists the choices where there are some)."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest

from advisor.config import (
    BASELINE_KINDS,
    DESIGNS,
    PRECISIONS,
    StudySpec,
    load_spec,
    parse_spec,
)
from advisor.errors import SpecError

VALID: dict[str, Any] = {
    "study": {"name": "sst2-distilbert"},
    "model": {"name": "distilbert-base-uncased-finetuned-sst-2-english", "max_length": 128},
    "data": {
        "source": "glue/sst2",
        "train": "train",
        "eval": "validation",
        "text_column": "sentence",
        "label_column": "label",
        "train_size": 2000,
    },
    "space": {
        "learning_rate": {"low": 1e-5, "high": 1e-4, "log": True},
        "batch_size": [8, 16, 32, 64],
        "epochs": {"low": 1, "high": 5},
    },
    "grid": {"design": "factorial", "levels": 3, "seeds": [0, 1]},
    "baseline": {"kind": "checkpoint"},
}


def edited(path: str, value: Any = None, *, delete: bool = False) -> dict[str, Any]:
    """VALID with `a.b.c` set to `value` (or deleted)."""
    raw = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node.setdefault(key, {})
    if delete:
        del node[last]
    else:
        node[last] = value
    return raw


def test_valid_spec_parses_to_the_documented_values() -> None:
    spec = parse_spec(VALID, base_dir="/specs")
    assert spec.name == "sst2-distilbert" and spec.max_length == 128
    lr, batch, epochs = spec.space
    assert (lr.name, lr.low, lr.high, lr.log, lr.integer, lr.choices) == (
        "learning_rate",
        1e-5,
        1e-4,
        True,
        False,
        None,
    )
    assert batch.choices == (8, 16, 32, 64) and batch.integer and batch.log
    assert (batch.low, batch.high) == (8, 64)
    assert (epochs.low, epochs.high, epochs.integer, epochs.log) == (1, 5, True, False)
    assert spec.design == "factorial" and spec.levels == 3 and spec.seeds == (0, 1)
    assert spec.baseline_kind == "checkpoint" and spec.baseline_params == {}
    assert spec.data.train_size == 2000 and spec.data.eval_size is None
    assert StudySpec.from_dict(spec.to_dict()) == spec


def test_defaults_when_optional_sections_are_left_out() -> None:
    raw = {k: v for k, v in VALID.items() if k in ("study", "model", "data", "space")}
    spec = parse_spec(raw)
    assert spec.design == "factorial" and spec.levels == 3 and spec.seeds == (0,)
    assert spec.baseline_kind == "none" and spec.max_length == 128
    assert spec.training.precision == "auto"


def test_value_lists_are_sorted_deduplicated_and_epochs_lists_linear() -> None:
    spec = parse_spec(edited("space.epochs", [3, 1, 2, 3]))
    epochs = spec.dimension("epochs")
    assert epochs.choices == (1, 2, 3) and not epochs.log
    assert all(isinstance(c, int) for c in epochs.choices)


def test_config_baseline_keeps_its_params() -> None:
    spec = parse_spec(
        edited(
            "baseline",
            {
                "kind": "config",
                "params": {"learning_rate": 5e-5, "batch_size": 32, "epochs": 3},
                "seed": 7,
            },
        )
    )
    assert spec.baseline_params == {"learning_rate": 5e-5, "batch_size": 32, "epochs": 3}
    assert spec.baseline_seed == 7


BAD: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("misspelled section", {**VALID, "spaces": {}}, ("unknown key spaces", "allowed here")),
    (
        "misspelled space key",
        edited(
            "space", {"learnig_rate": {"low": 1e-5, "high": 1e-4}, "batch_size": [8], "epochs": [1]}
        ),
        ("unknown key space.learnig_rate", "learning_rate"),
    ),
    (
        "misspelled range key",
        edited("space.learning_rate", {"lo": 1e-5, "high": 1e-4}),
        ("unknown key space.learning_rate.lo", "low"),
    ),
    (
        "misspelled data key",
        edited("data.label_colum", "label"),
        ("unknown key data.label_colum", "label_column"),
    ),
    ("misspelled grid key", edited("grid.seed", [0]), ("unknown key grid.seed", "seeds")),
    ("missing section", edited("space", delete=True), ("missing key space",)),
    ("missing study name", edited("study.name", delete=True), ("missing key study.name",)),
    ("missing model name", edited("model.name", delete=True), ("missing key model.name",)),
    ("missing dimension", edited("space.epochs", delete=True), ("missing key space.epochs",)),
    ("missing bound", edited("space.epochs", {"low": 1}), ("missing key space.epochs.high",)),
    (
        "low above high",
        edited("space.epochs", {"low": 5, "high": 1}),
        ("space.epochs: low (5) is greater than high (1)",),
    ),
    (
        "learning rate zero",
        edited("space.learning_rate", {"low": 0.0, "high": 1e-4}),
        ("space.learning_rate.low must be greater than 0",),
    ),
    (
        "learning rate negative",
        edited("space.learning_rate", [-1e-5, 1e-4]),
        ("space.learning_rate must be greater than 0",),
    ),
    (
        "batch size zero in a list",
        edited("space.batch_size", [0, 16]),
        ("space.batch_size must be greater than 0", "got 0"),
    ),
    (
        "batch size zero in a range",
        edited("space.batch_size", {"low": 0, "high": 16}),
        ("space.batch_size.low must be greater than 0",),
    ),
    (
        "fractional batch size",
        edited("space.batch_size", [16.5]),
        ("space.batch_size must be a whole number",),
    ),
    (
        "fractional epochs",
        edited("space.epochs", {"low": 1, "high": 2.5}),
        ("space.epochs.high must be a whole number",),
    ),
    (
        "boolean as a number",
        edited("space.epochs", {"low": True, "high": 2}),
        ("space.epochs.low must be a number",),
    ),
    (
        "infinite value",
        edited("space.learning_rate", {"low": 1e-5, "high": math.inf}),
        ("space.learning_rate.high must be a number",),
    ),
    (
        "string value",
        edited("space.learning_rate", {"low": "1e-5", "high": 1e-4}),
        ("space.learning_rate.low must be a number",),
    ),
    (
        "scalar dimension",
        edited("space.learning_rate", 1e-4),
        ("space.learning_rate must be a list of values or a table",),
    ),
    ("empty list", edited("space.batch_size", []), ("space.batch_size is an empty list",)),
    (
        "log not boolean",
        edited("space.learning_rate", {"low": 1e-5, "high": 1e-4, "log": 1}),
        ("space.learning_rate.log must be true or false",),
    ),
    (
        "unknown design",
        edited("grid.design", "random"),
        ("grid.design = 'random' is not valid", ", ".join(DESIGNS)),
    ),
    (
        "unknown baseline kind",
        edited("baseline.kind", "pretrained"),
        ("baseline.kind = 'pretrained' is not valid", ", ".join(BASELINE_KINDS)),
    ),
    (
        "unknown precision",
        edited("training.precision", "fp8"),
        ("training.precision = 'fp8' is not valid", ", ".join(PRECISIONS)),
    ),
    ("lhs without samples", edited("grid", {"design": "lhs"}), ("grid.samples is required",)),
    (
        "ccd with other levels",
        edited("grid", {"design": "ccd", "levels": 5}),
        ("grid.levels must be 3",),
    ),
    ("zero levels", edited("grid.levels", 0), ("grid.levels must be greater than 0",)),
    ("duplicate seeds", edited("grid.seeds", [1, 1]), ("grid.seeds has duplicates",)),
    ("empty seeds", edited("grid.seeds", []), ("grid.seeds must be a non-empty list",)),
    ("fractional seed", edited("grid.seeds", [0.5]), ("grid.seeds must be a whole number",)),
    (
        "zero max_length",
        edited("model.max_length", 0),
        ("model.max_length must be greater than 0",),
    ),
    ("zero train_size", edited("data.train_size", 0), ("data.train_size must be greater than 0",)),
    ("empty study name", edited("study.name", "  "), ("study.name must be a non-empty string",)),
    ("section not a table", edited("grid", 3), ("[grid] must be a table",)),
    (
        "config baseline without params",
        edited("baseline", {"kind": "config"}),
        ("missing key baseline.params",),
    ),
    (
        "config baseline missing a param",
        edited("baseline", {"kind": "config", "params": {"learning_rate": 5e-5, "batch_size": 32}}),
        ("missing key baseline.params.epochs",),
    ),
    (
        "config baseline unknown param",
        edited(
            "baseline",
            {
                "kind": "config",
                "params": {"learning_rate": 5e-5, "batch_size": 32, "epochs": 3, "warmup": 0.1},
            },
        ),
        ("unknown key baseline.params.warmup",),
    ),
    (
        "config baseline zero batch",
        edited(
            "baseline",
            {"kind": "config", "params": {"learning_rate": 5e-5, "batch_size": 0, "epochs": 3}},
        ),
        ("baseline.params.batch_size must be greater than 0",),
    ),
    (
        "params with checkpoint baseline",
        edited("baseline.params", {"learning_rate": 1e-5}),
        ('baseline.params is only used with kind = "config"',),
    ),
    (
        "negative weight decay",
        edited("training.weight_decay", -0.1),
        ("training.weight_decay must be >= 0",),
    ),
]


@pytest.mark.parametrize(
    ("raw", "fragments"), [(raw, f) for _, raw, f in BAD], ids=[case for case, _, _ in BAD]
)
def test_mistakes_are_spec_errors_naming_the_key(
    raw: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message


def _toml(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """
[study]
name = "s"
[model]
name = "m"
[data]
source = "files"
train = "data/train.tsv"
eval = "/abs/validation.tsv"
[space]
learning_rate = { low = 1e-5, high = 1e-4 }
batch_size = [16]
epochs = [1]
"""


def test_load_spec_resolves_relative_data_paths_against_the_spec_folder(tmp_path: Path) -> None:
    spec = load_spec(_toml(tmp_path, MINIMAL))
    assert spec.resolve_path(spec.data.train) == str(tmp_path / "data" / "train.tsv")
    assert spec.resolve_path(spec.data.eval) == "/abs/validation.tsv"
    assert spec.dimension("learning_rate").log  # learning rates are log-spaced by default


def test_load_spec_file_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nope.toml")
    with pytest.raises(SpecError, match="malformed TOML"):
        load_spec(_toml(tmp_path, MINIMAL + "\n[space\n"))
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(SpecError, match="not a UTF-8 text file"):
        load_spec(binary)
    with pytest.raises(SpecError, match="unknown key study.nmae"):
        load_spec(_toml(tmp_path, MINIMAL.replace('name = "s"', 'nmae = "s"')))
