"""Where a fine-tune is expected to train rather than collapse: the surface sampler's start-up
draws its first configurations there.

Measured on advisor's benchmark tables (MiniLM on SST-2; 29 tables, 1080 configurations,
`benchmarks/collapse_regularity.py`), collapse is regular in the learning rate times the number
of optimizer steps (train size x epochs / batch size):

- below 2e-3, 53-59% of the configurations collapse, and 30% from 2e-3 to 3e-3;
- from 3e-3 to 3e-2, 2-3% (4 of 423 at learning rates up to 4e-4);
- above 3e-2 with a learning rate over 4e-4, 70-100%.

A random start-up on a box like these spends about half its runs on configurations that teach
the surfaces nothing about the front; one drawn inside the window does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

# What the window reads of a configuration.
WINDOW_PARAMS: tuple[str, ...] = ("learning_rate", "batch_size", "epochs")


class StartupRule(Protocol):
    """Which configurations a start-up may draw: `SurfaceSampler(startup_window=...)`."""

    def trains(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Mask of the rows (the sampler's parameters) expected to train."""
        ...

    def describe(self) -> str:
        """The rule in words, for the sampler's decision reason."""
        ...


@dataclass(frozen=True)
class TrainingWindow:
    """Configurations whose learning rate x optimizer steps lies in [`low`, `high`], the upper
    bound applying only above a learning rate of `cap_above` (below it, long runs train).

    Args:
        train_size: training examples per epoch (the steps are `train_size x epochs / batch`).
        low, high, cap_above: the window's bounds (defaults: as measured, module docstring).
        fixed: values of the window's parameters that the study does not search (for example
            `{"epochs": 3}`); a row that lacks one of them is not judged (counted as training).
    """

    train_size: float
    low: float = 3e-3
    high: float = 3e-2
    cap_above: float = 4e-4
    fixed: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.train_size > 0:
            raise ValueError(f"train_size must be positive, got {self.train_size}")
        if not 0 < self.low < self.high:
            raise ValueError(f"need 0 < low < high, got {self.low}, {self.high}")

    def lr_steps(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Learning rate x optimizer steps of each row (NaN where a parameter is unknown)."""
        return self._lr_steps(self._values(rows))

    def trains(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        values = self._values(rows)
        lr, product = values[:, 0], self._lr_steps(values)
        inside = (product >= self.low) & ((lr <= self.cap_above) | (product <= self.high))
        return inside | np.isnan(product)

    def _lr_steps(self, values: np.ndarray) -> np.ndarray:
        lr, batch, epochs = values.T
        return lr * self.train_size * epochs / batch

    def _values(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """`(n, 3)` learning rate, batch size and epochs of each row (NaN where unknown)."""
        values = np.full((len(rows), len(WINDOW_PARAMS)), np.nan)
        for i, row in enumerate(rows):
            for j, name in enumerate(WINDOW_PARAMS):
                value = row.get(name, self.fixed.get(name))
                if value is not None:
                    values[i, j] = float(value)
        return values

    def describe(self) -> str:
        return (
            f"learning rate x optimizer steps at least {self.low:g}, and at most {self.high:g} "
            f"above a learning rate of {self.cap_above:g} ({self.train_size:g} training "
            "examples per epoch)"
        )
