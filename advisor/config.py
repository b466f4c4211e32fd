"""TOML study spec -> validated, frozen objects; every problem names its key, before training."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from advisor.errors import SpecError

DESIGNS = ("factorial", "ccd", "box-behnken", "lhs")
BASELINE_KINDS = ("checkpoint", "config", "none")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
SPACE_NAMES = ("learning_rate", "batch_size", "epochs")
MAX_SEED = 2**32 - 1  # numpy, torch and transformers seed with unsigned 32-bit integers
MAX_LEVELS = 100  # values per range dimension: 100**3 configurations is already a million
MAX_SAMPLES = 100_000  # LHS points; a grid over 10,000 points needs `advisor grid --force` too
EVAL_EVERY_EPOCH = "epoch"  # [training] eval_every: "epoch", or a positive number of steps

_ALLOWED: dict[str, set[str]] = {
    "": {"study", "model", "data", "space", "grid", "baseline", "training"},
    "study": {"name"},
    "model": {"name", "max_length"},
    "data": {
        "source",
        "train",
        "eval",
        "text_column",
        "label_column",
        "train_size",
        "eval_size",
        "subsample_seed",
    },
    "space": set(SPACE_NAMES),
    "grid": {"design", "levels", "seeds", "samples", "center_points"},
    "baseline": {"kind", "params", "seed"},
    "training": {
        "precision",
        "eval_batch_size",
        "eval_every",
        "weight_decay",
        "warmup_ratio",
        "group_by_length",
    },
}
_REQUIRED: dict[str, set[str]] = {
    "": {"study", "model", "data", "space"},
    "study": {"name"},
    "model": {"name"},
}


@dataclass(frozen=True)
class Dimension:
    """One hyperparameter: a range (`low`..`high`, maybe log/integer) or an explicit value list."""

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False
    choices: tuple[float, ...] | None = None


@dataclass(frozen=True)
class DataSpec:
    source: str = "glue/sst2"
    train: str = "train"
    eval: str = "validation"
    text_column: str = "sentence"
    label_column: str = "label"
    train_size: int | None = None
    eval_size: int | None = None
    subsample_seed: int = 0


@dataclass(frozen=True)
class TrainingSpec:
    precision: str = "auto"
    eval_batch_size: int = 64
    # when the eval split is scored during training: at the end of every epoch, or every N
    # optimizer steps (points then carry a fractional epoch); the last point is the final score
    eval_every: str | int = EVAL_EVERY_EPOCH
    weight_decay: float = 0.0
    warmup_ratio: float = 0.0
    group_by_length: bool = False


@dataclass(frozen=True)
class StudySpec:
    """A validated study spec (see PRODUCT.md "Study spec")."""

    name: str
    model: str
    max_length: int
    data: DataSpec
    space: tuple[Dimension, ...]
    design: str = "factorial"
    levels: int = 3
    seeds: tuple[int, ...] = (0,)
    samples: int | None = None
    baseline_kind: str = "none"
    baseline_params: dict[str, float] = field(default_factory=dict)
    baseline_seed: int = 0
    training: TrainingSpec = TrainingSpec()
    base_dir: str = "."

    def dimension(self, name: str) -> Dimension:
        return next(d for d in self.space if d.name == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, stored with the study so later commands can rebuild the spec.

        `training.eval_every` is left out at its default, so that a spec stored before the key
        existed still compares equal to the same spec read today (`from_dict` fills it in).
        """
        data = asdict(self)
        if data["training"]["eval_every"] == EVAL_EVERY_EPOCH:
            del data["training"]["eval_every"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudySpec:
        space = tuple(
            Dimension(**{**d, "choices": tuple(d["choices"]) if d["choices"] else None})
            for d in data["space"]
        )
        return cls(
            **{
                **data,
                "space": space,
                "data": DataSpec(**data["data"]),
                "training": TrainingSpec(**data["training"]),
                "seeds": tuple(data["seeds"]),
            }
        )

    def resolve_path(self, path: str) -> str:
        """A data path relative to the spec file's folder, made absolute."""
        candidate = Path(path).expanduser()
        return str(candidate if candidate.is_absolute() else Path(self.base_dir) / candidate)


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a TOML spec file.

    Raises:
        SpecError: unreadable TOML, unknown or missing keys, impossible values (names the key).
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file {str(path)!r} does not exist")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: malformed TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not a UTF-8 text file") from exc
    return parse_spec(raw, base_dir=str(path.resolve().parent))


def parse_spec(raw: dict[str, Any], base_dir: str = ".") -> StudySpec:
    """Validate a parsed TOML document (see `load_spec`)."""
    _check_keys(raw, "")
    for section in _ALLOWED[""] - {""}:
        if section in raw:
            if not isinstance(raw[section], dict):
                raise SpecError(f"[{section}] must be a table")
            _check_keys(raw[section], section)
    study, model, data = raw["study"], raw["model"], raw["data"]
    grid = raw.get("grid", {})
    baseline = raw.get("baseline", {"kind": "none"})
    name = _string(study["name"], "study.name")
    if "@" in name:  # `NAME@f1,loss` is the objective study of grid study NAME
        raise SpecError(
            f"study.name = {name!r} contains '@', which advisor keeps for the objective studies "
            "of a grid study (NAME@f1,loss); choose a name without '@'"
        )
    design = _choice(grid.get("design", "factorial"), DESIGNS, "grid.design")
    kind = _choice(baseline.get("kind", "none"), BASELINE_KINDS, "baseline.kind")
    space = tuple(_dimension(n, raw["space"].get(n)) for n in SPACE_NAMES)
    spec = StudySpec(
        name=name,
        model=_string(model["name"], "model.name"),
        max_length=_positive_int(model.get("max_length", 128), "model.max_length"),
        data=_data_spec(data),
        space=space,
        design=design,
        levels=_bounded_int(grid.get("levels", 3), "grid.levels", MAX_LEVELS),
        seeds=_seeds(grid.get("seeds", [0])),
        samples=_optional_bounded_int(grid.get("samples"), "grid.samples", MAX_SAMPLES),
        baseline_kind=kind,
        baseline_params=_baseline_params(baseline, kind, space),
        baseline_seed=_seed(baseline.get("seed", 0), "baseline.seed"),
        training=_training_spec(raw.get("training", {})),
        base_dir=base_dir,
    )
    if design == "lhs" and spec.samples is None:
        raise SpecError('grid.samples is required for design = "lhs" (number of points)')
    if design in ("ccd", "box-behnken") and grid.get("levels") not in (None, 3):
        raise SpecError(f'grid.levels must be 3 (or left out) for design = "{design}"')
    return spec


def _check_keys(table: dict[str, Any], section: str) -> None:
    prefix = f"{section}." if section else ""
    unknown = sorted(set(table) - _ALLOWED[section])
    if unknown:
        allowed = ", ".join(sorted(_ALLOWED[section]))
        raise SpecError(f"unknown key {prefix}{unknown[0]!s}; allowed here: {allowed}")
    missing = sorted(_REQUIRED.get(section, set()) - set(table))
    if missing:
        raise SpecError(f"missing key {prefix}{missing[0]}")
    if section == "space":
        absent = [n for n in SPACE_NAMES if n not in table]
        if absent:
            raise SpecError(f"missing key space.{absent[0]}")


def _dimension(name: str, value: Any) -> Dimension:
    key = f"space.{name}"
    integer = name in ("batch_size", "epochs")
    if isinstance(value, list):
        if not value:
            raise SpecError(f"{key} is an empty list")
        numbers = tuple(sorted({_number(v, key, integer) for v in value}))
        _check_positive(numbers[0], key)
        return Dimension(
            name, numbers[0], numbers[-1], log=name != "epochs", integer=integer, choices=numbers
        )
    if not isinstance(value, dict):
        raise SpecError(f"{key} must be a list of values or a table {{ low = .., high = .. }}")
    extra = sorted(set(value) - {"low", "high", "log"})
    if extra:
        raise SpecError(f"unknown key {key}.{extra[0]}; allowed here: high, log, low")
    for bound in ("low", "high"):
        if bound not in value:
            raise SpecError(f"missing key {key}.{bound}")
    low, high = (
        _number(value["low"], f"{key}.low", integer),
        _number(value["high"], f"{key}.high", integer),
    )
    _check_positive(low, f"{key}.low")
    if low > high:
        raise SpecError(f"{key}: low ({low:g}) is greater than high ({high:g})")
    log = value.get("log", name == "learning_rate")
    if not isinstance(log, bool):
        raise SpecError(f"{key}.log must be true or false")
    return Dimension(name, low, high, log=log, integer=integer)


def _number(value: Any, key: str, integer: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{key} must be a number, got {value!r}")
    if integer:
        if value != int(value):
            raise SpecError(f"{key} must be a whole number, got {value!r}")
        return int(value)
    return float(value)


def _check_positive(value: float, key: str) -> None:
    if value <= 0:
        raise SpecError(f"{key} must be greater than 0, got {value:g}")


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{key} must be a non-empty string")
    return value.strip()


def _choice(value: Any, choices: tuple[str, ...], key: str) -> str:
    if value not in choices:
        raise SpecError(f"{key} = {value!r} is not valid; choose one of: {', '.join(choices)}")
    return str(value)


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{key} must be a whole number, got {value!r}")
    return value


def _positive_int(value: Any, key: str) -> int:
    number = _int(value, key)
    if number <= 0:
        raise SpecError(f"{key} must be greater than 0, got {number}")
    return number


def _bounded_int(value: Any, key: str, limit: int) -> int:
    number = _positive_int(value, key)
    if number > limit:
        raise SpecError(f"{key} = {number} is too large; at most {limit:,}")
    return number


def _optional_bounded_int(value: Any, key: str, limit: int) -> int | None:
    return None if value is None else _bounded_int(value, key, limit)


def _seed(value: Any, key: str) -> int:
    number = _int(value, key)
    if not 0 <= number <= MAX_SEED:
        raise SpecError(f"{key}: seed {number} is outside 0..{MAX_SEED} (2**32 - 1)")
    return number


def _seeds(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise SpecError("grid.seeds must be a non-empty list of whole numbers")
    seeds = tuple(_seed(v, "grid.seeds") for v in value)
    if len(set(seeds)) != len(seeds):
        raise SpecError("grid.seeds has duplicates")
    return seeds


def _data_spec(data: dict[str, Any]) -> DataSpec:
    values: dict[str, Any] = {}
    for key in ("source", "train", "eval", "text_column", "label_column"):
        if key in data:
            values[key] = _string(data[key], f"data.{key}")
    for key in ("train_size", "eval_size"):
        if key in data:
            values[key] = _positive_int(data[key], f"data.{key}")
    if "subsample_seed" in data:
        values["subsample_seed"] = _seed(data["subsample_seed"], "data.subsample_seed")
    return DataSpec(**values)


def _training_spec(training: dict[str, Any]) -> TrainingSpec:
    values: dict[str, Any] = {}
    if "precision" in training:
        values["precision"] = _choice(training["precision"], PRECISIONS, "training.precision")
    if "eval_batch_size" in training:
        values["eval_batch_size"] = _positive_int(
            training["eval_batch_size"], "training.eval_batch_size"
        )
    if "eval_every" in training:
        values["eval_every"] = _eval_every(training["eval_every"])
    for key in ("weight_decay", "warmup_ratio"):
        if key in training:
            number = _number(training[key], f"training.{key}", integer=False)
            if number < 0:
                raise SpecError(f"training.{key} must be >= 0, got {number:g}")
            values[key] = number
    if "group_by_length" in training:
        if not isinstance(training["group_by_length"], bool):
            raise SpecError("training.group_by_length must be true or false")
        values["group_by_length"] = training["group_by_length"]
    return TrainingSpec(**values)


def _eval_every(value: Any) -> str | int:
    if value == EVAL_EVERY_EPOCH:
        return EVAL_EVERY_EPOCH
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SpecError(
            f'training.eval_every must be "epoch" or a whole number of steps > 0, got {value!r}'
        )
    return value


def _baseline_params(
    baseline: dict[str, Any], kind: str, space: tuple[Dimension, ...]
) -> dict[str, float]:
    if kind != "config":
        if "params" in baseline:
            raise SpecError(f'baseline.params is only used with kind = "config", not {kind!r}')
        return {}
    params = baseline.get("params")
    if not isinstance(params, dict):
        raise SpecError("missing key baseline.params (learning_rate, batch_size, epochs)")
    unknown = sorted(set(params) - set(SPACE_NAMES))
    if unknown:
        raise SpecError(
            f"unknown key baseline.params.{unknown[0]}; allowed here: {', '.join(SPACE_NAMES)}"
        )
    result: dict[str, float] = {}
    for dim in space:
        key = f"baseline.params.{dim.name}"
        if dim.name not in params:
            raise SpecError(f"missing key {key}")
        result[dim.name] = _number(params[dim.name], key, dim.integer)
        _check_positive(result[dim.name], key)
    return result
