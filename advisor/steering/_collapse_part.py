"""Collapsed runs in the sampler's surrogate: a two-part model, as the response surfaces have.

A collapsed run (a model that predicted one class) sits on a plateau that no quadratic through
the trained runs describes. As in `advisor.surface._two_part`, the value a new run at `x` is
expected to give is the mixture

    E[y] = p(x) * plateau + (1 - p(x)) * m(x),

`p` the collapse probability (the surface package's Firth logistic regression, on main effects
of the sampler's [-1, 1] coordinates), `m` the surfaces fitted on the runs that trained, and the
plateau each objective's mean over the collapsed runs. Thompson draws take both parts from their
(tempered) posteriors. Pure NumPy and plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from advisor.steering._surrogate import BayesianQuadratic
from advisor.surface._collapse import CollapseModel, fit_collapse
from advisor.surface._terms import Factor

MIN_TRAINED = 5  # trained runs needed to fit the surfaces apart from the collapsed ones
MIN_COLLAPSED = 2  # collapsed runs from which they are modelled apart (as advisor.surface does)


@dataclass(frozen=True, eq=False)
class CollapsePart:
    """P(collapse) over the sampler's coordinates and the plateau the collapsed runs give.

    Attributes:
        model: the Firth logistic regression on the unit coordinates (`x0`, `x1`, ...).
        plateau: `(n_objectives,)` mean of the collapsed runs' (minimised) values.
    """

    model: CollapseModel
    plateau: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, collapsed: np.ndarray, values: np.ndarray) -> CollapsePart:
        """Fit on unit inputs `x` (`(n, d)`), the collapse mask and the values (`(n, k)`)."""
        factors = [_unit_factor(i, x[:, i]) for i in range(x.shape[1])]
        plateau = values[collapsed].mean(axis=0)
        model = fit_collapse(factors, _frame(x), collapsed, float(plateau[0]), "column")
        return cls(model, plateau)

    def probability(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P(collapse), its delta-method standard error) at each row of `x`."""
        return self.model.probability(_frame(x))

    def sample_probability(
        self, x: np.ndarray, rng: np.random.Generator, n_draws: int, spread: float
    ) -> np.ndarray:
        """`(n_draws, n_points)` probabilities, the coefficients' deviations scaled by
        `spread` (as the surfaces' draws are)."""
        tempered = replace(self.model, cov=self.model.cov * spread**2)
        return tempered.sample_probability(_frame(x), rng, n_draws)


def mixture_predict(
    surfaces: BayesianQuadratic, part: CollapsePart | None, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the expected value (`(n, k)` each); the surfaces alone
    without a collapse part. The SD is the delta method on both (independently fitted) parts:
    sd^2 = (1 - p)^2 sd_m^2 + (m - plateau)^2 se_p^2."""
    mean, sd = surfaces.predict(x)
    if part is None:
        return mean, sd
    p, p_se = (a[:, None] for a in part.probability(x))
    mixed = p * part.plateau + (1.0 - p) * mean
    var = (1.0 - p) ** 2 * sd**2 + (mean - part.plateau) ** 2 * p_se**2
    return mixed, np.sqrt(var)


def mixture_sample(
    surfaces: BayesianQuadratic,
    part: CollapsePart | None,
    x: np.ndarray,
    rng: np.random.Generator,
    n_draws: int,
    spread: float,
) -> np.ndarray:
    """`(n_draws, n_points, n_objectives)` draws of the expected value."""
    draws = surfaces.sample(x, rng, n_draws, spread=spread)
    if part is None:
        return draws
    p = part.sample_probability(x, rng, n_draws, spread)[:, :, None]
    return np.asarray(p * part.plateau + (1.0 - p) * draws, dtype=float)


def _unit_factor(i: int, column: np.ndarray) -> Factor:
    """The sampler's coordinate `i` as a surface factor: already coded, so identity."""
    name = f"x{i}"
    low, high = float(column.min()), float(column.max())
    levels = int(np.unique(column).size)
    return Factor(name, name, "identity", name, low, high, levels, 0.0, 1.0)


def _frame(x: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(np.asarray(x, dtype=float), columns=[f"x{i}" for i in range(x.shape[1])])
