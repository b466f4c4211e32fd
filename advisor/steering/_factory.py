"""The samplers advisor compares and offers, built by name."""

from __future__ import annotations

from typing import Any

import optuna

from advisor.errors import AdvisorError
from advisor.steering._sampler import SurfaceSampler

SAMPLERS: tuple[str, ...] = ("surface", "nsga2", "tpe", "gp", "random")


class UnknownSamplerError(AdvisorError, ValueError):
    """A sampler name that is not one of `SAMPLERS`."""


def make_sampler(
    name: str, seed: int | None = None, **surface_options: Any
) -> optuna.samplers.BaseSampler:
    """`surface` (ours, taking `surface_options`) or Optuna's `nsga2`, `tpe`, `gp`, `random`
    with their default settings, seeded."""
    if name == "surface":
        return SurfaceSampler(seed=seed, **surface_options)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise UnknownSamplerError(f"unknown sampler {name!r}; choose one of: {', '.join(SAMPLERS)}")
