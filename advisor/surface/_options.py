"""Choices shared by the surface estimator and the CLI (no heavy imports: Typer reads them)."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from advisor.errors import FitError

DEGREES: tuple[int, ...] = (1, 2, 3)
DEFAULT_ALPHA = 0.05


class Mode(str, Enum):
    """Which targets to fit: the metric itself, its difference to the baseline, or both."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"
    BOTH = "both"


class Selection(str, Enum):
    """Criterion for hierarchical backward term selection."""

    AIC = "aic"
    BIC = "bic"


class Coding(str, Enum):
    """How transformed factors enter the regression.

    `coded`: each transformed factor is centred at the middle of its observed range and scaled
    so that range maps to [-1, 1]; `natural`: the transformed values as they are
    (log10 learning rate, log2 batch size, epochs).
    """

    CODED = "coded"
    NATURAL = "natural"


E = TypeVar("E", bound=Enum)


def parse_choice(kind: type[E], value: object, what: str) -> E:
    """`value` as a member of `kind`, or a FitError quoting it and listing the valid choices."""
    if isinstance(value, kind):
        return value
    for member in kind:
        if value == member.value:
            return member
    valid = ", ".join(str(m.value) for m in kind)
    raise FitError(f"unknown {what} {value!r}; valid choices: {valid}")


def check_degree(degree: object) -> int:
    """The degree as an int, or a FitError listing the valid degrees."""
    if isinstance(degree, bool) or degree not in DEGREES:
        valid = ", ".join(str(d) for d in DEGREES)
        raise FitError(f"unknown degree {degree!r}; valid choices: {valid}")
    return int(degree)  # type: ignore[call-overload]


def check_alpha(alpha: float) -> float:
    """The significance level, or a FitError when it is not strictly between 0 and 1."""
    if not 0.0 < float(alpha) < 1.0:
        raise FitError(f"alpha must be between 0 and 1 (exclusive), got {alpha!r}")
    return float(alpha)
