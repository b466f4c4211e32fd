"""Two-part predictions and findings: P(collapse) x plateau + (1 - P(collapse)) x trained surface.

A surface fitted with a `collapse` model describes the runs that trained; what a new run at a
configuration is expected to give is the mixture

    E[y] = p * plateau + (1 - p) * m(x),

p the collapse probability, m the trained surface. Its standard error is the delta method on
both parts (independent fits): se² = (1 - p)² se_m² + (m - plateau)² se_p². Surfaces without a
collapse model predict as they are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from advisor.surface._model import FittedSurface
from advisor.surface._terms import Factor

PROBABILITY_LEVEL = 0.5  # the boundary quoted in findings: P(collapse) = 50%


def expected_prediction(surface: FittedSurface, frame: pd.DataFrame) -> pd.DataFrame:
    """`surface.predict(frame)` combined with the collapse model when the surface has one.

    Adds column `p_collapse` (0 without a collapse model).
    """
    out = surface.predict(frame)
    collapse = surface.collapse
    if collapse is None:
        out["p_collapse"] = 0.0
        return out
    p, p_se = collapse.probability(frame)
    trained, trained_se = out["mean"].to_numpy(), out["mean_se"].to_numpy()
    mean = p * collapse.plateau + (1.0 - p) * trained
    se = np.sqrt((1.0 - p) ** 2 * trained_se**2 + (trained - collapse.plateau) ** 2 * p_se**2)
    df = surface.stats.df_resid
    crit = float(stats.t.ppf(1.0 - surface.alpha / 2.0, df)) if df > 0 else float("nan")
    obs_se = np.sqrt(se**2 + (1.0 - p) * surface.scale)
    out["mean"], out["mean_se"] = mean, se
    out["mean_lower"], out["mean_upper"] = mean - crit * se, mean + crit * se
    out["obs_lower"], out["obs_upper"] = mean - crit * obs_se, mean + crit * obs_se
    out["p_collapse"] = p
    return out


def expected_draws(
    surface: FittedSurface, frame: pd.DataFrame, rng: np.random.Generator, n_draws: int
) -> np.ndarray:
    """Thompson draws of the expected value: both parts drawn from their posteriors."""
    trained = surface.sample_means(frame, rng, n_draws)
    if surface.collapse is None:
        return trained
    p = surface.collapse.sample_probability(frame, rng, n_draws)
    return np.asarray(p * surface.collapse.plateau + (1.0 - p) * trained, dtype=float)


def collapse_findings(surface: FittedSurface) -> list[str]:
    """Where runs collapse, in words: counts, the 50% boundary, and the factors that drive it."""
    model = surface.collapse
    if model is None:
        return []
    how = "recorded" if model.source == "column" else "read off the metrics"
    out = [
        f"{model.n_collapsed} of {model.n} runs collapsed (predicted a single class; {how}): "
        f"this surface describes the {model.n - model.n_collapsed} runs that trained, and a "
        f"collapse probability model predicts where runs land on the plateau "
        f"({surface.target} ≈ {model.plateau:.3g})"
    ]
    boundary = _boundary(model.factors, model.active, model.coef)
    if boundary:
        out.append(boundary)
    return out


def _boundary(factors: tuple[Factor, ...], active: tuple[int, ...], coef: np.ndarray) -> str:
    """`runs collapse below learning rate 3.1e-05 at batch size 8 (and 2.2e-04 at 64), 2 epochs`."""
    names = [factors[i].param for i in active]
    if "learning_rate" not in names:
        return ""
    k = names.index("learning_rate")
    c_lr = float(coef[1 + k])
    if abs(c_lr) < 1e-9:
        return ""
    lr = factors[active[k]]
    side = "below" if c_lr < 0 else "above"
    others = [j for j in range(len(active)) if j != k]
    batch_j = next((j for j in others if names[j] == "batch_size"), None)
    settings = [_centre(factors[active[j]]) for j in others]
    points = []
    for batch_value in _ends(factors[active[batch_j]]) if batch_j is not None else [None]:
        eta = float(coef[0])
        for j, value in zip(others, settings, strict=True):
            if j == batch_j and batch_value is not None:
                value = batch_value
            eta += float(coef[1 + j]) * float(factors[active[j]].encode([value])[0])
        x_lr = -eta / c_lr
        rate = lr.to_param(lr.center + lr.scale * x_lr)
        where = f" at batch size {batch_value:g}" if batch_value is not None else ""
        points.append(f"learning rate {rate:.2g}{where}")
    fixed = [
        f"{factors[active[j]].label} {settings[i]:g}" for i, j in enumerate(others) if j != batch_j
    ]
    tail = f" ({', '.join(fixed)})" if fixed else ""
    return (
        f"runs are more likely than not to collapse {side} "
        + " and ".join(points)
        + tail
        + "; the collapse model is a Firth logistic regression on the coded factors"
    )


def _centre(f: Factor) -> float:
    value = f.to_param((f.low + f.high) / 2.0)
    return float(round(value)) if f.param != "learning_rate" else value


def _ends(f: Factor) -> list[float]:
    return [f.to_param(f.low), f.to_param(f.high)]
