"""Surface priors: the usual shape of a fine-tune grid's surfaces, learned from earlier grids."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from advisor.steering._surrogate import BayesianQuadratic, term_names

# The prior shipped with advisor (see benchmarks/learn_prior.py for how it is made).
FINETUNE_PRIOR = "finetune"


@dataclass(frozen=True)
class SurfacePrior:
    """Prior means of the quadratic surfaces' coefficients, per objective, by parameter name.

    A coefficient is the effect of one term of the quadratic (`"epochs"`, `"learning_rate^2"`,
    `"epochs*learning_rate"`) on an objective turned into minimisation, in standard deviations
    of that objective, with each parameter's range scaled to [-1, 1] (log scale for learning
    rate and batch size): the shape of the surfaces over the box searched, averaged over the
    grids the prior was learned from. `SurfaceSampler` starts its surfaces from these means
    instead of a flat or bowl-shaped prior, and the trials move them; terms and objectives the
    prior does not name keep the sampler's default.

    Attributes:
        coefficients: objective name -> term name -> coefficient.
        directions: objective name -> "minimize" or "maximize", the direction the coefficients
            were learned for (a study going the other way gets them negated).
        source: what the prior was learned from (shown in reports).
    """

    coefficients: Mapping[str, Mapping[str, float]]
    directions: Mapping[str, str]
    source: str = ""
    # Alternative parameter names -> the names the coefficients use.
    aliases: Mapping[str, str] = field(default_factory=dict)

    def means(
        self,
        param_names: Sequence[str],
        objectives: Sequence[tuple[str, str]],
        degree: int = 2,
    ) -> np.ndarray:
        """`(n_objectives, n_terms)` prior means for a surface on `param_names` (the columns of
        `quadratic_features`), NaN where the prior says nothing.

        Args:
            param_names: the modelled parameters, in the surface's input order.
            objectives: (metric name, direction) of each objective; a relative metric
                (`f1_rel`) takes its absolute metric's coefficients (same shape, shifted).
        """
        names = [self.aliases.get(n, n) for n in param_names]
        terms = term_names(names, degree)
        out = np.full((len(objectives), len(terms)), np.nan)
        for row, (metric, direction) in enumerate(objectives):
            known = self._metric(metric)
            if known is None:
                continue
            sign = 1.0 if self.directions[known] == direction.lower() else -1.0
            for col, term in enumerate(terms):
                value = self.coefficients[known].get(term)
                if value is not None:
                    out[row, col] = sign * value
        return out

    def _metric(self, metric: str) -> str | None:
        for name in (metric, metric.removesuffix("_rel")):
            if name in self.coefficients:
                return name
        return None

    def renamed(self, aliases: Mapping[str, str]) -> SurfacePrior:
        """The same prior answering to other parameter names too (`{"lr_level": "lr"}`)."""
        return SurfacePrior(
            self.coefficients, self.directions, self.source, {**self.aliases, **aliases}
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "source": self.source,
            "directions": dict(self.directions),
            "coefficients": {k: dict(v) for k, v in self.coefficients.items()},
        }
        if self.aliases:
            data["aliases"] = dict(self.aliases)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SurfacePrior:
        try:
            coefficients = {
                str(k): {str(t): float(c) for t, c in v.items()}
                for k, v in data["coefficients"].items()
            }
            directions = {str(k): str(v).lower() for k, v in data["directions"].items()}
            aliases = {str(k): str(v) for k, v in data.get("aliases", {}).items()}
        except (KeyError, AttributeError, TypeError, ValueError) as exc:
            raise ValueError(f"not a surface prior: {exc}") from exc
        missing = sorted(set(coefficients) - set(directions))
        if missing or any(d not in ("minimize", "maximize") for d in directions.values()):
            raise ValueError(
                "a surface prior needs a direction (minimize/maximize) for every objective"
            )
        return cls(coefficients, directions, str(data.get("source", "")), aliases)

    @classmethod
    def load(cls, path: str | Path) -> SurfacePrior:
        """A prior saved as JSON (`to_dict`)."""
        return cls.from_dict(json.loads(Path(path).read_text()))


@cache
def finetune_prior() -> SurfacePrior:
    """The prior shipped with advisor, learned from its benchmark tables of real fine-tunes
    (learning_rate, batch_size, epochs; accuracy, f1, loss)."""
    text = resources.files("advisor.steering").joinpath("priors/finetune.json").read_text()
    return SurfacePrior.from_dict(json.loads(text))


def fit_surface_prior(
    grids: Sequence[tuple[np.ndarray, np.ndarray]],
    param_names: Sequence[str],
    objectives: Sequence[tuple[str, str]],
    focus: float | None = 0.7,
    source: str = "",
) -> SurfacePrior:
    """Average the whole-grid quadratic surfaces of several grids into a prior.

    Each grid is fitted as the sampler fits its trials (objectives turned into minimisation,
    values worse than the `focus` quantile capped there, standardised), with a plain Bayesian
    quadratic, and the per-term coefficients are averaged over the grids.

    Args:
        grids: per grid, `(x, values)`: `(n, d)` inputs scaled to [-1, 1] (the columns in
            `param_names` order) and `(n, k)` objective values (one row per configuration).
        param_names: the inputs' parameter names.
        objectives: (metric name, direction) of each column of the values.
    """
    if not grids:
        raise ValueError("a surface prior needs at least one grid")
    signs = np.array([1.0 if d.lower() == "minimize" else -1.0 for _, d in objectives])
    terms = term_names(list(param_names))
    per_grid = []
    for x, values in grids:
        y = np.asarray(values, dtype=float) * signs
        if focus is not None:
            y = np.minimum(y, np.quantile(y, focus, axis=0))
        model = BayesianQuadratic().fit(np.asarray(x, dtype=float), y)
        per_grid.append(model.coef_ * np.sqrt(model.weights_))
    mean = np.mean(per_grid, axis=0)
    return SurfacePrior(
        {
            name: {t: round(float(c), 4) for t, c in zip(terms, mean[j], strict=True)}
            for j, (name, _) in enumerate(objectives)
        },
        {name: direction.lower() for name, direction in objectives},
        source,
    )
