"""The spec's search space as Optuna distributions (shared by grid, tune and suggest)."""

from __future__ import annotations

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from advisor.config import Dimension, StudySpec


def search_space(spec: StudySpec) -> dict[str, BaseDistribution]:
    """learning_rate, batch_size and epochs as distributions (value lists become categoricals)."""
    return {dim.name: _distribution(dim) for dim in spec.space}


def grid_space(spec: StudySpec) -> dict[str, BaseDistribution]:
    """The search space plus the replicate seed (a parameter of grid trials)."""
    return {**search_space(spec), "seed": CategoricalDistribution(list(spec.seeds))}


def _distribution(dim: Dimension) -> BaseDistribution:
    if dim.name == "learning_rate":
        return FloatDistribution(dim.low, dim.high, log=dim.log)
    if dim.choices is not None:
        return CategoricalDistribution([int(c) for c in dim.choices])
    return IntDistribution(int(dim.low), int(dim.high), log=dim.log)
