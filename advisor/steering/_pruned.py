"""Pruned runs as data for the sampler's surfaces: their final values imputed from their curves.

A pruned run was stopped after epoch K of E because its final values were unlikely to join the
front; it is not a K-epoch run (`advisor.steering._curve_model`). Leaving it out throws away
what its curve says about its configuration; entering its value at epoch K as final would
bias the surfaces. So it enters with ONE draw of its final values from the pruner's own curve
model (learnt on the finished runs' curves, with the model's Student-t spread): across the
sampler's proposals, each fitted on a fresh draw, this is multiple imputation, so the surfaces
carry the imputation's uncertainty and not just its mean. A run still predicting one class at
epoch K is left out: whether it would have trained is not something a smooth curve model knows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from optuna.trial import FrozenTrial

from advisor.steering._curve_model import CurvePairs, draw_finals, fit_final_model
from advisor.steering._objectives import Objective
from advisor.steering._pruner import CURVE_ATTR, curve_matrix


def impute_pruned(
    done: Sequence[FrozenTrial],
    done_values: np.ndarray,
    pruned: Sequence[FrozenTrial],
    objectives: Sequence[Objective],
    rng: np.random.Generator,
) -> tuple[list[FrozenTrial], np.ndarray]:
    """The pruned trials whose finals can be imputed, and one draw of them (`(m, k)`,
    minimised, in the objectives' units).

    Args:
        done: finished trials; their curves teach the curve model.
        done_values: `(len(done), k)` their minimised objective values (NaN where unknown).
        pruned: pruned trials, each with its partial curve and planned epochs (user attribute
            `epochs`, else its parameter).
        objectives: the study's objectives (their curve metrics and directions).
        rng: the draw's randomness.
    """
    k = len(objectives)
    empty: tuple[list[FrozenTrial], np.ndarray] = ([], np.zeros((0, k)))
    if not pruned:
        return empty
    matrices, gaps = [], []
    for trial, values in zip(done, done_values, strict=True):
        curve = trial.user_attrs.get(CURVE_ATTR)
        if not curve:
            continue
        matrix = curve_matrix(curve, objectives)
        matrices.append(matrix)
        if matrix.shape[0] and np.isfinite(matrix[-1]).all() and np.isfinite(values).all():
            gaps.append(values - matrix[-1])
    model = fit_final_model(CurvePairs.from_curves(matrices)) if matrices else None
    if model is None or not gaps:
        return empty
    # a relative objective (f1_rel) is its curve metric (f1) shifted by the baseline
    offset = np.median(np.array(gaps), axis=0)
    kept, rows = [], []
    for trial in pruned:
        found = _partial(trial, objectives)
        if found is None:
            continue
        last, share = found
        rows.append(draw_finals(model, last, share, 1, rng)[0] + offset)
        kept.append(trial)
    return (kept, np.array(rows).reshape(-1, k)) if kept else empty


def _partial(
    trial: FrozenTrial, objectives: Sequence[Objective]
) -> tuple[np.ndarray, float] | None:
    """The run's minimised values at its last epoch and the share of its plan done, or None
    (no curve, no plan, at the final epoch, a missing value, or still predicting one class)."""
    from advisor.study.grid_status import is_collapsed  # the study package imports steering

    curve = trial.user_attrs.get(CURVE_ATTR)
    planned = trial.user_attrs.get("epochs", trial.params.get("epochs"))
    if not curve or planned is None:
        return None
    matrix = curve_matrix(curve, objectives)
    epoch, epochs = matrix.shape[0], int(round(float(planned)))
    if epoch == 0 or epoch >= epochs or not np.isfinite(matrix[-1]).all():
        return None
    last_point = max(curve, key=lambda p: int(p.get("epoch", 0)))
    if is_collapsed(last_point):
        return None
    return matrix[-1], epoch / epochs
