"""Which candidate terms the data can estimate: too few levels, constant factors, aliasing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from advisor.surface._model import DroppedTerm
from advisor.surface._terms import Factor, Term

ALIAS_TOL = 1e-8  # relative residual norm below which a column is a combination of the others


def drop_unsupported(
    terms: Sequence[Term], factors: Sequence[Factor]
) -> tuple[list[Term], list[DroppedTerm]]:
    """Drop terms that need more distinct values of a factor than the data has.

    A power k of a factor needs at least k + 1 distinct values (a square needs 3); a factor with
    a single value supports no term at all.
    """
    kept: list[Term] = []
    dropped: list[DroppedTerm] = []
    for term in terms:
        reason = _unsupported_reason(term, factors)
        if reason is None:
            kept.append(term)
        else:
            dropped.append(DroppedTerm(term.name(factors), reason))
    return kept, dropped


def _unsupported_reason(term: Term, factors: Sequence[Factor]) -> str | None:
    for factor, power in zip(factors, term.powers, strict=True):
        if power == 0 or power < factor.levels:
            continue
        if factor.levels == 1:
            value = factor.to_param(factor.low)
            return f"{factor.param} is constant ({value:g}) in these rows"
        return (
            f"{factor.param} has only {factor.levels} distinct values (a square needs 3, a cube 4)"
        )
    return None


def drop_aliased(
    terms: Sequence[Term], design: np.ndarray, factors: Sequence[Factor], n_configs: int
) -> tuple[list[int], list[DroppedTerm]]:
    """Keep, in order, each term whose column is not a combination of the terms kept before it.

    Lower-order terms come first in `terms`, so the kept set stays hierarchical where the design
    allows. Returns the kept column indices and the dropped terms with their reasons.
    """
    scaled = design / np.maximum(np.linalg.norm(design, axis=0), np.finfo(float).tiny)
    kept: list[int] = []
    dropped: list[DroppedTerm] = []
    for j, term in enumerate(terms):
        column = scaled[:, j]
        if kept:
            basis = scaled[:, kept]
            weights, *_ = np.linalg.lstsq(basis, column, rcond=None)
            residual = float(np.linalg.norm(column - basis @ weights))
        else:
            weights, residual = np.zeros(0), float(np.linalg.norm(column))
        if residual > ALIAS_TOL:
            kept.append(j)
            continue
        dropped.append(
            DroppedTerm(term.name(factors), _alias_reason(terms, kept, weights, factors, n_configs))
        )
    return kept, dropped


def _alias_reason(
    terms: Sequence[Term],
    kept: list[int],
    weights: np.ndarray,
    factors: Sequence[Factor],
    n_configs: int,
) -> str:
    partners = [terms[k].name(factors) for k, w in zip(kept, weights, strict=True) if abs(w) > 1e-6]
    reason = "aliased with " + (", ".join(partners) or "the intercept") + " in this design"
    if n_configs < len(terms):
        reason += f" (only {n_configs} distinct configurations for {len(terms)} terms)"
    return reason
