"""A joint pick over several metrics by desirability (Derringer and Suich 1980); pure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from advisor.table import PARAMS

LEARNING_RATE_POINTS = 25


class Named(Protocol):
    """An objective: a metric name and `maximize` or `minimize`."""

    @property
    def name(self) -> str: ...

    @property
    def direction(self) -> str: ...


def desirability_pick(
    predictions: dict[str, pd.DataFrame], objectives: Sequence[Named], candidates: pd.DataFrame
) -> dict[str, Any]:
    """The candidate with the highest overall desirability D (Derringer and Suich 1980).

    Each objective's predicted mean y maps linearly to d in [0, 1] between the worst (d = 0)
    and the best (d = 1) predicted mean over the candidates; D is the geometric mean of the
    d's, so a configuration is only desirable when it is acceptable on every objective.
    """
    ds = []
    for o in objectives:
        mean = predictions[o.name]["mean"].to_numpy()
        low, high = float(mean.min()), float(mean.max())
        span = high - low if high > low else 1.0
        d = (mean - low) / span if o.direction == "maximize" else (high - mean) / span
        ds.append(np.clip(d, 0.0, 1.0))
    overall = np.prod(np.column_stack(ds), axis=1) ** (1.0 / len(ds))
    i = int(np.argmax(overall))
    return {
        "params": _params(candidates.iloc[i]),
        "D": float(overall[i]),
        "predicted": {
            o.name: {
                "mean": float(predictions[o.name]["mean"].iloc[i]),
                "lower": float(predictions[o.name]["mean_lower"].iloc[i]),
                "upper": float(predictions[o.name]["mean_upper"].iloc[i]),
                "d": float(d[i]),
            }
            for o, d in zip(objectives, ds, strict=True)
        },
    }


def _params(row: pd.Series) -> dict[str, Any]:
    return {
        "learning_rate": float(row["learning_rate"]),
        "batch_size": int(round(float(row["batch_size"]))),
        "epochs": int(round(float(row["epochs"]))),
    }


def fitted_range_grid(factors: Sequence[Any]) -> pd.DataFrame:
    """Candidates over the tried ranges of fitted factors: log-spaced learning rates, powers of
    two (and the ends) for batch size, whole epochs."""
    axes = {}
    for f in factors:
        low, high = f.to_param(f.low), f.to_param(f.high)
        if f.param == "learning_rate":
            axes[f.param] = np.geomspace(low, high, LEARNING_RATE_POINTS)
        elif f.param == "batch_size":
            powers = 2.0 ** np.arange(math.ceil(math.log2(low)), math.floor(math.log2(high)) + 1)
            axes[f.param] = np.unique(np.round(np.concatenate([[low, high], powers])))
        else:
            axes[f.param] = np.arange(math.ceil(low - 1e-9), math.floor(high + 1e-9) + 1)
    mesh = np.meshgrid(*(axes[p] for p in PARAMS), indexing="ij")
    return pd.DataFrame({p: m.ravel() for p, m in zip(PARAMS, mesh, strict=True)})
