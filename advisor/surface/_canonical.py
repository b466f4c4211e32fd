"""Canonical analysis and the ridge (steepest-ascent) path of a fitted surface.

The analysis works in *range-coded* units whatever the surface's own coding: each varying
factor's tried range maps to [-1, 1], so the tried region is the cube |z_i| <= 1 and a radius
is comparable across factors. A degree-2 surface is y = c + b'z + z'Bz; its stationary point is
z* = -B⁻¹b/2 and its type comes from the eigenvalues of B: all negative, a maximum; all
positive, a minimum; mixed signs, a saddle; one near zero (|λ| < RIDGE_RATIO · max|λ|), a
ridge (the surface is almost flat along that direction, and z* is the point of the ridge
nearest the centre). The ridge path (Hoerl's ridge analysis; the steepest-ascent path of a
degree-1 surface) is, for each radius r, the best point on the sphere |z| = r. Pure math.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from advisor.surface._model import FittedSurface
from advisor.table import DIRECTIONS

RIDGE_RATIO = 0.05
PATH_RADII: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
INSIDE_SLACK = 1e-9


@dataclass(frozen=True)
class Quadratic:
    """y = const + b'z + z'Bz over the varying factors `active` in range-coded units."""

    active: tuple[int, ...]
    const: float
    b: np.ndarray
    B: np.ndarray  # noqa: N815 (the usual name of the quadratic-form matrix)


@dataclass(frozen=True)
class Optimum:
    """The stationary point of a degree-2 surface, with its predicted value."""

    type: str
    inside: bool
    point: dict[str, float]
    coded: dict[str, float]
    eigenvalues: tuple[float, ...]
    mean: float
    lower: float
    upper: float
    best: bool  # the type this metric wants: maximum (accuracy, F1) or minimum (loss)

    def to_dict(self) -> dict[str, object]:
        """The PRODUCT.md `optimum` object (and more keys)."""
        return {
            "type": self.type,
            "inside": self.inside,
            "point": self.point,
            "coded": self.coded,
            "eigenvalues": list(self.eigenvalues),
            "predicted": {"mean": self.mean, "lower": self.lower, "upper": self.upper},
            "best": self.best,
        }


@dataclass(frozen=True)
class PathPoint:
    """One point of the ridge path: the best predicted point at `radius` from the centre."""

    radius: float
    point: dict[str, float]
    inside: bool
    mean: float
    lower: float
    upper: float

    def to_dict(self) -> dict[str, object]:
        return {
            "radius": self.radius,
            "point": self.point,
            "inside": self.inside,
            "mean": self.mean,
            "lower": self.lower,
            "upper": self.upper,
        }


def quadratic_form(surface: FittedSurface) -> Quadratic | None:
    """The surface as c + b'z + z'Bz in range-coded units; None above degree 2."""
    if any(t.degree > 2 for t in surface.terms):
        return None
    factors = surface.factors
    active = tuple(
        i
        for i, f in enumerate(factors)
        if f.high > f.low and any(t.powers[i] for t in surface.terms)
    )
    k = len(factors)
    const, b, big = 0.0, np.zeros(k), np.zeros((k, k))
    for term, coef in zip(surface.terms, surface.coef, strict=True):
        used = [i for i, p in enumerate(term.powers) if p]
        if not used:
            const += float(coef)
        elif term.degree == 1:
            b[used[0]] += coef
        elif len(used) == 1:
            big[used[0], used[0]] += coef
        else:
            big[used[0], used[1]] += coef / 2.0
            big[used[1], used[0]] += coef / 2.0
    # x = a + d z: the surface's own coding in terms of the range coding
    mid = np.array([(f.low + f.high) / 2.0 for f in factors])
    half = np.array([(f.high - f.low) / 2.0 for f in factors])
    centre = np.array([f.center for f in factors])
    scale = np.array([f.scale for f in factors])
    a, d = (mid - centre) / scale, half / scale
    sel = list(active)
    const += float(b @ a + a @ big @ a)
    bz = (d * (b + 2.0 * big @ a))[sel]
    bigz = (np.outer(d, d) * big)[np.ix_(sel, sel)]
    return Quadratic(active, const, bz, bigz)


def canonical_analysis(surface: FittedSurface) -> Optimum | None:
    """The stationary point and its type; None for degree 1, above degree 2, or without
    curvature terms."""
    quad = quadratic_form(surface)
    if surface.degree < 2 or quad is None or not quad.active or not np.any(quad.B):
        return None
    eigenvalues, vectors = np.linalg.eigh(quad.B)
    largest = float(np.max(np.abs(eigenvalues)))
    flat = np.abs(eigenvalues) < RIDGE_RATIO * largest
    if flat.any():
        kind = "ridge"
    elif (eigenvalues < 0).all():
        kind = "maximum"
    elif (eigenvalues > 0).all():
        kind = "minimum"
    else:
        kind = "saddle"
    w = vectors.T @ quad.b
    keep = ~flat
    z = vectors[:, keep] @ (-0.5 * w[keep] / eigenvalues[keep])
    frame = _frame(surface, quad.active, z)
    row = surface.predict(frame).iloc[0]
    wanted = "minimum" if DIRECTIONS.get(surface.metric) == "minimize" else "maximum"
    return Optimum(
        type=kind,
        inside=bool(np.all(np.abs(z) <= 1.0 + INSIDE_SLACK)),
        point=_point(frame),
        coded={surface.factors[i].param: float(v) for i, v in zip(quad.active, z, strict=True)},
        eigenvalues=tuple(float(v) for v in eigenvalues),
        mean=float(row["mean"]),
        lower=float(row["mean_lower"]),
        upper=float(row["mean_upper"]),
        best=kind == wanted,
    )


def ridge_path(surface: FittedSurface, radii: tuple[float, ...] = PATH_RADII) -> list[PathPoint]:
    """The best predicted point at each radius from the centre (steepest ascent for a degree-1
    surface); toward lower values for a minimised metric. Empty above degree 2."""
    quad = quadratic_form(surface)
    if quad is None or not quad.active or not np.any(quad.b) and not np.any(quad.B):
        return []
    sign = -1.0 if DIRECTIONS.get(surface.metric) == "minimize" else 1.0
    points = np.array([_ridge_point(sign * quad.b, sign * quad.B, r) for r in radii])
    frame = pd.concat([_frame(surface, quad.active, z) for z in points], ignore_index=True)
    predicted = surface.predict(frame)
    return [
        PathPoint(
            radius=float(r),
            point=_point(frame.iloc[[j]]),
            inside=bool(np.all(np.abs(points[j]) <= 1.0 + INSIDE_SLACK)),
            mean=float(predicted["mean"].iloc[j]),
            lower=float(predicted["mean_lower"].iloc[j]),
            upper=float(predicted["mean_upper"].iloc[j]),
        )
        for j, r in enumerate(radii)
    ]


def _ridge_point(b: np.ndarray, big: np.ndarray, radius: float) -> np.ndarray:
    """argmax of b'z + z'Bz on |z| = radius: z = (μI - B)⁻¹ b / 2 with μ > λ_max."""
    if radius <= 0:
        return np.zeros(b.size)
    eigenvalues, vectors = np.linalg.eigh(big)
    w = vectors.T @ b
    top = float(eigenvalues.max())
    on_top = np.isclose(eigenvalues, top, rtol=0.0, atol=1e-12 * max(1.0, abs(top)))

    def coords(mu: float) -> np.ndarray:
        return 0.5 * w / (mu - eigenvalues)

    if np.all(np.abs(w[on_top]) < 1e-12 * max(1.0, float(np.abs(w).max(initial=0.0)))):
        # the "hard case": b has no component on the top eigenvector(s)
        rest = np.where(on_top, 0.0, 0.5 * w / np.where(on_top, 1.0, top - eigenvalues))
        if np.linalg.norm(rest) <= radius:
            extra = np.sqrt(max(radius**2 - float(rest @ rest), 0.0))
            first = int(np.flatnonzero(on_top)[0])
            rest[first] += extra
            return np.asarray(vectors @ rest, dtype=float)
    low = top
    high = top + max(1.0, float(np.linalg.norm(b)) / radius)
    while np.linalg.norm(coords(high)) > radius:
        high = top + 2.0 * (high - top)
    for _ in range(200):
        mid = (low + high) / 2.0
        if np.linalg.norm(coords(mid)) > radius:
            low = mid
        else:
            high = mid
    return np.asarray(vectors @ coords(high), dtype=float)


def _frame(surface: FittedSurface, active: tuple[int, ...], z: np.ndarray) -> pd.DataFrame:
    """Raw parameter values of a range-coded point (constant factors at their one value)."""
    row = {}
    for i, f in enumerate(surface.factors):
        t = f.low
        if i in active:
            t = (f.low + f.high) / 2.0 + (f.high - f.low) / 2.0 * float(z[active.index(i)])
        row[f.param] = f.to_param(t)
    return pd.DataFrame([row])


def _point(frame: pd.DataFrame) -> dict[str, float]:
    return {str(k): float(v) for k, v in frame.iloc[0].items()}
