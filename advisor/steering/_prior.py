"""Surface priors: the usual shape of a fine-tune grid's surfaces, learned from earlier grids.

A prior is a quadratic per objective. Version 2 priors (the shipped one) are written in absolute
coordinates (log10 learning rate, log2 batch size, epochs, each measured from an origin), so
they say where good configurations lie whatever range a study searches: for each study the
quadratic is re-expressed on that study's box scaled to [-1, 1] (an affine map, under which a
quadratic stays a quadratic). Version 1 priors are written directly in box coordinates.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from advisor.steering._surrogate import BayesianQuadratic, quadratic_features, term_names

# The prior shipped with advisor (see benchmarks/learn_prior.py for how it is made).
FINETUNE_PRIOR = "finetune"

_SCALES = ("log10", "log2", "linear")


@dataclass(frozen=True)
class Coordinate:
    """How a parameter enters an absolute prior: `scale(value) - scale(origin)`."""

    scale: str
    origin: float

    def __post_init__(self) -> None:
        if self.scale not in _SCALES:
            raise ValueError(f"a coordinate's scale is one of {', '.join(_SCALES)}: {self.scale}")
        if self.log and not self.origin > 0:
            raise ValueError(f"a {self.scale} coordinate needs a positive origin")

    @property
    def log(self) -> bool:
        return self.scale != "linear"

    def __call__(self, raw: float) -> float:
        if self.scale == "linear":
            return float(raw) - self.origin
        log = math.log10 if self.scale == "log10" else math.log2
        return log(float(raw)) - log(self.origin)


# The coordinates of the shipped prior: learning rate in decades from 1e-4, batch size in
# doublings from 16, epochs from 2.
FINETUNE_COORDINATES: dict[str, Coordinate] = {
    "learning_rate": Coordinate("log10", 1e-4),
    "batch_size": Coordinate("log2", 16.0),
    "epochs": Coordinate("linear", 2.0),
}

# A parameter's searched range as the sampler scales it: the raw values at the -1 and +1 ends
# of its box coordinate, and whether that coordinate is affine in log(value) (else in value).
Range = tuple[float, float, bool]


@dataclass(frozen=True)
class SurfacePrior:
    """Prior means of the quadratic surfaces' coefficients, per objective, by parameter name.

    A coefficient is the effect of one term of the quadratic (`"epochs"`, `"learning_rate^2"`,
    `"epochs*learning_rate"`) on an objective turned into minimisation, in standard deviations
    of that objective over a grid. With `coordinates` (version 2) the terms are in those
    absolute coordinates and `means` re-expresses them on each study's box; without (version
    1) they are in box coordinates (each range scaled to [-1, 1], log scale for learning rate
    and batch size), the shape over whatever box is searched. `SurfaceSampler` starts its
    surfaces from these means (weighted by how well they predict the trials) instead of a
    bowl-shaped prior; terms and objectives the prior does not name keep the sampler's default.

    Attributes:
        coefficients: objective name -> term name -> coefficient.
        directions: objective name -> "minimize" or "maximize", the direction the coefficients
            were learned for (a study going the other way gets them negated).
        source: what the prior was learned from (shown in reports).
        aliases: alternative parameter names -> the names the coefficients use.
        coordinates: parameter name -> its absolute `Coordinate` (None: a box prior).
        levels: parameter names searched as level indices (0, 1, ...: the benchmark's
            `TableSpace`) -> the values of their levels, so an absolute prior can place them.
    """

    coefficients: Mapping[str, Mapping[str, float]]
    directions: Mapping[str, str]
    source: str = ""
    aliases: Mapping[str, str] = field(default_factory=dict)
    coordinates: Mapping[str, Coordinate] | None = None
    levels: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    @property
    def version(self) -> int:
        return 1 if self.coordinates is None else 2

    def means(
        self,
        param_names: Sequence[str],
        objectives: Sequence[tuple[str, str]],
        degree: int = 2,
        ranges: Mapping[str, Range] | None = None,
    ) -> np.ndarray:
        """`(n_objectives, n_terms)` prior means for a surface on `param_names` (the columns of
        `quadratic_features`, in box coordinates), NaN where the prior says nothing.

        Args:
            param_names: the modelled parameters, in the surface's input order.
            objectives: (metric name, direction) of each objective; a relative metric
                (`f1_rel`) takes its absolute metric's coefficients (same shape, shifted).
            degree: the surface's degree (1 or 2).
            ranges: per parameter, its searched `Range`: needed by an absolute prior, which
                says nothing about a parameter without one (or whose box coordinate is not
                affine in the prior's coordinate).
        """
        names = [self.aliases.get(n, n) for n in param_names]
        terms = term_names(names, degree)
        out = np.full((len(objectives), len(terms)), np.nan)
        boxes = None
        if self.coordinates is not None:
            boxes = [self._box(p, ranges or {}) for p in param_names]
        for row, (metric, direction) in enumerate(objectives):
            known = self._metric(metric)
            if known is None:
                continue
            sign = 1.0 if self.directions[known] == direction.lower() else -1.0
            coefficients = self.coefficients[known]
            if boxes is not None:
                coefficients = _in_box(coefficients, names, boxes, degree)
            for col, term in enumerate(terms):
                value = coefficients.get(term)
                if value is not None:
                    out[row, col] = sign * value
        return out

    def _box(self, name: str, ranges: Mapping[str, Range]) -> tuple[float, float] | None:
        """(centre, half-width) of a parameter's range in the prior's absolute coordinate."""
        assert self.coordinates is not None
        canonical = self.aliases.get(name, name)
        coordinate = self.coordinates.get(canonical)
        if coordinate is None or name not in ranges:
            return None
        low, high, log = ranges[name]
        if name in self.levels:  # level indices, evenly spaced on the prior's scale
            values = self.levels[name]
            if log or not 0 <= round(low) <= round(high) < len(values):
                return None
            low, high = values[round(low)], values[round(high)]
        elif log != coordinate.log:
            return None  # the box is not an affine image of the prior's coordinate
        if coordinate.log and min(low, high) <= 0:
            return None
        u_low, u_high = coordinate(low), coordinate(high)
        return (u_low + u_high) / 2.0, (u_high - u_low) / 2.0

    def _metric(self, metric: str) -> str | None:
        for name in (metric, metric.removesuffix("_rel")):
            if name in self.coefficients:
                return name
        return None

    def renamed(self, aliases: Mapping[str, str]) -> SurfacePrior:
        """The same prior answering to other parameter names too (`{"lr_level": "lr"}`)."""
        return replace(self, aliases={**self.aliases, **aliases})

    def on_levels(self, levels: Mapping[str, Sequence[float]]) -> SurfacePrior:
        """The same prior for parameters searched as level indices: `levels` maps each such
        name (an alias of the prior's name, see `renamed`) to the values of its levels."""
        fixed = {k: tuple(float(v) for v in values) for k, values in levels.items()}
        return replace(self, levels={**self.levels, **fixed})

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.coordinates is not None:
            data["version"] = 2
            data["coordinates"] = {
                k: {"scale": c.scale, "origin": c.origin} for k, c in self.coordinates.items()
            }
        data |= {
            "source": self.source,
            "directions": dict(self.directions),
            "coefficients": {k: dict(v) for k, v in self.coefficients.items()},
        }
        if self.aliases:
            data["aliases"] = dict(self.aliases)
        if self.levels:
            data["levels"] = {k: list(v) for k, v in self.levels.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SurfacePrior:
        """A prior from `to_dict`'s JSON: version 2 (absolute coordinates) or 1 (box
        coordinates; what advisor wrote before version 2, read as before)."""
        try:
            version = int(data.get("version", 1))
            coefficients = {
                str(k): {str(t): float(c) for t, c in v.items()}
                for k, v in data["coefficients"].items()
            }
            directions = {str(k): str(v).lower() for k, v in data["directions"].items()}
            aliases = {str(k): str(v) for k, v in data.get("aliases", {}).items()}
            levels = {str(k): tuple(float(x) for x in v) for k, v in data.get("levels", {}).items()}
            coordinates = None
            if version == 2:
                coordinates = {
                    str(k): Coordinate(str(c["scale"]), float(c["origin"]))
                    for k, c in data["coordinates"].items()
                }
        except (KeyError, AttributeError, TypeError, ValueError) as exc:
            raise ValueError(f"not a surface prior: {exc}") from exc
        if version not in (1, 2):
            raise ValueError(f"not a surface prior: unknown version {version}")
        missing = sorted(set(coefficients) - set(directions))
        if missing or any(d not in ("minimize", "maximize") for d in directions.values()):
            raise ValueError(
                "a surface prior needs a direction (minimize/maximize) for every objective"
            )
        return cls(
            coefficients, directions, str(data.get("source", "")), aliases, coordinates, levels
        )

    @classmethod
    def load(cls, path: str | Path) -> SurfacePrior:
        """A prior saved as JSON (`to_dict`)."""
        return cls.from_dict(json.loads(Path(path).read_text()))


def _in_box(
    coefficients: Mapping[str, float],
    names: Sequence[str],
    boxes: Sequence[tuple[float, float] | None],
    degree: int,
) -> dict[str, float]:
    """An absolute quadratic's coefficients re-expressed in box coordinates.

    With `u_i = c_i + h_i x_i`, `f(u) = sum b_i u_i + sum b_ij u_i u_j` is, up to a constant,
    the quadratic in `x` with linear terms `h_i (b_i + 2 b_ii c_i + sum_j b_ij c_j)`, squares
    `b_ii h_i^2` and interactions `b_ij h_i h_j`. A parameter without a box gets no terms (and
    is taken to sit at the origin in the others' linear terms).
    """

    def b(i: int, j: int | None = None) -> float:
        if j is None:
            return coefficients.get(names[i], 0.0)
        first, second = sorted((names[i], names[j]))
        return coefficients.get(f"{first}^2" if i == j else f"{first}*{second}", 0.0)

    placed = {i: box for i, box in enumerate(boxes) if box is not None}
    out: dict[str, float] = {}
    for i, (centre, half) in placed.items():
        slope = b(i)
        if degree >= 2:
            slope += 2.0 * b(i, i) * centre
            slope += sum(b(i, j) * placed[j][0] for j in placed if j != i)
        out[names[i]] = half * slope
    if degree >= 2:
        for i in placed:
            for j in placed:
                if j < i:
                    continue
                first, second = sorted((names[i], names[j]))
                term = f"{first}^2" if i == j else f"{first}*{second}"
                out[term] = b(i, j) * placed[i][1] * placed[j][1]
    return out


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


def fit_absolute_prior(
    grids: Sequence[tuple[np.ndarray, np.ndarray]],
    param_names: Sequence[str],
    objectives: Sequence[tuple[str, str]],
    coordinates: Mapping[str, Coordinate] | None = None,
    focus: float | None = 0.7,
    ridge: float = 0.01,
    source: str = "",
) -> SurfacePrior:
    """One quadratic in absolute coordinates through several grids at once (a version 2 prior).

    Each grid's objectives are turned into minimisation, capped at its `focus` quantile (as the
    sampler caps its trials) and standardised; the grids are then fitted together by ridge
    least squares on the quadratic terms of the absolute coordinates, with an intercept per
    grid and each grid weighted equally. Where the grids' boxes differ, the pooled surface
    places the optimum where the grids measured it rather than averaging the boxes' shapes.

    Args:
        grids: per grid, `(raw, values)`: `(n, d)` parameter values (columns in `param_names`
            order, e.g. learning rates as they are, not logged) and `(n, k)` objective values.
        param_names: the parameters' names (each needs a coordinate).
        objectives: (metric name, direction) of each column of the values.
        coordinates: name -> `Coordinate` (default: the shipped prior's).
        ridge: penalty on the coefficients, relative to the (grid-weighted) mean square of
            the terms.
    """
    if not grids:
        raise ValueError("a surface prior needs at least one grid")
    coordinates = dict(coordinates or FINETUNE_COORDINATES)
    missing = [n for n in param_names if n not in coordinates]
    if missing:
        raise ValueError(f"no absolute coordinate for {', '.join(missing)}")
    signs = np.array([1.0 if d.lower() == "minimize" else -1.0 for _, d in objectives])
    rows, targets, weights = [], [], []
    for raw, values in grids:
        raw = np.asarray(raw, dtype=float)
        u = np.column_stack(
            [[coordinates[n](v) for v in raw[:, j]] for j, n in enumerate(param_names)]
        )
        phi, _ = quadratic_features(u)
        y = np.asarray(values, dtype=float).reshape(raw.shape[0], -1) * signs
        if focus is not None:
            y = np.minimum(y, np.quantile(y, focus, axis=0))
        scale = y.std(axis=0)
        y = (y - y.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
        rows.append(phi - phi.mean(axis=0))  # the grid's own intercept
        targets.append(y)
        weights.append(np.full(raw.shape[0], 1.0 / (raw.shape[0] * len(grids))))
    phi, y, w = np.vstack(rows), np.vstack(targets), np.concatenate(weights)
    gram = (phi * w[:, None]).T @ phi
    gram += ridge * np.mean(np.diag(gram)) * np.eye(phi.shape[1])
    coef = np.linalg.solve(gram, (phi * w[:, None]).T @ y).T
    terms = term_names(list(param_names))
    return SurfacePrior(
        {
            name: {t: round(float(c), 4) for t, c in zip(terms, coef[j], strict=True)}
            for j, (name, _) in enumerate(objectives)
        },
        {name: direction.lower() for name, direction in objectives},
        source,
        coordinates={n: coordinates[n] for n in param_names},
    )


# Fewest distinct configurations a prior is learned from: the quadratic's nine terms and an
# intercept.
MIN_PRIOR_CONFIGURATIONS = 10


def prior_from_rows(rows: Any, source: str = "") -> SurfacePrior:
    """A version 2 prior from one study's trials (a `TrialsTable.rows`-like DataFrame: columns
    learning_rate, batch_size, epochs and any of accuracy, f1, loss), its configurations'
    mean metrics fitted as `fit_absolute_prior` fits a benchmark table.

    Raises:
        ValueError: no metric, or fewer than `MIN_PRIOR_CONFIGURATIONS` configurations.
    """
    params = ["learning_rate", "batch_size", "epochs"]
    directions = {"accuracy": "maximize", "f1": "maximize", "loss": "minimize"}
    metrics = [m for m in directions if m in rows.columns and rows[m].notna().any()]
    if not metrics:
        raise ValueError("a prior needs trials with accuracy, f1 or loss")
    usable = rows.dropna(subset=[*params, *metrics])
    means = usable.groupby(params, sort=True)[metrics].mean().reset_index()
    if len(means) < MIN_PRIOR_CONFIGURATIONS:
        raise ValueError(
            f"a prior needs at least {MIN_PRIOR_CONFIGURATIONS} distinct finished "
            f"configurations with {', '.join(metrics)}; got {len(means)}"
        )
    grid = (means[params].to_numpy(dtype=float), means[metrics].to_numpy(dtype=float))
    return fit_absolute_prior([grid], params, [(m, directions[m]) for m in metrics], source=source)
