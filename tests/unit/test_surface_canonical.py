"""Canonical analysis and the ridge path against surfaces with a known optimum."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from advisor.surface import ResponseSurface, surface_to_dict
from advisor.surface._canonical import canonical_analysis, quadratic_form, ridge_path


def _design(n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "learning_rate": 10 ** rng.uniform(-5, -3, n),
            "batch_size": 2 ** rng.integers(3, 8, n),
            "epochs": rng.integers(1, 6, n),
        }
    )


def _coded(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # log10 lr in [-5, -3] -> centre -4; log2 batch in [3, 7] -> 5; epochs 1..5 -> 3
    return (
        np.log10(frame["learning_rate"]) + 4.0,
        np.log2(frame["batch_size"]) - 5.0,
        frame["epochs"] - 3.0,
    )


def _fit(frame: pd.DataFrame, y: np.ndarray, metric: str, coding: str = "coded"):
    return ResponseSurface(2, coding=coding).fit(frame, y, metric=metric).surface_


@pytest.mark.parametrize("coding", ["coded", "natural"])
def test_interior_maximum_is_found_with_its_type(coding: str) -> None:
    frame = _design()
    x1, x2, x3 = _coded(frame)
    # maximum at log10 lr = -3.7, log2 batch = 4.5, epochs = 3.5
    y = (
        0.9
        - 0.1 * (x1 - 0.3) ** 2
        - 0.02 * (x2 + 0.5) ** 2
        - 0.01 * (x3 - 0.5) ** 2
        + 0.01 * (x1 - 0.3) * (x2 + 0.5)
        + np.random.default_rng(1).normal(0, 1e-4, len(frame))
    )
    found = canonical_analysis(_fit(frame, y, "f1", coding))
    assert found is not None
    assert found.type == "maximum" and found.best and found.inside
    assert found.point["learning_rate"] == pytest.approx(10**-3.7, rel=0.01)
    assert found.point["batch_size"] == pytest.approx(2**4.5, rel=0.01)
    assert found.point["epochs"] == pytest.approx(3.5, abs=0.01)
    assert found.mean == pytest.approx(0.9, abs=1e-3)
    assert found.lower < found.mean < found.upper
    assert all(v < 0 for v in found.eigenvalues)


def test_loss_minimum_outside_the_region_and_a_saddle() -> None:
    frame = _design()
    x1, x2, x3 = _coded(frame)
    loss = 0.3 + 0.05 * (x1 - 2.0) ** 2 + 0.02 * x2**2 + 0.01 * x3**2  # minimum at lr 1e-2
    found = canonical_analysis(_fit(frame, loss, "loss"))
    assert found is not None and found.type == "minimum" and found.best
    assert not found.inside
    assert found.point["learning_rate"] == pytest.approx(1e-2, rel=0.02)
    saddle = 0.8 + 0.05 * x1**2 - 0.05 * x2**2 - 0.02 * x3**2
    found = canonical_analysis(_fit(frame, saddle, "accuracy"))
    assert found is not None and found.type == "saddle" and not found.best


def test_degree_one_has_no_optimum_and_a_straight_steepest_ascent_path() -> None:
    frame = _design()
    x1, x2, x3 = _coded(frame)
    y = 0.5 + 0.1 * x1 - 0.05 * x2 + 0.0 * x3
    y = y + np.random.default_rng(2).normal(0, 1e-3, len(frame))
    surface = ResponseSurface(1).fit(frame, y, metric="f1").surface_
    assert canonical_analysis(surface) is None
    assert surface_to_dict(surface)["optimum"] is None
    path = ridge_path(surface, radii=(0.0, 1.0))
    end = path[1].point
    z_lr = np.log10(end["learning_rate"]) + 4.0
    z_batch = (np.log2(end["batch_size"]) - 5.0) / 2.0  # range-coded: log2 batch spans 3..7
    # the gradient in range-coded units is (0.1, -0.05 * 2): the path follows it
    assert z_lr / z_batch == pytest.approx(0.1 / -0.1, rel=0.05)
    assert path[1].mean > path[0].mean


def test_ridge_path_is_the_best_point_on_each_sphere() -> None:
    frame = _design()
    x1, x2, x3 = _coded(frame)
    y = 0.7 + 0.05 * x1 - 0.03 * x1**2 + 0.02 * x1 * x2 - 0.01 * x3**2 + 0.01 * x2
    surface = _fit(frame, y, "f1")
    quad = quadratic_form(surface)
    assert quad is not None
    rng = np.random.default_rng(3)
    directions = rng.normal(size=(20000, len(quad.active)))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    for point in ridge_path(surface, radii=(0.5, 1.0, 1.5)):
        z = point.radius * directions
        brute = quad.const + z @ quad.b + np.einsum("ij,jk,ik->i", z, quad.B, z)
        assert point.mean >= brute.max() - 1e-6
        assert point.mean == pytest.approx(brute.max(), abs=1e-3)


def test_surface_json_carries_optimum_and_path() -> None:
    frame = _design()
    x1, x2, x3 = _coded(frame)
    y = 0.9 - 0.1 * x1**2 - 0.02 * x2**2 - 0.01 * x3**2
    data = surface_to_dict(_fit(frame, y, "accuracy"))
    assert data["optimum"]["type"] == "maximum"
    assert set(data["optimum"]["point"]) == {"learning_rate", "batch_size", "epochs"}
    assert data["path"][0]["radius"] == 0.0 and len(data["path"]) > 4
