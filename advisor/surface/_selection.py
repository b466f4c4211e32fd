"""Hierarchical backward term selection by AIC or BIC (a term goes only after its higher terms)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from advisor.surface._options import Selection
from advisor.surface._terms import Term


def information_criterion(design: np.ndarray, y: np.ndarray, criterion: Selection) -> float:
    """AIC or BIC of the Gaussian OLS fit, as statsmodels computes them."""
    n, k = design.shape
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    ssr = float(np.sum((y - design @ coef) ** 2))
    if ssr <= 0:
        return -np.inf
    llf = -n / 2.0 * (np.log(2.0 * np.pi) + np.log(ssr / n) + 1.0)
    penalty = 2.0 * k if criterion == Selection.AIC else np.log(n) * k
    return float(-2.0 * llf + penalty)


def removable(terms: Sequence[Term], keep: Sequence[int]) -> list[int]:
    """Indices in `keep` whose term is not the intercept and is not part of another kept term."""
    return [
        j
        for j in keep
        if not terms[j].is_intercept and not any(terms[k].contains(terms[j]) for k in keep)
    ]


def backward_select(
    terms: Sequence[Term], design: np.ndarray, y: np.ndarray, criterion: Selection
) -> tuple[list[int], list[int]]:
    """Remove terms one at a time while the criterion improves, keeping the model hierarchical.

    Returns:
        (kept column indices, removed column indices in removal order).
    """
    keep = list(range(len(terms)))
    removed: list[int] = []
    current = information_criterion(design[:, keep], y, criterion)
    while True:
        best, best_value = None, current
        for j in removable(terms, keep):
            trial = [k for k in keep if k != j]
            value = information_criterion(design[:, trial], y, criterion)
            if value < best_value - 1e-12:
                best, best_value = j, value
        if best is None:
            return keep, removed
        keep.remove(best)
        removed.append(best)
        current = best_value
