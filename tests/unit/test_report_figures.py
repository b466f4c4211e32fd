"""Report figure functions on small synthetic tables with known structure."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import TwoSlopeNorm

from advisor.report import (
    coefficient_figure,
    compute_fronts,
    contour_figure,
    interaction_figure,
    main_effects_figure,
    pareto_figure,
    seed_figure,
    seed_summary,
    strongest_pair,
)
from advisor.report._data import averaged_prediction, candidate_grid
from advisor.report._html import Page
from advisor.steering import parse_objectives
from advisor.surface import current_surfaces, fit_surfaces
from advisor.table import PARAMS, TrialsTable

BASELINE = {"accuracy": 0.8, "f1": 0.5, "loss": 0.45}


def synthetic(seeds: tuple[int, ...] = (0, 1)) -> TrialsTable:
    """f1 with a strong lr x batch interaction and nothing else interacting."""
    rng = np.random.default_rng(3)
    records = []
    for lr, batch, epochs, seed in itertools.product(
        [1e-5, 3e-5, 1e-4], [8, 16, 32], [1, 2, 3], seeds
    ):
        x_lr, x_b, x_e = np.log10(lr) + 4.5, np.log2(batch) - 4, epochs - 2
        f1 = 0.6 + 0.1 * x_lr - 0.03 * x_b + 0.02 * x_e + 0.15 * x_lr * x_b
        loss = 0.5 - 0.05 * x_lr + 0.01 * x_b - 0.02 * x_e + 0.03 * x_lr**2
        records.append(
            {
                "learning_rate": lr,
                "batch_size": batch,
                "epochs": epochs,
                "seed": seed,
                "f1": f1 + rng.normal(0, 0.01),
                "loss": loss + rng.normal(0, 0.01),
                "accuracy": 0.7 + 0.05 * x_lr + rng.normal(0, 0.01),
            }
        )
    rows = pd.DataFrame(records)
    for m, v in BASELINE.items():
        rows[f"{m}_rel"] = rows[m] - v
    return TrialsTable(rows=rows, baseline=dict(BASELINE))


@pytest.fixture(scope="module")
def table() -> TrialsTable:
    return synthetic()


@pytest.fixture(scope="module")
def surfaces(table: TrialsTable) -> dict:
    return fit_surfaces(table, "accuracy,f1,loss", "both", 2).by_target()


def test_main_effects_axes_scales_labels_title(table, surfaces) -> None:
    fig = main_effects_figure(surfaces["f1"], table.rows, baseline=BASELINE["f1"])
    lr, batch, epochs = fig.axes
    assert (lr.get_xscale(), batch.get_xscale(), epochs.get_xscale()) == ("log", "log", "linear")
    assert batch.xaxis.get_transform().base == 2
    assert "learning rate" in lr.get_xlabel() and "batch size" in batch.get_xlabel()
    assert "epochs" in epochs.get_xlabel()
    assert "F1" in lr.get_ylabel() and "higher is better" in lr.get_ylabel()
    assert "main effect" in fig.get_suptitle() and "95% CI" in fig.get_suptitle()
    assert [t.get_text() for t in batch.get_xticklabels()] == ["8", "16", "32"]
    baseline_lines = [ln for ln in lr.get_lines() if list(ln.get_ydata()) == [0.5, 0.5]]
    assert baseline_lines, "the baseline is drawn as a horizontal line"


def test_averaged_prediction_is_the_mean_of_predictions_with_exact_interval(
    table, surfaces
) -> None:
    surface = surfaces["f1"]
    grid = pd.DataFrame({"learning_rate": [2e-5, 5e-5]})
    got = averaged_prediction(surface, grid, table.rows)
    others = table.rows[["batch_size", "epochs"]].drop_duplicates()
    for i, lr in enumerate(grid["learning_rate"]):
        frame = others.assign(learning_rate=lr)[list(PARAMS)]
        assert got["mean"][i] == pytest.approx(surface.predict(frame)["mean"].mean())
    one = table.rows.iloc[[0]]
    single = averaged_prediction(surface, one[["learning_rate"]], one)
    direct = surface.predict(one[list(PARAMS)])
    assert single["lower"][0] == pytest.approx(direct["mean_lower"].iloc[0])
    assert single["upper"][0] == pytest.approx(direct["mean_upper"].iloc[0])


def test_interaction_finds_the_planted_pair(table, surfaces) -> None:
    first, second, p = strongest_pair(surfaces["f1"])
    assert {first, second} == {"learning_rate", "batch_size"} and p < 1e-6
    fig = interaction_figure(surfaces["f1"], table.rows)
    ax = fig.axes[0]
    assert "learning rate × batch size" in ax.get_title() and "p<0.001" in ax.get_title()
    assert ax.get_xscale() == "log" and "learning rate" in ax.get_xlabel()
    labels = ax.get_legend_handles_labels()[1]
    assert {"batch 8 (fitted)", "batch 16 (fitted)", "batch 32 (fitted)"} <= set(labels)


def test_interaction_is_none_without_interaction_terms(table) -> None:
    linear = fit_surfaces(table, "f1", "absolute", 1).by_target()["f1"]
    assert strongest_pair(linear) is None
    assert interaction_figure(linear, table.rows) is None


def test_contours_absolute_and_relative(table, surfaces) -> None:
    fig = contour_figure(surfaces["f1"], table.rows)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 3
    assert panels[0].get_xscale() == "log" and panels[0].get_yscale() == "log"
    assert panels[0].get_title() == "at epochs = 2" and panels[1].get_title() == "at batch = 16"
    assert "fitted mean" in fig.get_suptitle()
    relative = contour_figure(surfaces["f1_rel"], table.rows)
    assert "baseline" in relative.get_suptitle()
    norms = [c.norm for ax in relative.axes for c in ax.collections if hasattr(c, "norm")]
    assert any(isinstance(n, TwoSlopeNorm) and n.vcenter == 0.0 for n in norms)


def test_coefficient_plot_lists_terms_without_intercept(surfaces) -> None:
    chosen = [surfaces["f1"], surfaces["loss"]]
    fig = coefficient_figure(chosen)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert sorted(ticks) == sorted(t.term for t in surfaces["f1"].term_stats[1:])
    assert "Intercept" not in ticks
    assert "95% CIs" in fig.get_suptitle() and "intercept left out" in fig.get_suptitle()
    assert "F1" in fig.axes[0].get_title() and "eval loss" in fig.axes[1].get_title()


def test_observed_front_is_the_non_dominated_configuration_means() -> None:
    rows = pd.DataFrame(
        {
            "learning_rate": [1e-5, 1e-5, 2e-5, 3e-5, 4e-5],
            "batch_size": [8, 8, 8, 8, 8],
            "epochs": [1, 1, 1, 1, 1],
            "f1": [0.7, 0.9, 0.85, 0.6, 0.9],
            "loss": [0.5, 0.3, 0.3, 0.2, 0.5],
        }
    )
    fronts = compute_fronts(rows, {}, parse_objectives("f1,loss"))
    # config means: 1e-5 (0.8, 0.4), 2e-5 (0.85, 0.3), 3e-5 (0.6, 0.2), 4e-5 (0.9, 0.5)
    assert list(fronts.observed["learning_rate"]) == [3e-5, 2e-5, 4e-5]
    assert list(fronts.observed["n"]) == [1, 1, 1] and len(fronts.configs) == 4
    assert fronts.predicted is None


def test_predicted_front_and_figure(table, surfaces) -> None:
    objectives = parse_objectives("f1,loss")
    fronts = compute_fronts(table.rows, surfaces, objectives)
    predicted = fronts.predicted
    assert fronts.candidates == len(candidate_grid(table.rows)) > 27
    values = np.column_stack([-predicted["f1"], predicted["loss"]])
    for i, point in enumerate(values):  # nothing in the front dominates another front point
        dominated = np.all(values <= point, axis=1) & np.any(values < point, axis=1)
        assert not dominated.any(), i
    assert (predicted["f1_lower"] <= predicted["f1"]).all()
    assert (predicted["loss"] <= predicted["loss_upper"]).all()
    fig = pareto_figure(fronts)
    ax = fig.axes[0]
    assert "F1" in ax.get_xlabel() and "higher is better" in ax.get_xlabel()
    assert "loss" in ax.get_ylabel() and "lower is better" in ax.get_ylabel()
    assert re.search(
        r"observed front is (\d+ configurations|a single configuration) of 27 tried",
        fig.get_suptitle(),
    )


def test_seed_summary_pools_within_configuration_variance() -> None:
    rows = pd.DataFrame(
        {
            "learning_rate": [1e-5, 1e-5, 2e-5, 2e-5, 3e-5],
            "batch_size": [8] * 5,
            "epochs": [1] * 5,
            "seed": [0, 1, 0, 1, 0],
            "f1": [0.5, 0.7, 0.55, 0.55, 0.9],
        }
    )
    summary = seed_summary(rows, ["f1"]).iloc[0]
    assert summary["configs"] == 2
    assert summary["seed_sd"] == pytest.approx(np.sqrt((0.02 + 0.0) / 2))
    assert summary["config_sd"] == pytest.approx(np.std([0.6, 0.55, 0.9], ddof=1))
    fig = seed_figure(rows, ["f1"])  # sorted by mean, lowest at the bottom
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
        "lr 2e-05 · batch 8 · 1 ep",
        "lr 1e-05 · batch 8 · 1 ep",
    ]
    assert "2 replicated configurations" in fig.get_suptitle()


def test_seed_figure_is_none_without_replicates() -> None:
    assert seed_figure(synthetic(seeds=(0,)).rows, ["f1"]) is None


def test_stored_surfaces_reused_when_current_and_refitted_when_stale(table, surfaces) -> None:
    got, notes = current_surfaces(table, surfaces)
    assert got["f1"] is surfaces["f1"] and notes == []
    fewer = TrialsTable(rows=table.rows.iloc[:-2], baseline=table.baseline)
    got, notes = current_surfaces(fewer, surfaces)
    assert got["f1"].stats.n == len(table.rows) - 2
    assert any("fitted on 54 trials, now 52: refitted" in n for n in notes)
    few = TrialsTable(rows=table.rows.iloc[::7], baseline=None)  # 8 rows, 3 levels each
    got, notes = current_surfaces(few, None, degree=2)
    assert got["f1"].degree == 1 and "f1_rel" not in got
    assert any("at degree 1 (too few trials for degree 2)" in n for n in notes)


def test_page_is_self_contained(tmp_path) -> None:
    fig = seed_figure(synthetic().rows, ["f1"])
    path = tmp_path / "seeds.png"
    fig.savefig(path)
    page = Page("a <report>")
    page.heading("Seed noise")
    page.figure(path, "seed spread")
    page.table(["metric", "sd"], [["f1", "0.01"]])
    html = page.html()
    assert "a &lt;report&gt;" in html and 'href="#seed-noise"' in html
    assert re.findall(r'src="([^"]+)"', html)[0].startswith("data:image/png;base64,")
