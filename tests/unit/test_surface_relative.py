"""Relative surfaces: incremental effects at a known baseline configuration, a shift otherwise,
and the baseline's own noise in the intervals."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from advisor.surface import fit_surfaces, surface_from_dict, surface_to_dict
from advisor.surface._findings import slope_at_centre
from advisor.table import TrialsTable

BASE_CONFIG = {"learning_rate": 3e-5, "batch_size": 32.0, "epochs": 2.0}


def _rows(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        {"learning_rate": lr, "batch_size": b, "epochs": e, "seed": s}
        for lr in np.geomspace(1e-5, 1e-3, 5)
        for b in (8, 16, 32, 64)
        for e in (1, 2, 3)
        for s in (0, 1)
    ]
    frame = pd.DataFrame(rows)
    x = np.log10(frame["learning_rate"]) + 4
    z = np.log2(frame["batch_size"]) - 4
    frame["f1"] = (
        0.8 + 0.04 * x - 0.03 * x**2 - 0.01 * z + 0.01 * x * z + 0.005 * frame["epochs"]
    ) + rng.normal(0, 0.01, len(frame))
    frame["accuracy"] = frame["f1"]
    frame["loss"] = 1 - frame["f1"]
    return frame


def _fit(table: TrialsTable, mode: str = "both"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_surfaces(table, "f1", mode).by_target()


def _gradient_at(surface, config: dict[str, float]) -> np.ndarray:
    """d mean / d (factor in the surface's own units) at `config`, by central differences."""
    out = []
    for f in surface.factors:
        step = 1e-4
        t = f.transformed([config[f.param]])[0]
        hi, lo = dict(config), dict(config)
        hi[f.param], lo[f.param] = f.to_param(t + step), f.to_param(t - step)
        means = surface.predict(pd.DataFrame([hi, lo]))["mean"].to_numpy()
        out.append((means[0] - means[1]) / (2 * step) * f.scale)
    return np.array(out)


def test_relative_main_effects_are_the_absolute_gradient_at_the_baseline() -> None:
    table = TrialsTable(rows=_rows(), baseline={"f1": 0.78}, baseline_params=BASE_CONFIG)
    fits = _fit(table)
    absolute, relative = fits["f1"], fits["f1_rel"]
    assert relative.relative_kind == "incremental"
    coef = dict(zip(relative.term_names, relative.coef, strict=True))
    gradient = _gradient_at(absolute, BASE_CONFIG)
    assert [coef["lr"], coef["batch"], coef["epochs"]] == pytest.approx(gradient, abs=1e-6)
    # the intercept is the gain at the baseline's own configuration
    at_base = absolute.predict(pd.DataFrame([BASE_CONFIG]))["mean"].iloc[0]
    assert coef["Intercept"] == pytest.approx(at_base - 0.78, abs=1e-9)
    # ...and they are not a relabelled copy: slopes at the grid centre differ from these
    centre = slope_at_centre(absolute, 0)[0] * absolute.factors[0].scale
    assert abs(coef["lr"] - centre) > 0.01
    # the fitted function is the same: relative = absolute - baseline everywhere
    frame = pd.DataFrame(_rows(1)[["learning_rate", "batch_size", "epochs"]])
    assert relative.predict(frame)["mean"].to_numpy() == pytest.approx(
        absolute.predict(frame)["mean"].to_numpy() - 0.78
    )


def test_unknown_configuration_gives_a_shift_flagged_once() -> None:
    fits = _fit(TrialsTable(rows=_rows(), baseline={"f1": 0.78}))
    absolute, relative = fits["f1"], fits["f1_rel"]
    assert relative.relative_kind == "shift"
    assert relative.coef[1:] == pytest.approx(absolute.coef[1:])
    assert surface_to_dict(relative)["relative_kind"] == "shift"
    assert surface_to_dict(absolute)["relative_kind"] is None


def test_baseline_noise_widens_the_intercept_and_every_interval() -> None:
    rows = _rows()
    fits = _fit(TrialsTable(rows=rows, baseline={"f1": 0.78}, baseline_params=BASE_CONFIG))
    absolute, relative = fits["f1"], fits["f1_rel"]
    # one baseline run: its variance is the grid's pooled seed-to-seed variance
    groups = rows.groupby(["learning_rate", "batch_size", "epochs"])["f1"]
    pure = float(((rows["f1"] - groups.transform("mean")) ** 2).sum()) / (
        len(rows) - groups.ngroups
    )
    assert relative.baseline_sd == pytest.approx(np.sqrt(pure))
    frame = pd.DataFrame([BASE_CONFIG])
    se_abs = absolute.predict(frame)["mean_se"].iloc[0]
    se_rel = relative.predict(frame)["mean_se"].iloc[0]
    assert se_rel**2 == pytest.approx(se_abs**2 + pure, rel=1e-6)
    intercept = relative.term_stats[0]
    assert intercept.term == "Intercept" and intercept.se == pytest.approx(se_rel, rel=1e-6)


def test_per_seed_baselines_pair_the_differences() -> None:
    rows = _rows()
    rows = rows[~((rows["seed"] == 1) & (rows["epochs"] == 3))].reset_index(drop=True)
    runs = {0: {"f1": 0.76}, 1: {"f1": 0.80}}
    table = TrialsTable(
        rows=rows, baseline={"f1": 0.78}, baseline_params=BASE_CONFIG, baseline_runs=runs
    )
    relative = _fit(table, "relative")["f1_rel"]
    paired = rows["f1"] - rows["seed"].map({0: 0.76, 1: 0.80})
    # OLS on the paired differences: the fitted values' mean is the differences' mean
    design = relative.design(rows)
    assert float(np.mean(design @ relative.coef)) == pytest.approx(float(paired.mean()))
    unpaired = rows["f1"] - 0.78  # seed 1 is under-represented: the two means differ
    assert abs(float(paired.mean()) - float(unpaired.mean())) > 1e-3
    assert relative.baseline_sd == pytest.approx(np.sqrt(np.var([0.76, 0.80], ddof=1) / 2))


def test_relative_framework_survives_storage() -> None:
    table = TrialsTable(rows=_rows(), baseline={"f1": 0.78}, baseline_params=BASE_CONFIG)
    relative = _fit(table, "relative")["f1_rel"]
    back = surface_from_dict(surface_to_dict(relative))
    assert back.relative_kind == "incremental" and back.baseline_params == BASE_CONFIG
    assert back.baseline_sd == pytest.approx(relative.baseline_sd)
    assert back.coef == pytest.approx(relative.coef)
