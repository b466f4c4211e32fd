"""The way out of the box: where the surfaces say the best lies beyond the spec's ranges.

For each objective, start from its best predicted configuration inside the spec's space. Each
factor that sits at an end of its range there is stepped one unit outward (learning rate and
batch size doubled or halved, epochs one more or one fewer); a step is kept when the surface
predicts it improves the objective. The kept steps together make the extension, and its
predicted gain over the in-box best, with the confidence interval of that difference (a
contrast of the trained surface: exact for its mean), says how much the surface expects. All of
it is extrapolation, and is labelled so. `widened_space` gives distributions that contain an
extension, so that Optuna accepts it as a waiting trial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from scipy import stats

from advisor.steering import Objective
from advisor.surface._two_part import expected_prediction
from advisor.table import PARAMS

MAX_COLLAPSE = 0.5  # an extension where a run more likely collapses than trains is not offered
STEP = {"learning_rate": 2.0, "batch_size": 2.0}  # multiplicative steps; epochs step by 1


@dataclass
class Extension:
    """A configuration outside the spec's box that the surface of `objective` predicts better."""

    objective: str
    params: dict[str, Any]
    start: dict[str, Any]
    moves: list[dict[str, Any]] = field(default_factory=list)
    gain: dict[str, float] = field(default_factory=dict)

    def sentence(self) -> str:
        """`extend learning_rate high from 0.0002 to 0.0004: predicted f1 +0.03 [+0.01, +0.05]`."""
        moves = ", ".join(
            f"{m['param']} {m['side']} from {m['from']:.3g} to {m['to']:.3g}" for m in self.moves
        )
        g = self.gain
        ci = f" [{g['lower']:+.3g}, {g['upper']:+.3g}]" if np.isfinite(g["lower"]) else ""
        return (
            f"extend {moves}: predicted {self.objective} {g['mean']:+.3g}{ci} over the best "
            "configuration inside the box (an extrapolation)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "params": self.params,
            "from": self.start,
            "moves": self.moves,
            "gain": self.gain,
        }


def box_extensions(
    surfaces: dict[str, Any], objectives: list[Objective], candidates: pd.DataFrame
) -> tuple[list[Extension], list[str]]:
    """One extension per objective whose best inside the box is on its edge and improves
    outward; and notes on objectives skipped (an untrustworthy surface)."""
    out, notes = [], []
    bounds = {p: (float(candidates[p].min()), float(candidates[p].max())) for p in PARAMS}
    for objective in objectives:
        surface = surfaces[objective.name]
        if not getattr(surface, "trustworthy", True):
            notes.append(f"{objective.name}: the surface is not trustworthy, so no extension")
            continue
        found = _extension(surface, objective, candidates, bounds)
        if found is not None:
            out.append(found)
    return out, notes


def _extension(
    surface: Any,
    objective: Objective,
    candidates: pd.DataFrame,
    bounds: dict[str, tuple[float, float]],
) -> Extension | None:
    sign = 1.0 if objective.direction == "maximize" else -1.0
    means = expected_prediction(surface, candidates)["mean"].to_numpy()
    best = candidates.iloc[[int(np.argmax(sign * means))]].reset_index(drop=True)
    base_mean = float(expected_prediction(surface, best)["mean"].iloc[0])
    params = _row(best)
    moves = []
    for name in PARAMS:
        low, high = bounds[name]
        if low == high:
            continue
        for side, edge in (("high", high), ("low", low)):
            if not np.isclose(params[name], edge):
                continue
            moved = dict(params, **{name: _step(name, edge, side)})
            if moved[name] == edge:
                continue
            predicted = expected_prediction(surface, pd.DataFrame([moved])).iloc[0]
            if sign * (float(predicted["mean"]) - base_mean) > 0:
                moves.append({"param": name, "side": side, "from": edge, "to": moved[name]})
    if not moves:
        return None
    extended = dict(params, **{m["param"]: m["to"] for m in moves})
    frame = pd.DataFrame([extended])
    if float(expected_prediction(surface, frame)["p_collapse"].iloc[0]) > MAX_COLLAPSE:
        return None
    return Extension(objective.name, extended, params, moves, _gain(surface, best, frame))


def _step(name: str, value: float, side: str) -> float | int:
    if name == "epochs":
        return int(max(1, value + (1 if side == "high" else -1)))
    factor = STEP[name] if side == "high" else 1.0 / STEP[name]
    if name == "batch_size":
        return int(max(1, round(value * factor)))
    return float(f"{value * factor:.3g}")


def _gain(surface: Any, start: pd.DataFrame, end: pd.DataFrame) -> dict[str, float]:
    """Predicted change from `start` to `end` on the trained surface, with its interval."""
    d = (surface.design(end) - surface.design(start))[0]
    mean = float(d @ surface.coef)
    se = float(np.sqrt(max(d @ surface.cov @ d, 0.0)))
    df = getattr(surface, "t_df", surface.stats.df_resid)
    crit = float(stats.t.ppf(1.0 - surface.alpha / 2.0, df)) if df > 0 else float("nan")
    return {"mean": mean, "lower": mean - crit * se, "upper": mean + crit * se, "se": se}


def _row(frame: pd.DataFrame) -> dict[str, Any]:
    row = frame.iloc[0]
    return {
        "learning_rate": float(row["learning_rate"]),
        "batch_size": int(row["batch_size"]),
        "epochs": int(row["epochs"]),
    }


def widened_space(
    space: dict[str, BaseDistribution], params: dict[str, Any]
) -> dict[str, BaseDistribution]:
    """Distributions like `space` that also contain `params` (Optuna validates a waiting
    trial's values against its distributions)."""
    out = dict(space)
    for name, value in params.items():
        dist = space.get(name)
        if isinstance(dist, CategoricalDistribution):
            if value not in dist.choices:
                out[name] = CategoricalDistribution(sorted([*dist.choices, value]))  # type: ignore[type-var]
        elif isinstance(dist, FloatDistribution):
            out[name] = FloatDistribution(
                min(dist.low, float(value)), max(dist.high, float(value)), log=dist.log
            )
        elif isinstance(dist, IntDistribution):
            out[name] = IntDistribution(
                min(dist.low, int(value)), max(dist.high, int(value)), log=dist.log
            )
    return out
