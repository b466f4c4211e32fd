"""What the surface sampler decided for a trial, and what it carries from deciding to proposing."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from advisor.steering._space import Space
from advisor.steering._surrogate import BayesianQuadratic
from advisor.steering._window import StartupRule


@dataclass(frozen=True)
class SamplerDecision:
    """How `SurfaceSampler` chose (or declined to choose) one trial's parameters.

    Attributes:
        trial_number: the trial the decision is for.
        mode: `"surface"` (the surfaces proposed), `"startup"` (a random candidate not yet
            taken, before the surfaces can steer) or `"fallback"` (the wrapped sampler did).
        reason: one sentence for the user.
        n_trials: finished trials the surfaces learnt from.
        cv_r2: objective name -> leave-one-out R^2 of its surface (empty when none was fitted).
        predicted: objective name -> (mean, sd) predicted for the proposal (surface mode only),
            by the surfaces as fitted: values past the focus cap read as the cap. An
            objective every modelled trial gave the same value is left out (its surface has no
            scale to predict with), and the reason says so.
        prior_weight: objective name -> the weight (0 to 1) its surface gave the learned
            prior, by how well the prior predicted the trials (empty without a prior).
    """

    trial_number: int
    mode: str
    reason: str
    n_trials: int
    cv_r2: dict[str, float] = field(default_factory=dict)
    predicted: dict[str, tuple[float, float]] = field(default_factory=dict)
    prior_weight: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Plan:
    decision: SamplerDecision
    space: Space | None = None
    model: BayesianQuadratic | None = None
    evaluated: np.ndarray | None = None  # raw configurations of finished trials (unique)
    pending: np.ndarray | None = None  # raw configurations of running and waiting trials
    reference: np.ndarray | None = None  # observed median per objective (minimised): ref point
    window: StartupRule | None = None  # start-up plans: where the draw is to expect training
