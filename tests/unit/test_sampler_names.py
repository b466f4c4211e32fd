"""The CLI's sampler choices (kept import-light for a fast `--help`) match the factory's."""

from __future__ import annotations

import pytest

from advisor.cli._bench import SAMPLER_CHOICES
from advisor.cli._steer import SamplerChoice
from advisor.steering import SAMPLERS, SurfaceSampler, UnknownSamplerError, make_sampler


def test_cli_choices_match_the_factory() -> None:
    assert SAMPLER_CHOICES == SAMPLERS
    assert tuple(c.value for c in SamplerChoice) == SAMPLERS


def test_factory_builds_each_sampler_and_rejects_others() -> None:
    for name in SAMPLERS:
        assert make_sampler(name, seed=0) is not None
    assert isinstance(make_sampler("surface", seed=0, n_startup_trials=6), SurfaceSampler)
    with pytest.raises(UnknownSamplerError, match="surface, nsga2, tpe, gp, random"):
        make_sampler("cmaes")
