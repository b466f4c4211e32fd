"""Scores of batched searches (`advisor bench --batch N`): against rounds of N proposals.

A round is N trials proposed before any of them is answered, as `advisor tune --workers N`
runs them; the last round of a budget that N does not divide is shorter. Pure: arrays in,
rows out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def round_ends(budget: int, batch: int) -> np.ndarray:
    """The trial count after each round: `batch, 2*batch, ...`, ending at `budget`."""
    return np.minimum(np.arange(1, math.ceil(budget / batch) + 1) * batch, budget)


def round_rows(ratios: Mapping[str, np.ndarray], batch: int) -> list[dict[str, Any]]:
    """`{"sampler", "round", "hv_ratio_mean", "hv_ratio_sd"}` after each round (ratios are
    `(repeats, budget)` per sampler; sd over repeats, 0 for one repeat)."""
    out = []
    for name, r in ratios.items():
        for number, end in enumerate(round_ends(r.shape[1], batch), start=1):
            column = r[:, end - 1]
            sd = float(column.std(ddof=1)) if r.shape[0] > 1 else 0.0
            out.append(
                {
                    "sampler": name,
                    "round": number,
                    "hv_ratio_mean": float(column.mean()),
                    "hv_ratio_sd": sd,
                }
            )
    return out


def rounds_to_rows(
    ratios: Mapping[str, np.ndarray], batch: int, thresholds: Sequence[float]
) -> list[dict[str, Any]]:
    """Per sampler and threshold: the median round in which the ratio first reaches it (None
    if not within the budget in at least half the repeats) and in how many repeats it did."""
    out = []
    for threshold in thresholds:
        for name, r in ratios.items():
            hit = r >= threshold - 1e-12
            first = np.where(hit.any(axis=1), np.ceil((hit.argmax(axis=1) + 1) / batch), np.inf)
            median = float(np.median(first))
            out.append(
                {
                    "sampler": name,
                    "threshold": threshold,
                    "median_rounds": median if math.isfinite(median) else None,
                    "reached": int(hit.any(axis=1).sum()),
                    "repeats": int(r.shape[0]),
                }
            )
    return out


def repeated_share(configs: np.ndarray, batch: int) -> float:
    """Share of proposals that repeat a configuration proposed earlier in the same round
    (`configs`: `(repeats, budget)` table rows): 0 for a fully diverse batch."""
    repeats, budget = configs.shape
    repeated = 0
    for first in range(0, budget, batch):
        block = configs[:, first : first + batch]
        repeated += sum(block.shape[1] - len(np.unique(row)) for row in block)
    return repeated / (repeats * budget) if budget else 0.0
