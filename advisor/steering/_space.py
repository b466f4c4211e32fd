"""Numeric search spaces: scaling to [-1, 1], candidate sets, snapping to allowed values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

_LEVELS_PER_FLOAT = 17
_MAX_INT_LEVELS = 16


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def supports(distribution: BaseDistribution) -> bool:
    """Whether the sampler can model a parameter with this distribution."""
    if isinstance(distribution, (FloatDistribution, IntDistribution)):
        return not distribution.single()
    if isinstance(distribution, CategoricalDistribution):
        return len(distribution.choices) > 1 and all(_is_number(c) for c in distribution.choices)
    return False


@dataclass(frozen=True)
class Dimension:
    """One numeric parameter: its distribution, scale (log or not) and allowed values."""

    name: str
    distribution: BaseDistribution
    log: bool

    @property
    def levels(self) -> np.ndarray | None:
        """Allowed raw values when finitely many are worth listing, else None (continuous)."""
        dist = self.distribution
        if isinstance(dist, CategoricalDistribution):
            return np.sort(np.asarray(dist.choices, dtype=float))
        if isinstance(dist, IntDistribution):
            count = (dist.high - dist.low) // dist.step + 1
            if count <= _MAX_INT_LEVELS:
                return np.arange(dist.low, dist.high + 1, dist.step, dtype=float)
        return None

    def bounds(self) -> tuple[float, float]:
        """Transformed (low, high)."""
        dist = self.distribution
        if isinstance(dist, CategoricalDistribution):
            values = self.transform(np.asarray(dist.choices, dtype=float))
            return float(values.min()), float(values.max())
        assert isinstance(dist, (FloatDistribution, IntDistribution))
        low, high = self.transform(np.array([dist.low, dist.high], dtype=float))
        return float(low), float(high)

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Raw values -> modelling scale (log10 for log parameters)."""
        raw = np.asarray(raw, dtype=float)
        return np.log10(np.clip(raw, 1e-300, None)) if self.log else raw

    def untransform(self, scaled: np.ndarray) -> np.ndarray:
        return 10.0 ** np.asarray(scaled) if self.log else np.asarray(scaled, dtype=float)

    def snap(self, raw: np.ndarray) -> np.ndarray:
        """Nearest allowed raw values (nearest on the modelling scale)."""
        raw = np.asarray(raw, dtype=float)
        dist = self.distribution
        levels = self.levels
        if levels is not None:
            idx = np.abs(self.transform(raw)[:, None] - self.transform(levels)[None, :]).argmin(1)
            return levels[idx]
        assert isinstance(dist, (FloatDistribution, IntDistribution))
        low, high = float(dist.low), float(dist.high)
        step = dist.step
        if step:
            raw = low + np.round((raw - low) / step) * step
        return np.clip(raw, low, high)

    def grid(self) -> np.ndarray:
        """A set of raw values spread over the range (all values when few)."""
        levels = self.levels
        if levels is not None:
            return levels
        low, high = self.bounds()
        return np.unique(self.snap(self.untransform(np.linspace(low, high, _LEVELS_PER_FLOAT))))

    def to_param(self, raw: float) -> Any:
        """A raw value -> the Python value Optuna expects for this distribution."""
        dist = self.distribution
        if isinstance(dist, CategoricalDistribution):
            numbers = np.asarray(dist.choices, dtype=float)
            return dist.choices[int(np.abs(numbers - raw).argmin())]
        if isinstance(dist, IntDistribution):
            return int(round(raw))
        return float(raw)

    def contains(self, raw: float) -> bool:
        dist = self.distribution
        try:
            return bool(dist._contains(dist.to_internal_repr(self.to_param(raw))))
        except (ValueError, TypeError):
            return False


def _log_scale(name: str, dist: BaseDistribution, log_params: Sequence[str]) -> bool:
    if getattr(dist, "log", False):
        return True
    if name not in log_params:
        return False
    if isinstance(dist, CategoricalDistribution):
        return min(float(cast(float, c)) for c in dist.choices) > 0
    return isinstance(dist, (FloatDistribution, IntDistribution)) and dist.low > 0


class Space:
    """The numeric parameters a sampler models, scaled to [-1, 1] by their ranges."""

    def __init__(self, distributions: Mapping[str, BaseDistribution], log_params: Sequence[str]):
        self.dims = [
            Dimension(name, dist, _log_scale(name, dist, log_params))
            for name, dist in sorted(distributions.items())
            if supports(dist)
        ]
        self.names = [dim.name for dim in self.dims]
        bounds = np.array([dim.bounds() for dim in self.dims]).reshape(-1, 2)
        self._low, self._span = bounds[:, 0], np.maximum(bounds[:, 1] - bounds[:, 0], 1e-12)

    def raw_matrix(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """`(n, d)` raw values of the modelled parameters, NaN where a row lacks one."""
        out = np.full((len(rows), len(self.dims)), np.nan)
        for j, name in enumerate(self.names):
            column = [row.get(name) for row in rows]
            try:
                out[:, j] = np.array(column, dtype=float)
            except (TypeError, ValueError):  # a missing or non-numeric value somewhere
                out[:, j] = [float(cast(float, v)) if _is_number(v) else np.nan for v in column]
        return out

    def to_unit(self, raw: np.ndarray) -> np.ndarray:
        """Raw values -> the modelling scale stretched so that each range is [-1, 1]."""
        scaled = np.column_stack([d.transform(raw[:, j]) for j, d in enumerate(self.dims)])
        return 2.0 * (scaled - self._low) / self._span - 1.0

    def keys(self, raw: np.ndarray) -> list[bytes]:
        """Hashable identities of configurations (equal after snapping to 9 decimals)."""
        return [row.tobytes() for row in np.round(self.to_unit(raw), 9) + 0.0]

    def contained(self, raw: np.ndarray) -> np.ndarray:
        """Mask of rows whose every value lies in its distribution."""
        return np.array(
            [all(d.contains(v) for d, v in zip(self.dims, row, strict=True)) for row in raw],
            dtype=bool,
        ).reshape(raw.shape[0])

    def generate(self, max_candidates: int, seed: int) -> np.ndarray:
        """A candidate set: the full grid of per-parameter values, or a Sobol set when larger."""
        grids = [dim.grid() for dim in self.dims]
        if np.prod([g.size for g in grids], dtype=float) <= max_candidates:
            mesh = np.meshgrid(*grids, indexing="ij")
            return np.column_stack([m.ravel() for m in mesh])
        from scipy.stats import qmc

        unit = qmc.Sobol(len(self.dims), scramble=True, seed=seed).random(max_candidates)
        raw = np.column_stack(
            [
                dim.snap(dim.untransform(self._low[j] + unit[:, j] * self._span[j]))
                for j, dim in enumerate(self.dims)
            ]
        )
        return np.unique(raw, axis=0)

    def to_params(self, raw_row: np.ndarray) -> dict[str, Any]:
        """One raw configuration -> `{name: value}` in the types Optuna expects."""
        return {d.name: d.to_param(v) for d, v in zip(self.dims, raw_row, strict=True)}
