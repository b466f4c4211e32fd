"""`advisor suggest`: the surface-predicted Pareto set for an objective set.

Surfaces (OLS, `advisor.surface`) predict each objective over a dense grid of candidate
configurations; the non-dominated predicted means form the front. A surface fitted on the runs
that trained, with a collapse model beside it, predicts the expected value of a new run:
P(collapse) x plateau + (1 - P(collapse)) x trained surface (`advisor.surface._two_part`).
How sure each suggestion is comes from posterior draws of the surfaces' coefficients: the share
of draws in which it is on the front, and, with a baseline, the probability that its expected
metric beats the baseline's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution
from scipy import stats

from advisor.steering import Objective, non_dominated_mask
from advisor.surface._desirability import desirability_pick
from advisor.surface._two_part import expected_draws, expected_prediction
from advisor.table import PARAMS

LEARNING_RATE_POINTS = 25
POSTERIOR_DRAWS = 200


@dataclass
class Suggestion:
    """One predicted Pareto-optimal configuration."""

    params: dict[str, Any]
    predicted: dict[str, dict[str, float]]
    front_share: float
    already_run: bool = False
    observed: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        row = {
            "params": self.params,
            "predicted": self.predicted,
            "front_share": self.front_share,
            "already_run": self.already_run,
        }
        if self.observed:
            row["observed"] = self.observed
        return row


@dataclass
class PredictedFront:
    """The predicted front, trimmed to the suggestions asked for, with notes for the user."""

    suggestions: list[Suggestion]
    front_size: int
    candidates: int
    notes: list[str] = field(default_factory=list)
    desirability: dict[str, Any] | None = None  # the Derringer-Suich joint pick


def candidate_grid(space: dict[str, BaseDistribution]) -> pd.DataFrame:
    """Every combination of learning rates (log-spaced), allowed batch sizes and epoch counts."""
    axes = [_axis(name, space[name]) for name in PARAMS]
    mesh = np.meshgrid(*axes, indexing="ij")
    frame = pd.DataFrame({name: m.ravel() for name, m in zip(PARAMS, mesh, strict=True)})
    frame["batch_size"] = frame["batch_size"].astype(int)
    frame["epochs"] = frame["epochs"].astype(int)
    return frame


def _axis(name: str, dist: BaseDistribution) -> np.ndarray:
    if isinstance(dist, CategoricalDistribution):
        return np.array(sorted(float(c) for c in dist.choices if isinstance(c, int | float)))
    low, high = float(dist.low), float(dist.high)  # type: ignore[attr-defined]
    if isinstance(dist, FloatDistribution):
        grid = (
            np.geomspace(low, high, LEARNING_RATE_POINTS)
            if dist.log
            else np.linspace(low, high, LEARNING_RATE_POINTS)
        )
        return np.array([float(f"{v:.3g}") for v in grid])
    if getattr(dist, "log", False):
        powers = 2.0 ** np.arange(math.ceil(math.log2(low)), math.floor(math.log2(high)) + 1)
        return np.unique(np.concatenate([[low, high], powers]))
    return np.arange(int(low), int(high) + 1, dtype=float)


def predicted_front(
    surfaces: dict[str, Any],
    objectives: Sequence[Objective],
    candidates: pd.DataFrame,
    n: int,
    baseline: dict[str, float] | None,
    seed: int = 0,
) -> PredictedFront:
    """Non-dominated candidates by predicted mean: at most `n`, spread along the front."""
    predictions = {o.name: expected_prediction(surfaces[o.name], candidates) for o in objectives}
    signs = np.array([1.0 if o.direction == "minimize" else -1.0 for o in objectives])
    means = np.column_stack([predictions[o.name]["mean"].to_numpy() for o in objectives])
    front = np.flatnonzero(non_dominated_mask(means * signs))
    shares = _front_shares(surfaces, objectives, candidates, signs, seed)
    chosen = _spread(front, means[front, 0], n)
    suggestions = [
        Suggestion(
            params=_params(candidates.iloc[i]),
            predicted={
                o.name: _prediction(predictions[o.name].iloc[i], o, surfaces[o.name], baseline)
                for o in objectives
            },
            front_share=float(shares[i]),
        )
        for i in chosen
    ]
    notes = _notes(len(front), suggestions, objectives)
    pick = desirability_pick(predictions, objectives, candidates)
    if len(objectives) > 1:
        notes.append(_desirability_note(pick))
    return PredictedFront(suggestions, len(front), len(candidates), notes, pick)


def _desirability_note(pick: dict[str, Any]) -> str:
    p = pick["params"]
    values = ", ".join(
        f"{name} {v['mean']:.3f} [{v['lower']:.3f}, {v['upper']:.3f}]"
        for name, v in pick["predicted"].items()
    )
    return (
        f"joint pick by desirability (D = {pick['D']:.2f}, each objective scaled from its worst "
        f"to its best prediction): lr={p['learning_rate']:.3g} batch={p['batch_size']} "
        f"epochs={p['epochs']}: {values}"
    )


def _front_shares(
    surfaces: dict[str, Any],
    objectives: Sequence[Objective],
    candidates: pd.DataFrame,
    signs: np.ndarray,
    seed: int,
) -> np.ndarray:
    """Share of posterior draws in which each candidate is on the front (NaN if undrawable)."""
    rng = np.random.default_rng(seed)
    try:
        draws = [
            expected_draws(surfaces[o.name], candidates, rng, POSTERIOR_DRAWS) for o in objectives
        ]
    except Exception:  # a saturated surface has no covariance: shares are unknown
        return np.full(len(candidates), np.nan)
    counts = np.zeros(len(candidates))
    for d in range(POSTERIOR_DRAWS):
        values = np.column_stack([draw[d] for draw in draws]) * signs
        counts += non_dominated_mask(values)
    return counts / POSTERIOR_DRAWS


def _spread(front: np.ndarray, first_objective: np.ndarray, n: int) -> list[int]:
    order = front[np.argsort(first_objective)]
    if len(order) <= n:
        return order.tolist()
    picks = np.unique(np.round(np.linspace(0, len(order) - 1, n)).astype(int))
    return order[picks].tolist()


def _params(row: pd.Series) -> dict[str, Any]:
    return {
        "learning_rate": float(row["learning_rate"]),
        "batch_size": int(row["batch_size"]),
        "epochs": int(row["epochs"]),
    }


def _prediction(
    row: pd.Series, objective: Objective, surface: Any, baseline: dict[str, float] | None
) -> dict[str, float]:
    result = {
        "mean": float(row["mean"]),
        "lower": float(row["mean_lower"]),
        "upper": float(row["mean_upper"]),
    }
    if float(row.get("p_collapse", 0.0)) > 0:
        result["p_collapse"] = float(row["p_collapse"])
    reference = _baseline_value(objective.name, baseline)
    se = float(row["mean_se"])
    if reference is not None and se > 0 and math.isfinite(se):
        gap = (result["mean"] - reference) * (1 if objective.direction == "maximize" else -1)
        df = max(1.0, float(surface.stats.df_resid))
        result["p_beats_baseline"] = float(stats.t.cdf(gap / se, df))
    return result


def _baseline_value(name: str, baseline: dict[str, float] | None) -> float | None:
    if baseline is None:
        return None
    if name.endswith("_rel"):
        return 0.0  # a relative metric is already a difference to the baseline
    return baseline.get(name)


def _notes(
    front_size: int, suggestions: list[Suggestion], objectives: Sequence[Objective]
) -> list[str]:
    notes = []
    risky = [
        s for s in suggestions if max(v.get("p_collapse", 0.0) for v in s.predicted.values()) > 0.1
    ]
    if risky:
        notes.append(
            f"{len(risky)} suggestion(s) have a collapse probability above 10% (p_collapse): "
            "their predictions mix the plateau of collapsed runs with the trained surface"
        )
    if front_size == 1 and suggestions:
        share = suggestions[0].front_share
        sure = (
            f"; it stays on the front in {share:.0%} of posterior draws of the surfaces"
            if math.isfinite(share)
            else ""
        )
        names = " and ".join(o.name for o in objectives)
        notes.append(
            f"no trade-off predicted: one configuration is predicted best for {names} at once{sure}"
        )
    return notes
