"""Observed and surface-predicted Pareto fronts for a set of objectives (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from advisor.report._data import candidate_grid, config_means
from advisor.steering._objectives import Objective
from advisor.steering._pareto import non_dominated_mask
from advisor.surface import FittedSurface
from advisor.table import PARAMS


@dataclass(frozen=True)
class Fronts:
    """Pareto fronts of one objective set.

    Attributes:
        objectives: the objectives, in order.
        configs: every tried configuration with complete objectives: parameters, the mean of
            each objective over its seeds, and `n` (runs).
        observed: the non-dominated rows of `configs`, sorted by the first objective.
        predicted: non-dominated configurations of a dense grid over the tried ranges by the
            surfaces' predicted means: parameters and, per objective, `NAME`, `NAME_lower`,
            `NAME_upper` (confidence interval of the mean); None without surfaces for all.
        candidates: size of that grid (0 without prediction).
        level: the intervals' confidence level, e.g. 0.95.
    """

    objectives: tuple[Objective, ...]
    configs: pd.DataFrame
    observed: pd.DataFrame
    predicted: pd.DataFrame | None
    candidates: int = 0
    level: float = 0.95


def _signed(frame: pd.DataFrame, objectives: Sequence[Objective]) -> np.ndarray:
    return np.column_stack([o.sign * frame[o.name].to_numpy(dtype=float) for o in objectives])


def observed_front(rows: pd.DataFrame, objectives: Sequence[Objective]) -> tuple[pd.DataFrame, ...]:
    """(configuration means with every objective present, their non-dominated subset)."""
    names = [o.name for o in objectives]
    configs = config_means(rows.dropna(subset=names), names).reset_index(drop=True)
    front = configs[non_dominated_mask(_signed(configs, objectives))] if len(configs) else configs
    return configs, front.sort_values(names[0]).reset_index(drop=True)


def predicted_front(
    surfaces: Mapping[str, FittedSurface], rows: pd.DataFrame, objectives: Sequence[Objective]
) -> tuple[pd.DataFrame, int]:
    """Non-dominated configurations of `candidate_grid(rows)` by predicted means, with the
    confidence interval of each mean; and the number of candidates."""
    grid = candidate_grid(rows)
    out = grid.copy()
    for objective in objectives:
        predicted = surfaces[objective.name].predict(grid)
        out[objective.name] = predicted["mean"].to_numpy()
        out[f"{objective.name}_lower"] = predicted["mean_lower"].to_numpy()
        out[f"{objective.name}_upper"] = predicted["mean_upper"].to_numpy()
    mask = non_dominated_mask(_signed(out, objectives))
    front = out[mask].sort_values(objectives[0].name).reset_index(drop=True)
    return front, len(grid)


def compute_fronts(
    rows: pd.DataFrame,
    surfaces: Mapping[str, FittedSurface],
    objectives: Sequence[Objective],
) -> Fronts:
    """Observed front always; predicted front when every objective has a surface."""
    configs, observed = observed_front(rows, objectives)
    predicted, candidates, level = None, 0, 0.95
    if all(o.name in surfaces for o in objectives) and len(rows):
        predicted, candidates = predicted_front(surfaces, rows[list(PARAMS)], objectives)
        level = 1.0 - surfaces[objectives[0].name].alpha
    return Fronts(tuple(objectives), configs, observed, predicted, candidates, level)
