"""Objective sets such as `f1,loss`: metric names with their optimisation directions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from advisor.errors import AdvisorError
from advisor.table import ALL_METRICS, DIRECTIONS

_DIRECTION_WORDS = {
    "max": "maximize",
    "maximize": "maximize",
    "maximise": "maximize",
    "min": "minimize",
    "minimize": "minimize",
    "minimise": "minimize",
}


class ObjectiveError(AdvisorError, ValueError):
    """An objective list names an unknown metric or direction, or names a metric twice."""


@dataclass(frozen=True)
class Objective:
    """One metric to optimise.

    Attributes:
        name: a metric name from `advisor.table.ALL_METRICS` (e.g. `f1`, `loss_rel`).
        direction: `"maximize"` or `"minimize"` (Optuna's spelling).
    """

    name: str
    direction: str

    @property
    def sign(self) -> float:
        """+1 for minimisation, -1 for maximisation: `sign * value` is always minimised."""
        return 1.0 if self.direction == "minimize" else -1.0


def parse_objectives(spec: str | Sequence[str]) -> list[Objective]:
    """Parse `"f1,loss"` or `"f1:max,loss:min"` (or a list of such items) into objectives.

    Directions default to the metric's natural one (accuracy and F1 maximised, loss minimised,
    the same for their `*_rel` versions); an explicit `:max` / `:min` overrides it.

    Raises:
        ObjectiveError: empty list, unknown metric or direction, or a metric named twice.
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    items = [item.strip() for item in items if item and item.strip()]
    if not items:
        raise ObjectiveError(f"no objective given; choose from {', '.join(ALL_METRICS)}")
    objectives: list[Objective] = []
    for item in items:
        name, _, word = (part.strip() for part in item.partition(":"))
        name = name.lower()
        if name not in ALL_METRICS:
            valid = ", ".join(ALL_METRICS)
            raise ObjectiveError(f"unknown metric {name!r} in {item!r}; choose from {valid}")
        direction = DIRECTIONS[name]
        if word:
            if word.lower() not in _DIRECTION_WORDS:
                raise ObjectiveError(
                    f"unknown direction {word!r} in objective {item!r}; use max or min"
                )
            direction = _DIRECTION_WORDS[word.lower()]
        if any(o.name == name for o in objectives):
            raise ObjectiveError(f"metric {name!r} is named twice in the objectives; name it once")
        objectives.append(Objective(name, direction))
    return objectives
