"""Steering: objectives, Pareto and hypervolume helpers, and the surface-guided Optuna sampler."""

from __future__ import annotations

from advisor.steering._factory import SAMPLERS, UnknownSamplerError, make_sampler
from advisor.steering._objectives import Objective, ObjectiveError, parse_objectives
from advisor.steering._pareto import (
    epsilon_to_front,
    hypervolume,
    hypervolume_improvements,
    non_dominated_mask,
)
from advisor.steering._prior import (
    Coordinate,
    SurfacePrior,
    finetune_prior,
    fit_absolute_prior,
    fit_surface_prior,
)
from advisor.steering._pruner import ParetoPruner, PruneDecision
from advisor.steering._sampler import SamplerDecision, SurfaceSampler
from advisor.steering._scale import HypervolumeScale
from advisor.steering._surrogate import BayesianQuadratic
from advisor.steering._table import TableSpace
from advisor.steering._window import StartupRule, TrainingWindow

__all__ = [
    "SAMPLERS",
    "UnknownSamplerError",
    "make_sampler",
    "BayesianQuadratic",
    "Coordinate",
    "HypervolumeScale",
    "Objective",
    "ObjectiveError",
    "ParetoPruner",
    "PruneDecision",
    "SamplerDecision",
    "StartupRule",
    "SurfacePrior",
    "SurfaceSampler",
    "TableSpace",
    "TrainingWindow",
    "epsilon_to_front",
    "finetune_prior",
    "fit_absolute_prior",
    "fit_surface_prior",
    "hypervolume",
    "hypervolume_improvements",
    "non_dominated_mask",
    "parse_objectives",
]
