"""Factors (transform + coding) and polynomial terms: the design matrix of a response surface.

Learning rate enters as log10, batch size as log2, epochs as is (PRODUCT.md). On top of that a
factor is either *coded* (centred on the middle of its observed range, scaled so the range maps
to [-1, 1]) or *natural* (centre 0, scale 1). A term is a monomial given by one exponent per factor.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from advisor.errors import FitError
from advisor.surface._options import Coding
from advisor.table import PARAMS

# (name in formulas, parameter, transform, words for people)
FACTOR_SPECS: tuple[tuple[str, str, str, str], ...] = (
    ("lr", "learning_rate", "log10", "learning rate"),
    ("batch", "batch_size", "log2", "batch size"),
    ("epochs", "epochs", "identity", "epochs"),
)
_FORWARD: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "log10": np.log10,
    "log2": np.log2,
    "identity": lambda v: v,
}
_INVERSE: dict[str, Callable[[float], float]] = {
    "log10": lambda t: 10.0**t,
    "log2": lambda t: 2.0**t,
    "identity": lambda t: t,
}
UNITS = {"log10": "10x", "log2": "doubling", "identity": "epoch"}
LEVEL_DECIMALS = 9  # transformed values equal to this many decimals are one level


@dataclass(frozen=True)
class Factor:
    """One hyperparameter as it enters the regression: `x = (transform(value) - center) / scale`.

    Attributes:
        name: identifier used in terms and formulas (`lr`, `batch`, `epochs`).
        param: the hyperparameter (`learning_rate`, `batch_size`, `epochs`).
        transform: `log10`, `log2` or `identity`.
        label: words for people (`learning rate`).
        low, high: observed range of the transformed values.
        levels: number of distinct observed values.
        center, scale: the coding on top of the transform.
    """

    name: str
    param: str
    transform: str
    label: str
    low: float
    high: float
    levels: int
    center: float
    scale: float

    def transformed(self, values: np.ndarray | pd.Series) -> np.ndarray:
        """The transform (log10, log2 or identity) of raw parameter values."""
        return _FORWARD[self.transform](np.asarray(values, dtype=float)).astype(float)

    def encode(self, values: np.ndarray | pd.Series) -> np.ndarray:
        """Raw parameter values -> the regression variable."""
        return (self.transformed(values) - self.center) / self.scale

    def to_param(self, transformed: float) -> float:
        """A transformed value back on the parameter's own scale."""
        return float(_INVERSE[self.transform](transformed))

    @property
    def unit(self) -> str:
        """One unit of the transformed factor in words (`10x`, `doubling`, `epoch`)."""
        return UNITS[self.transform]


def make_factors(frame: pd.DataFrame, coding: Coding) -> tuple[Factor, ...]:
    """Factors for the columns of `frame`, with ranges, levels and coding taken from the data.

    Raises:
        FitError: a parameter column is missing, not finite, or not positive under a log.
    """
    check_params(frame)
    factors = []
    for name, param, transform, label in FACTOR_SPECS:
        values = _FORWARD[transform](frame[param].to_numpy(dtype=float)).astype(float)
        low, high = float(values.min()), float(values.max())
        levels = int(np.unique(np.round(values, LEVEL_DECIMALS)).size)
        if coding == Coding.CODED and high > low:
            center, scale = (low + high) / 2.0, (high - low) / 2.0
        else:
            center, scale = 0.0, 1.0
        factors.append(Factor(name, param, transform, label, low, high, levels, center, scale))
    return tuple(factors)


def check_params(frame: pd.DataFrame) -> None:
    """Raise FitError unless `frame` has finite, usable learning_rate, batch_size, epochs."""
    missing = [p for p in PARAMS if p not in frame.columns]
    if missing:
        raise FitError(f"missing column(s) {', '.join(missing)}; need {', '.join(PARAMS)}")
    for _name, param, transform, _label in FACTOR_SPECS:
        try:
            values = frame[param].to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise FitError(f"column {param!r} is not numeric ({exc})") from exc
        bad = ~np.isfinite(values)
        if bad.any():
            raise FitError(
                f"{param} is missing or not finite in {int(bad.sum())} row(s) "
                f"(rows {_first_rows(bad)}); drop or fill those rows"
            )
        if transform != "identity" and (values <= 0).any():
            raise FitError(
                f"{param} must be > 0 (it enters as {transform}); "
                f"rows {_first_rows(values <= 0)} are not"
            )


def _first_rows(mask: np.ndarray, limit: int = 5) -> str:
    rows = np.flatnonzero(mask)
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (", ..." if rows.size > limit else "")


def encode(factors: Sequence[Factor], frame: pd.DataFrame) -> np.ndarray:
    """The (n, n_factors) matrix of regression variables for the rows of `frame`."""
    check_params(frame)
    return np.column_stack([f.encode(frame[f.param]) for f in factors])


@dataclass(frozen=True, order=True)
class Term:
    """A monomial: `powers[i]` is the exponent of factor i (all zero: the intercept)."""

    powers: tuple[int, ...]

    @property
    def degree(self) -> int:
        """Total degree (0 for the intercept)."""
        return sum(self.powers)

    @property
    def is_intercept(self) -> bool:
        """True for the constant term."""
        return self.degree == 0

    def name(self, factors: Sequence[Factor]) -> str:
        """Readable name: `Intercept`, `lr`, `lr^2`, `lr:batch`, `lr^2:epochs`."""
        if self.is_intercept:
            return "Intercept"
        parts = [
            f.name if p == 1 else f"{f.name}^{p}"
            for f, p in zip(factors, self.powers, strict=True)
            if p
        ]
        return ":".join(parts)

    def formula(self, factors: Sequence[Factor]) -> str:
        """The term as statsmodels names it in a formula (`I(lr ** 2):batch`)."""
        if self.is_intercept:
            return "Intercept"
        parts = [
            f.name if p == 1 else f"I({f.name} ** {p})"
            for f, p in zip(factors, self.powers, strict=True)
            if p
        ]
        return ":".join(parts)

    def contains(self, other: Term) -> bool:
        """True when `other` is a lower-order term of this one (hierarchy)."""
        return other != self and all(o <= s for o, s in zip(other.powers, self.powers, strict=True))

    def column(self, x: np.ndarray) -> np.ndarray:
        """This term evaluated on the (n, n_factors) regression variables."""
        out = np.ones(x.shape[0])
        for i, p in enumerate(self.powers):
            if p:
                out = out * x[:, i] ** p
        return out

    def derivative(self, x: np.ndarray, factor: int) -> np.ndarray:
        """d(term)/d(x[factor]) evaluated on the rows of `x`."""
        p = self.powers[factor]
        if p == 0:
            return np.zeros(x.shape[0])
        lowered = list(self.powers)
        lowered[factor] = p - 1
        return p * Term(tuple(lowered)).column(x)


def candidate_terms(degree: int, n_factors: int = len(FACTOR_SPECS)) -> list[Term]:
    """Every monomial up to total `degree`: intercept, main effects, powers, interactions.

    Ordered by degree; within a degree pure powers come first, then interactions.
    """
    terms = [
        Term(tuple(p))
        for p in itertools.product(range(degree + 1), repeat=n_factors)
        if sum(p) <= degree
    ]

    def key(term: Term) -> tuple[int, int, tuple[int, ...]]:
        return term.degree, sum(1 for p in term.powers if p), tuple(-p for p in term.powers)

    return sorted(terms, key=key)


def design_matrix(terms: Sequence[Term], x: np.ndarray) -> np.ndarray:
    """The (n, n_terms) design matrix."""
    return np.column_stack([t.column(x) for t in terms])


def formula(terms: Sequence[Term], factors: Sequence[Factor], response: str = "y") -> str:
    """A statsmodels formula for these terms over columns named like the factors."""
    rhs = [t.formula(factors) for t in terms if not t.is_intercept] or ["1"]
    if not any(t.is_intercept for t in terms):
        rhs.append("0")
    return f"{response} ~ " + " + ".join(rhs)
