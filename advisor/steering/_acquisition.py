"""Choosing the next configuration from posterior draws: hypervolume improvement."""

from __future__ import annotations

import numpy as np

from advisor.steering._pareto import epsilon_to_front, hypervolume_improvements


def choose(
    cand_draws: np.ndarray,
    base_draws: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    tie_break: np.ndarray,
) -> tuple[int, float]:
    """Index of the candidate that adds the most hypervolume under the posterior draws.

    Each draw is one plausible set of surfaces (Thompson sampling when there is one draw, a Monte
    Carlo expected hypervolume improvement when there are several). The value of a candidate
    under a draw is the hypervolume it adds to the configurations already evaluated (or running),
    with every configuration valued by the same draw, so noise in the observed values does not
    count as progress. Objectives are minimised and scaled so that `low` maps to 0 and `high`
    (the reference point) to 1. When no candidate adds anything, the one needing the smallest
    uniform improvement to add something is chosen; remaining ties go to the largest `tie_break`.

    Args:
        cand_draws: `(n_draws, n_candidates, n_objectives)` drawn values at the candidates.
        base_draws: `(n_draws, n_base, n_objectives)` drawn values at evaluated configurations.
        low: per-objective value mapped to 0.
        high: per-objective value mapped to 1 (the reference point).
        tie_break: `(n_candidates,)` preference among equal scores (e.g. predictive spread).

    Returns:
        `(index, expected improvement)`.
    """
    span = np.where(high - low > 0, high - low, 1.0)
    cand = (cand_draws - low) / span
    base = (base_draws - low) / span
    ref = np.ones(cand.shape[2])
    gains = np.mean(
        [hypervolume_improvements(c, b, ref) for c, b in zip(cand, base, strict=True)], axis=0
    )
    if gains.max() > 0:
        best = np.flatnonzero(gains >= gains.max() * (1 - 1e-12))
        return int(best[np.argmax(tie_break[best])]), float(gains.max())
    shortfall = np.mean(
        [
            np.maximum(epsilon_to_front(c, b), (c - ref).max(axis=1))
            for c, b in zip(cand, base, strict=True)
        ],
        axis=0,
    )
    best = np.flatnonzero(shortfall <= shortfall.min() + 1e-12)
    return int(best[np.argmax(tie_break[best])]), 0.0
