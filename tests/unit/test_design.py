"""Grid designs: each design's point count and shape, bounds, log spacing, integer epochs,
snapping to the allowed batch sizes, Latin-hypercube strata, replicate seeds."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from advisor.config import Dimension, parse_spec
from advisor.design import (
    design_configs,
    design_points,
    factor_levels,
    from_coded,
    point_key,
    snap,
)
from advisor.errors import SpecError

SPACE = {
    "learning_rate": {"low": 1e-5, "high": 1e-3},
    "batch_size": [8, 16, 32, 64],
    "epochs": {"low": 1, "high": 5},
}
LR = Dimension("learning_rate", 1e-5, 1e-3, log=True)
BATCH = Dimension("batch_size", 8, 64, log=True, integer=True, choices=(8, 16, 32, 64))
EPOCHS = Dimension("epochs", 1, 5, integer=True)


def spec(grid: dict[str, Any], space: dict[str, Any] | None = None) -> Any:
    return parse_spec(
        {
            "study": {"name": "x"},
            "model": {"name": "m"},
            "data": {},
            "space": space or SPACE,
            "grid": grid,
        }
    )


def configs(grid: dict[str, Any], space: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    s = spec(grid, space)
    return design_configs(s.space, s.design, levels=s.levels, samples=s.samples, seed=s.seeds[0])


def coded(config: dict[str, Any]) -> tuple[int, ...]:
    """-1 / 0 / +1 per factor for configs on the 3-level lattice used below."""
    lr = {1e-5: -1, 1e-4: 0, 1e-3: 1}[config["learning_rate"]]
    batch = {8: -1, 16: 0, 64: 1}[config["batch_size"]]
    epochs = {1: -1, 3: 0, 5: 1}[config["epochs"]]
    return lr, batch, epochs


def in_bounds(config: dict[str, Any]) -> bool:
    return (
        1e-5 <= config["learning_rate"] <= 1e-3
        and config["batch_size"] in (8, 16, 32, 64)
        and 1 <= config["epochs"] <= 5
        and isinstance(config["epochs"], int)
        and isinstance(config["batch_size"], int)
    )


def test_factorial_crosses_every_level_of_every_factor() -> None:
    points = configs({"design": "factorial", "levels": 3})
    assert len(points) == 3 * 4 * 3
    assert {p["learning_rate"] for p in points} == {1e-5, 1e-4, 1e-3}  # log-spaced
    assert {p["batch_size"] for p in points} == {8, 16, 32, 64}  # a list gives all its values
    assert {p["epochs"] for p in points} == {1, 3, 5}
    combos = {(p["learning_rate"], p["batch_size"], p["epochs"]) for p in points}
    assert len(combos) == len(points)


def test_face_centred_ccd_has_corners_face_centres_and_a_centre() -> None:
    points = configs({"design": "ccd"})
    assert len(points) == 8 + 6 + 1 and all(in_bounds(p) for p in points)
    codes = {coded(p) for p in points}
    corners = set(itertools.product((-1, 1), repeat=3))
    faces = {tuple(s if i == j else 0 for i in range(3)) for j in range(3) for s in (-1, 1)}
    assert codes == corners | faces | {(0, 0, 0)}


def test_box_behnken_has_edge_midpoints_and_a_centre_but_no_corners() -> None:
    points = configs({"design": "box-behnken"})
    assert len(points) == 3 * 4 + 1 and all(in_bounds(p) for p in points)
    codes = {coded(p) for p in points}
    assert (0, 0, 0) in codes
    assert all(sum(c != 0 for c in code) in (0, 2) for code in codes)  # never a corner


def test_latin_hypercube_fills_each_stratum_once_and_is_seeded() -> None:
    n = 12
    space = {**SPACE, "batch_size": {"low": 8, "high": 64}}
    points = configs({"design": "lhs", "samples": n, "seeds": [3]}, space)
    assert len(points) == n and all(1e-5 <= p["learning_rate"] <= 1e-3 for p in points)
    # learning rate is continuous: in log space each of the n equal strata holds one point
    position = [
        (math.log(p["learning_rate"]) - math.log(1e-5)) / (math.log(1e-3) - math.log(1e-5))
        for p in points
    ]
    strata = sorted(min(int(x * n), n - 1) for x in position)
    assert strata == list(range(n))
    assert all(isinstance(p["epochs"], int) and 1 <= p["epochs"] <= 5 for p in points)
    again = configs({"design": "lhs", "samples": n, "seeds": [3]}, space)
    other = configs({"design": "lhs", "samples": n, "seeds": [4]}, space)
    assert again == points and other != points


def test_lhs_snaps_batch_sizes_to_the_allowed_values() -> None:
    points = configs({"design": "lhs", "samples": 20})
    assert {p["batch_size"] for p in points} <= {8, 16, 32, 64}
    assert len({tuple(p.values()) for p in points}) == len(points)


def test_levels_are_log_spaced_for_log_ranges_and_linear_otherwise() -> None:
    lr = factor_levels(LR, 4)
    ratios = np.diff(np.log10(lr))
    assert lr[0] == 1e-5 and lr[-1] == 1e-3
    assert np.allclose(ratios, 2 / 3, atol=1e-5)
    linear = Dimension("learning_rate", 1e-5, 1e-3, log=False)
    assert factor_levels(linear, 3) == [1e-5, 0.000505, 1e-3]


def test_epochs_are_whole_numbers() -> None:
    assert factor_levels(EPOCHS, 3) == [1, 3, 5]
    assert factor_levels(EPOCHS, 4) == [1, 2, 4, 5]  # 2.33 and 3.67 round
    assert factor_levels(EPOCHS, 9) == [1, 2, 3, 4, 5]  # duplicates collapse
    assert all(isinstance(v, int) for v in factor_levels(EPOCHS, 4))


def test_one_level_is_the_centre_of_the_range() -> None:
    assert factor_levels(LR, 1) == [1e-4]  # geometric centre of a log range
    assert factor_levels(EPOCHS, 1) == [3]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 8), (8, 8), (11, 8), (12, 16), (22, 16), (24, 32), (45, 32), (46, 64), (1000, 64)],
)
def test_snapping_to_the_nearest_allowed_batch_size_in_log_space(
    value: float, expected: int
) -> None:
    assert snap(BATCH, value) == expected


def test_snapping_ranges_clamps_and_rounds() -> None:
    assert snap(EPOCHS, 2.6) == 3 and snap(EPOCHS, 9) == 5 and snap(EPOCHS, 0) == 1
    assert snap(LR, 1e-7) == 1e-5 and snap(LR, 1.23456789e-4) == 1.23457e-4


def test_coded_values_map_onto_the_range_and_clamp() -> None:
    assert from_coded(LR, -1.0) == 1e-5 and from_coded(LR, 1.0) == 1e-3
    assert from_coded(LR, 0.0) == 1e-4 and from_coded(LR, 7.0) == 1e-3
    assert from_coded(EPOCHS, 0.0) == 3 and from_coded(EPOCHS, -3.0) == 1


def test_seeds_multiply_the_configurations() -> None:
    s = spec({"design": "ccd", "seeds": [0, 1, 2]})
    points = design_points(s)
    assert len(points) == 15 * 3
    assert [p["seed"] for p in points[:6]] == [0, 1, 2, 0, 1, 2]
    base = configs({"design": "ccd"})
    assert [{k: v for k, v in p.items() if k != "seed"} for p in points[::3]] == base
    keys = [point_key(p) for p in points]
    assert len(set(keys)) == len(points)
    assert keys[0] == "lr=1e-05|bs=8|ep=1|seed=0"


def test_fixed_values_give_one_configuration_for_every_design() -> None:
    fixed = {"learning_rate": [2e-5], "batch_size": [16], "epochs": [3]}
    expected = [{"learning_rate": 2e-5, "batch_size": 16, "epochs": 3}]
    for grid in ({"design": "factorial"}, {"design": "ccd"}, {"design": "box-behnken"}):
        assert configs(grid, fixed) == expected


def test_unknown_design_lists_the_choices() -> None:
    with pytest.raises(SpecError, match="factorial, ccd, box-behnken, lhs"):
        design_configs((LR, BATCH, EPOCHS), "sobol")
    with pytest.raises(SpecError, match="grid.samples is required"):
        design_configs((LR, BATCH, EPOCHS), "lhs")
