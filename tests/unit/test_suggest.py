"""The surface-predicted Pareto set: candidates stay inside the space, the front is the set of
non-dominated predicted means, a single-point front is called out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from advisor.steering import parse_objectives
from advisor.suggest import candidate_grid, predicted_front
from advisor.surface import fit_surfaces
from advisor.table import TrialsTable

SPACE = {
    "learning_rate": FloatDistribution(1e-5, 1e-3, log=True),
    "batch_size": CategoricalDistribution([8, 16, 32]),
    "epochs": IntDistribution(1, 4),
}


def _table(f1: callable, loss: callable, seed: int = 0) -> TrialsTable:
    rng = np.random.default_rng(seed)
    grid = candidate_grid(SPACE).sample(40, random_state=seed).reset_index(drop=True)
    x = np.log10(grid["learning_rate"]) + 4  # -1..1
    noise = lambda: rng.normal(0, 0.002, len(grid))  # noqa: E731
    grid["f1"] = f1(x, grid) + noise()
    grid["loss"] = loss(x, grid) + noise()
    grid["accuracy"] = grid["f1"]
    return TrialsTable(rows=grid, baseline={"accuracy": 0.7, "f1": 0.7, "loss": 0.5})


def test_candidate_grid_covers_the_space_and_nothing_else() -> None:
    grid = candidate_grid(SPACE)
    assert grid["learning_rate"].between(1e-5, 1e-3).all()
    assert set(grid["batch_size"]) == {8, 16, 32}
    assert set(grid["epochs"]) == {1, 2, 3, 4}
    assert len(grid) == 25 * 3 * 4


def test_trade_off_front_is_non_dominated_and_spread() -> None:
    # f1 rises with learning rate, loss rises too: every learning rate is a trade-off
    table = _table(lambda x, g: 0.8 + 0.05 * x, lambda x, g: 0.5 + 0.1 * x)
    surfaces = fit_surfaces(table, metrics=["f1", "loss"], mode="absolute").by_target()
    objectives = parse_objectives("f1,loss")
    front = predicted_front(surfaces, objectives, candidate_grid(SPACE), 5, table.baseline)
    assert front.front_size > 5 and len(front.suggestions) == 5
    means = [(s.predicted["f1"]["mean"], s.predicted["loss"]["mean"]) for s in front.suggestions]
    for a in means:
        assert not any(b[0] >= a[0] and b[1] <= a[1] and b != a for b in means)
    lrs = [s.params["learning_rate"] for s in front.suggestions]
    assert min(lrs) < 3e-5 and max(lrs) > 3e-4  # both ends of the trade-off are offered
    for s in front.suggestions:
        assert 0.0 <= s.front_share <= 1.0
        assert s.predicted["f1"]["lower"] < s.predicted["f1"]["mean"] < s.predicted["f1"]["upper"]
        assert "p_beats_baseline" in s.predicted["f1"]
    assert not any("no trade-off" in note for note in front.notes)
    # the joint pick balances the two: neither end of the front
    pick = front.desirability
    assert pick is not None and 0 < pick["D"] <= 1
    assert 3e-5 < pick["params"]["learning_rate"] < 3e-4
    assert all(0 <= v["d"] <= 1 for v in pick["predicted"].values())
    assert any(note.startswith("joint pick by desirability") for note in front.notes)


def test_single_point_front_is_called_out_with_its_certainty() -> None:
    # the highest learning rate, smallest batch and most epochs are best for both objectives
    table = _table(
        lambda x, g: 0.8 + 0.05 * x + 0.01 * g["epochs"] - 0.01 * np.log2(g["batch_size"]),
        lambda x, g: 0.5 - 0.1 * x - 0.01 * g["epochs"] + 0.01 * np.log2(g["batch_size"]),
    )
    surfaces = fit_surfaces(table, metrics=["f1", "loss"], mode="absolute").by_target()
    front = predicted_front(
        surfaces, parse_objectives("f1,loss"), candidate_grid(SPACE), 5, table.baseline
    )
    assert front.front_size == 1
    best = front.suggestions[0]
    assert best.params == {"learning_rate": 1e-3, "batch_size": 8, "epochs": 4}
    assert best.front_share > 0.5
    assert front.notes and "no trade-off" in front.notes[0] and "%" in front.notes[0]


def test_relative_objective_probability_of_beating_baseline() -> None:
    table = _table(lambda x, g: 0.8 + 0.05 * x, lambda x, g: 0.5 + 0.1 * x)
    surfaces = fit_surfaces(table, metrics=["f1"], mode="relative").by_target()
    front = predicted_front(
        surfaces, parse_objectives("f1_rel"), candidate_grid(SPACE), 1, table.baseline
    )
    p = front.suggestions[0].predicted["f1_rel"]
    assert p["mean"] > 0.1 and p["p_beats_baseline"] > 0.99  # 0.85 vs a 0.70 baseline
    assert isinstance(pd.Series([p["mean"]]).iloc[0], float)


# -- the way out of the box ------------------------------------------------------------------

BOX = {
    "learning_rate": FloatDistribution(1e-5, 1e-4, log=True),
    "batch_size": CategoricalDistribution([8, 16, 32]),
    "epochs": IntDistribution(1, 3),
}


def _rising_rows(seed: int = 0) -> pd.DataFrame:
    """f1 still rising at the top of the learning-rate range (its peak is at 10x the top)."""
    rng = np.random.default_rng(seed)
    rows = [
        {"learning_rate": lr, "batch_size": b, "epochs": e, "seed": s}
        for lr in (1e-5, 10**-4.5, 1e-4)
        for b in (8, 16, 32)
        for e in (1, 2, 3)
        for s in (0, 1)
    ]
    frame = pd.DataFrame(rows)
    x = np.log10(frame["learning_rate"]) + 4.5  # -0.5 .. 0.5
    frame["f1"] = 0.8 + 0.1 * x - 0.05 * x**2 + 0.005 * frame["epochs"]
    frame["f1"] += rng.normal(0, 0.002, len(frame))
    frame["accuracy"] = frame["f1"]
    frame["loss"] = 1.0 - frame["f1"]
    return frame


def test_box_extension_steps_out_where_the_surface_keeps_rising() -> None:
    from advisor.box_extension import box_extensions

    table = TrialsTable(rows=_rising_rows())
    surfaces = fit_surfaces(table, metrics=["f1"], mode="absolute").by_target()
    extensions, notes = box_extensions(surfaces, parse_objectives("f1"), candidate_grid(BOX))
    assert notes == [] and len(extensions) == 1
    ext = extensions[0]
    assert ext.params["learning_rate"] == pytest.approx(2e-4)
    assert {m["param"] for m in ext.moves} >= {"learning_rate"}
    # truth: f1 gains 0.1 * 0.301 - 0.05 * (0.801**2 - 0.5**2) = 0.0105 from 1e-4 to 2e-4
    # (plus 0.005 if epochs were stepped from 3 to 4; batch size has no effect): the interval
    # of the predicted gain covers it
    truth = 0.1 * np.log10(2) - 0.05 * ((0.5 + np.log10(2)) ** 2 - 0.25)
    truth += 0.005 * ("epochs" in {m["param"] for m in ext.moves})
    assert ext.gain["lower"] < truth < ext.gain["upper"]
    assert ext.gain["mean"] > 0
    assert "extend learning_rate high from 0.0001 to 0.0002" in ext.sentence()


def test_suggest_extend_enqueues_outside_the_box(tmp_path) -> None:
    import optuna
    from optuna.trial import TrialState

    from advisor.tune import suggest

    url = f"sqlite:///{tmp_path / 'extend.db'}"
    grid = optuna.create_study(study_name="box", storage=url, directions=["maximize"])
    for _, row in _rising_rows().iterrows():
        params = {
            "learning_rate": float(row["learning_rate"]),
            "batch_size": int(row["batch_size"]),
            "epochs": int(row["epochs"]),
        }
        grid.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions=BOX,
                values=[float(row["f1"])],
                user_attrs={
                    "seed": int(row["seed"]),
                    **{m: float(row[m]) for m in ("accuracy", "f1", "loss")},
                },
            )
        )
    plain = suggest("box", "f1", storage_url=url)
    assert plain.extensions and plain.extended == []  # said, not written
    assert "box@f1" not in optuna.get_all_study_names(url)

    result = suggest("box", "f1", storage_url=url, extend=True)
    study = optuna.load_study(study_name="box@f1", storage=url)
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.number for t in waiting] == result.extended and len(waiting) == 1
    trial = waiting[0]
    assert trial.params["learning_rate"] == pytest.approx(2e-4)  # outside [1e-5, 1e-4]
    assert trial.user_attrs["outside_box"] is True
    assert trial.distributions["learning_rate"].high >= 2e-4
    assert result.to_json()["extensions"][0]["params"] == trial.params
