"""Grid designs over the three hyperparameters: pure functions, no I/O.

Designs are built in coded units (-1..1 per factor) and mapped onto each dimension: log-spaced for
log ranges, rounded for integers, snapped to the nearest allowed value for value lists.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from scipy.stats import qmc

from advisor.config import Dimension, StudySpec
from advisor.errors import SpecError

Point = dict[str, Any]


def design_points(spec: StudySpec) -> list[Point]:
    """The spec's grid: every design point times every replicate seed, in a stable order."""
    configs = design_configs(
        spec.space, spec.design, levels=spec.levels, samples=spec.samples, seed=spec.seeds[0]
    )
    return [{**config, "seed": seed} for config in configs for seed in spec.seeds]


def design_configs(
    space: tuple[Dimension, ...],
    design: str,
    *,
    levels: int = 3,
    samples: int | None = None,
    seed: int = 0,
) -> list[Point]:
    """Distinct configurations (no seeds) of a design over `space`."""
    if design == "factorial":
        return _unique(list(itertools.product(*(factor_levels(d, levels) for d in space))), space)
    if design == "ccd":
        coded = _ccd_coded(len(space))
    elif design == "box-behnken":
        coded = _box_behnken_coded(len(space))
    elif design == "lhs":
        if not samples:
            raise SpecError('grid.samples is required for design = "lhs"')
        unit = qmc.LatinHypercube(d=len(space), seed=seed).random(samples)
        coded = unit * 2.0 - 1.0
    else:
        raise SpecError(
            f"grid.design = {design!r} is not valid; choose one of: "
            "factorial, ccd, box-behnken, lhs"
        )
    rows = [
        tuple(from_coded(d, float(c)) for d, c in zip(space, point, strict=True)) for point in coded
    ]
    return _unique(rows, space)


def factor_levels(dim: Dimension, levels: int) -> list[float]:
    """Values a factorial design uses for one dimension (value lists contribute all values)."""
    if dim.choices is not None:
        return list(dim.choices)
    if levels == 1 or dim.low == dim.high:
        return [snap(dim, math.sqrt(dim.low * dim.high) if dim.log else (dim.low + dim.high) / 2)]
    coded = np.linspace(-1.0, 1.0, levels)
    return sorted({from_coded(dim, float(c)) for c in coded})


def from_coded(dim: Dimension, coded: float) -> float:
    """Map a coded value in [-1, 1] onto the dimension (log-aware), then snap it."""
    coded = min(1.0, max(-1.0, coded))
    if dim.log:
        low, high = math.log(dim.low), math.log(dim.high)
        value = math.exp(low + (coded + 1.0) / 2.0 * (high - low))
    else:
        value = dim.low + (coded + 1.0) / 2.0 * (dim.high - dim.low)
    return snap(dim, value)


def snap(dim: Dimension, value: float) -> float:
    """The allowed value nearest to `value` (in log space for log dimensions)."""
    if dim.choices is not None:
        key = (
            (lambda c: abs(math.log(c) - math.log(value)))
            if dim.log
            else (lambda c: abs(c - value))
        )
        return min(dim.choices, key=key)
    if dim.integer:
        return int(min(dim.high, max(dim.low, round(value))))
    return float(min(dim.high, max(dim.low, float(f"{value:.6g}"))))


def _ccd_coded(k: int) -> np.ndarray:
    """Face-centred central composite design: 2^k corners, 2k face centres, one centre.

    Face-centred (alpha = 1) keeps every point inside the user's ranges.
    """
    corners = list(itertools.product((-1.0, 1.0), repeat=k))
    axial = []
    for i in range(k):
        for sign in (-1.0, 1.0):
            point = [0.0] * k
            point[i] = sign
            axial.append(tuple(point))
    return np.array(corners + axial + [tuple([0.0] * k)])


def _box_behnken_coded(k: int) -> np.ndarray:
    """Box-Behnken: midpoints of the cube's edges (pairs at +-1, others 0) plus the centre."""
    if k < 3:
        raise SpecError("box-behnken needs at least 3 factors")
    points = []
    for i, j in itertools.combinations(range(k), 2):
        for a, b in itertools.product((-1.0, 1.0), repeat=2):
            point = [0.0] * k
            point[i], point[j] = a, b
            points.append(tuple(point))
    return np.array(points + [tuple([0.0] * k)])


def _unique(rows: list[tuple[float, ...]], space: tuple[Dimension, ...]) -> list[Point]:
    """Drop duplicates that snapping produced, keeping the first occurrence's order."""
    seen: set[tuple[float, ...]] = set()
    result: list[Point] = []
    for row in rows:
        if row not in seen:
            seen.add(row)
            result.append(
                {
                    d.name: (int(v) if d.integer else float(v))
                    for d, v in zip(space, row, strict=True)
                }
            )
    return result


def point_key(point: Point) -> str:
    """A stable identity for a grid point (config and seed), stored on its trial."""
    return (
        f"lr={point['learning_rate']:.6g}|bs={int(point['batch_size'])}"
        f"|ep={int(point['epochs'])}|seed={int(point['seed'])}"
    )
