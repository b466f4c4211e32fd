"""The benchmark's hypervolume normalisation (PRODUCT.md, "Benchmark tables")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from advisor.steering._pareto import hypervolume


@dataclass(frozen=True)
class HypervolumeScale:
    """Maps objective values to the unit box in which hypervolumes are compared.

    Each objective becomes a minimisation, shifted and scaled so that the best configuration
    mean maps to 0 and the median configuration mean to 1; values past 1 are clipped to 1 and
    the reference point is 1 in every objective. An objective whose best equals its median is
    left out (`kept` is False for it).

    Attributes:
        signs: +1 for a minimised objective, -1 for a maximised one.
        best: best configuration mean of each objective, in minimisation form.
        median: median configuration mean of each objective, in minimisation form.
        kept: which objectives take part in the hypervolume.
    """

    signs: np.ndarray
    best: np.ndarray
    median: np.ndarray
    kept: np.ndarray

    @classmethod
    def from_means(cls, means: np.ndarray, directions: Sequence[str]) -> HypervolumeScale:
        """Fit the scale on the configuration means of a table.

        Args:
            means: `(n_configurations, n_objectives)` mean metric of each configuration.
            directions: `"maximize"` or `"minimize"` per objective.
        """
        means = np.asarray(means, dtype=float)
        if means.ndim != 2 or means.shape[1] != len(directions) or means.shape[0] == 0:
            raise ValueError(
                f"means of shape {means.shape} do not match {len(directions)} objectives"
            )
        signs = np.array([1.0 if d == "minimize" else -1.0 for d in directions])
        loss = means * signs
        best = loss.min(axis=0)
        median = np.median(loss, axis=0)
        return cls(signs=signs, best=best, median=median, kept=median > best)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """`(n, n_objectives)` values -> `(n, n_kept)` normalised values in (-inf, 1]."""
        values = np.asarray(values, dtype=float).reshape(-1, self.signs.size)
        loss = values * self.signs
        scaled = (loss - self.best) / np.where(self.kept, self.median - self.best, 1.0)
        return np.minimum(scaled[:, self.kept], 1.0)

    def hypervolume(self, values: np.ndarray) -> float:
        """Hypervolume of `values` (original units) in the normalised box, reference 1."""
        if not self.kept.any():
            return 0.0
        return hypervolume(self.transform(values), np.ones(int(self.kept.sum())))
