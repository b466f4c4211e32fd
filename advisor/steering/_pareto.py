"""Pareto dominance and exact hypervolume (all objectives minimised): pure NumPy."""

from __future__ import annotations

import numpy as np


def _as_matrix(values: np.ndarray | list) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"expected an (n_points, n_objectives) array, got shape {array.shape}")
    return array


def non_dominated_mask(values: np.ndarray | list) -> np.ndarray:
    """Which points no other point dominates (minimisation).

    A point dominates another when it is no worse in every objective and strictly better in one.
    Duplicated non-dominated points are all kept.

    Args:
        values: `(n_points, n_objectives)` objective values, every objective minimised.

    Returns:
        Boolean mask of length `n_points`.
    """
    points = _as_matrix(values)
    n = points.shape[0]
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    order = np.lexsort(points.T[::-1])  # by first objective, ties by the next ones
    remaining = order
    while remaining.size:
        head = points[remaining[0]]
        # Every point equal to `head` is non-dominated too (nothing earlier dominates `head`).
        same = np.all(points[remaining] == head, axis=1)
        mask[remaining[same]] = True
        better_somewhere = np.any(points[remaining] < head, axis=1)
        remaining = remaining[better_somewhere & ~same]
    return mask


def hypervolume(values: np.ndarray | list, reference: np.ndarray | list) -> float:
    """Exact hypervolume dominated by `values` and bounded by `reference` (minimisation).

    Points that are not strictly better than the reference in every objective add nothing.
    Two and three objectives use exact sweeps; more objectives use Optuna's WFG implementation.

    Args:
        values: `(n_points, n_objectives)` objective values, every objective minimised.
        reference: the reference point, one value per objective.

    Returns:
        The hypervolume (0.0 for no useful point).
    """
    points = _as_matrix(values)
    ref = np.asarray(reference, dtype=float).ravel()
    if points.shape[1] != ref.size:
        raise ValueError(f"{points.shape[1]} objectives but a {ref.size}-value reference point")
    points = points[np.all(points < ref, axis=1)]
    if points.shape[0] == 0:
        return 0.0
    points = points[non_dominated_mask(points)]
    if ref.size == 1:
        return float(ref[0] - points[:, 0].min())
    if ref.size == 2:
        return _hypervolume_2d(points, ref)
    if ref.size == 3:
        return _hypervolume_3d(points, ref)
    from optuna._hypervolume import compute_hypervolume

    return float(compute_hypervolume(points, ref))


def _hypervolume_2d(points: np.ndarray, ref: np.ndarray) -> float:
    """Sweep along the first objective; `points` strictly inside the reference box."""
    order = np.lexsort((points[:, 1], points[:, 0]))
    x, y = points[order, 0], points[order, 1]
    best_y = np.minimum.accumulate(y)
    widths = np.diff(np.append(x, ref[0]))
    return float(np.sum(widths * (ref[1] - best_y)))


def _hypervolume_3d(points: np.ndarray, ref: np.ndarray) -> float:
    """Slice along the third objective and add up the 2-D areas of the slabs."""
    order = np.argsort(points[:, 2], kind="stable")
    z = points[order, 2]
    bounds = np.append(z, ref[2])
    total = 0.0
    for k in range(len(z)):
        depth = bounds[k + 1] - bounds[k]
        if depth > 0:
            total += depth * _hypervolume_2d(points[order[: k + 1], :2], ref[:2])
    return total


def hypervolume_improvements(
    candidates: np.ndarray, base: np.ndarray, reference: np.ndarray
) -> np.ndarray:
    """Hypervolume each candidate would add to `base`, one candidate at a time.

    Only candidates that no other candidate or base point dominates are computed: a dominated
    candidate can add no more than the point dominating it, and one dominated by the base adds 0.

    Args:
        candidates: `(n_candidates, n_objectives)` values (minimised).
        base: `(n_base, n_objectives)` values of the points already in the set (may be empty).
        reference: the reference point.

    Returns:
        `(n_candidates,)` improvements; 0.0 for the candidates skipped as dominated.
    """
    candidates = _as_matrix(candidates)
    base = _as_matrix(base).reshape(-1, candidates.shape[1])
    ref = np.asarray(reference, dtype=float).ravel()
    gains = np.zeros(candidates.shape[0])
    mask = non_dominated_mask(np.vstack([candidates, base]))[: candidates.shape[0]]
    mask &= np.all(candidates < ref, axis=1)
    if not mask.any():
        return gains
    front = base[non_dominated_mask(base)] if base.shape[0] else base
    front = front[np.all(front < ref, axis=1)]
    base_volume = hypervolume(front, ref) if front.shape[0] else 0.0
    for index in np.flatnonzero(mask):
        gains[index] = hypervolume(np.vstack([front, candidates[index]]), ref) - base_volume
    return np.maximum(gains, 0.0)


def epsilon_to_front(candidates: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Uniform improvement each candidate needs before no base point weakly dominates it.

    `max(0, max over base points b of min over objectives (c - b))`: 0 for a candidate that no
    base point dominates, growing with its distance behind the base set's front.
    """
    candidates = _as_matrix(candidates)
    base = _as_matrix(base).reshape(-1, candidates.shape[1])
    if base.shape[0] == 0:
        return np.zeros(candidates.shape[0])
    front = base[non_dominated_mask(base)]
    gaps = (candidates[:, None, :] - front[None, :, :]).min(axis=2).max(axis=1)
    return np.maximum(gaps, 0.0)
