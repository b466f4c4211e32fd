"""Where a surface's optimum is, in words and as JSON: canonical analysis and the ridge path."""

from __future__ import annotations

from typing import Any

import numpy as np

from advisor.surface._canonical import PathPoint, canonical_analysis, ridge_path
from advisor.surface._model import FittedSurface
from advisor.table import DIRECTIONS

EDGE_RADIUS = 1.0  # radius of the ridge path quoted as "at the edge of the tried region"
BEYOND_RADIUS = 1.5  # ... and as "beyond it"


def optimum_record(surface: FittedSurface) -> dict[str, Any] | None:
    """The `optimum` key of a surface's JSON (null for degree 1 and above degree 2)."""
    found = canonical_analysis(surface)
    return None if found is None else found.to_dict()


def path_record(surface: FittedSurface) -> list[dict[str, Any]]:
    """The `path` key: the ridge (steepest-ascent) path from the centre."""
    return [p.to_dict() for p in ridge_path(surface)]


def describe_point(point: dict[str, float]) -> str:
    """`learning rate 1.9e-04, batch size 11, 2.6 epochs` (natural units, rounded for reading)."""
    parts = []
    if "learning_rate" in point:
        parts.append(f"learning rate {point['learning_rate']:.2g}")
    if "batch_size" in point:
        parts.append(f"batch size {point['batch_size']:.3g}")
    if "epochs" in point:
        parts.append(f"{point['epochs']:.2g} epochs")
    return ", ".join(parts)


def _interval(mean: float, lower: float, upper: float) -> str:
    if not (np.isfinite(lower) and np.isfinite(upper)):
        return f"{mean:.3g}"
    return f"{mean:.3g} [{lower:.3g}, {upper:.3g}]"


def optimum_findings(surface: FittedSurface) -> list[str]:
    """One sentence on the stationary point and one on the ridge path (degree 1: the path only)."""
    name = surface.target
    out = []
    found = canonical_analysis(surface)
    if found is not None:
        where = "inside" if found.inside else "outside"
        line = (
            f"the {name} surface's stationary point is a {found.type} at "
            f"{describe_point(found.point)}, {where} the tried region (predicted "
            f"{_interval(found.mean, found.lower, found.upper)})"
        )
        if found.best and found.inside:
            line += ": that is the predicted optimum"
        elif found.best:
            line += ": the optimum lies beyond the tried region"
        elif found.type == "ridge":
            line += (
                ": the surface is almost flat along one direction, so many configurations "
                "near this one predict about the same (this is the ridge's point nearest the "
                "centre)"
            )
        else:
            wanted = "minimum" if DIRECTIONS.get(surface.metric) == "minimize" else "maximum"
            line += f": not a {wanted}, so the best of the tried region is on its edge"
        out.append(line)
    path = ridge_path(surface)
    if path and not (found is not None and found.best and found.inside):
        out.append(_path_sentence(surface, path))
    return out


def _path_sentence(surface: FittedSurface, path: list[PathPoint]) -> str:
    centre = path[0]
    edge = min(path, key=lambda p: abs(p.radius - EDGE_RADIUS))
    beyond = min(path, key=lambda p: abs(p.radius - BEYOND_RADIUS))
    kind = "steepest-ascent" if surface.degree == 1 else "ridge"
    better = "lower" if DIRECTIONS.get(surface.metric) == "minimize" else "higher"
    return (
        f"along the {kind} path from the centre (toward {better} {surface.target}), predicted "
        f"{surface.target} goes from {_interval(centre.mean, centre.lower, centre.upper)} at "
        f"the centre to {_interval(edge.mean, edge.lower, edge.upper)} at "
        f"{describe_point(edge.point)} (radius {edge.radius:g}) and "
        f"{_interval(beyond.mean, beyond.lower, beyond.upper)} at {describe_point(beyond.point)}"
        f"{'' if beyond.inside else ' (outside the tried region: an extrapolation)'}"
    )
