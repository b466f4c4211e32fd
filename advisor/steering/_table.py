"""A finite table of configurations as an ordinal Optuna search space (used by the benchmark)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from optuna.distributions import IntDistribution

from advisor.steering._prior import SurfacePrior
from advisor.steering._window import StartupRule
from advisor.table import PARAMS


class TableSpace:
    """Each parameter's distinct table values, searched as integer level indices.

    A parameter with `L` distinct values becomes `IntDistribution(0, L - 1)` named
    `"<param>_level"` (level `i` is the `i`-th smallest value); one with a single value is left out.
    Every sampler therefore searches an ordinal grid holding exactly the table's values, with no
    rounding between what it proposes and what is measured. For a grid whose values are evenly
    spaced on the modelling scale (log-spaced learning rates, doubling batch sizes, consecutive
    epochs) the level index is that scale. A level combination the table lacks (a non-factorial
    table) is answered by the configuration nearest in level steps.

    Args:
        configs: `(n_configs, n_params)` parameter values, one row per configuration.
        names: the parameter names of the columns.
    """

    def __init__(self, configs: np.ndarray, names: Sequence[str] = PARAMS) -> None:
        configs = np.asarray(configs, dtype=float)
        self.names = list(names)
        self.levels = [np.unique(configs[:, j]) for j in range(configs.shape[1])]
        self.codes = np.column_stack(
            [np.searchsorted(levels, configs[:, j]) for j, levels in enumerate(self.levels)]
        )
        self._rows = {tuple(code): i for i, code in enumerate(self.codes)}
        self._searched = [j for j, levels in enumerate(self.levels) if levels.size > 1]

    @property
    def distributions(self) -> dict[str, IntDistribution]:
        """The Optuna search space: one integer level per parameter that varies."""
        return {
            f"{self.names[j]}_level": IntDistribution(0, self.levels[j].size - 1)
            for j in self._searched
        }

    def candidates(self) -> list[dict[str, int]]:
        """Every configuration of the table in level coordinates."""
        return [
            {f"{self.names[j]}_level": int(code[j]) for j in self._searched} for code in self.codes
        ]

    def lookup(self, params: dict[str, Any]) -> int:
        """Row of the configuration with these levels (else the nearest one in level steps)."""
        code = self.codes[0].copy()
        for j in self._searched:
            code[j] = int(params[f"{self.names[j]}_level"])
        row = self._rows.get(tuple(code))
        if row is not None:
            return row
        return int(np.abs(self.codes - code).sum(axis=1).argmin())

    def level_prior(self, prior: SurfacePrior) -> SurfacePrior:
        """`prior` for this space's level-coded parameters: each `<param>_level` answers to the
        prior's `<param>`, and an absolute prior learns the values behind the levels (it treats
        them as evenly spaced on its coordinates, as log-spaced or doubling grids are)."""
        names = {f"{self.names[j]}_level": self.names[j] for j in self._searched}
        levels = {f"{self.names[j]}_level": self.levels[j].tolist() for j in self._searched}
        return prior.renamed(names).on_levels(levels)

    def values(self, params: Mapping[str, Any]) -> dict[str, float]:
        """The parameter values behind a row of levels (a parameter with one value: that value;
        a level the row lacks: left out)."""
        out = {}
        for j, name in enumerate(self.names):
            level = params.get(f"{name}_level", 0 if j not in self._searched else None)
            if level is not None:
                out[name] = float(self.levels[j][int(level)])
        return out

    def level_window(self, window: StartupRule) -> StartupRule:
        """`window` (a rule on parameter values) for this space's level-coded rows."""
        return _LevelWindow(window, self)


class _LevelWindow:
    """A start-up rule that judges level-coded rows by the values behind their levels."""

    def __init__(self, window: StartupRule, space: TableSpace) -> None:
        self.window, self.space = window, space

    def trains(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return self.window.trains([self.space.values(row) for row in rows])

    def describe(self) -> str:
        return self.window.describe()
