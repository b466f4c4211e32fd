"""Surface priors: term naming, mapping onto a study's parameters and metrics, learning, use."""

from __future__ import annotations

import itertools
import json

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution

from advisor.steering import (
    BayesianQuadratic,
    Coordinate,
    SurfacePrior,
    SurfaceSampler,
    finetune_prior,
    fit_absolute_prior,
    fit_surface_prior,
)
from advisor.steering._prior import prior_from_rows
from advisor.steering._surrogate import quadratic_features, term_names

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_term_names_follow_the_feature_columns_and_ignore_input_order() -> None:
    assert term_names(["b", "a"]) == ["b", "a", "b^2", "a*b", "a^2"]
    assert term_names(["b", "a"], degree=1) == ["b", "a"]
    x = np.array([[2.0, 3.0]])
    phi, _ = quadratic_features(x)
    # b=2, a=3: b, a, b^2, a*b, a^2
    np.testing.assert_allclose(phi[0], [2.0, 3.0, 4.0, 6.0, 9.0])


PRIOR = SurfacePrior(
    coefficients={"f1": {"lr": -1.0, "epochs": -0.5, "epochs*lr": 0.25, "lr^2": 0.1}},
    directions={"f1": "maximize"},
)


def test_means_map_terms_by_name_whatever_the_input_order() -> None:
    means = PRIOR.means(["epochs", "lr"], [("f1", "maximize")])
    # epochs, lr, epochs^2, epochs*lr, lr^2
    np.testing.assert_allclose(means[0], [-0.5, -1.0, np.nan, 0.25, 0.1])
    swapped = PRIOR.means(["lr", "epochs"], [("f1", "maximize")])
    np.testing.assert_allclose(swapped[0], [-1.0, -0.5, 0.1, 0.25, np.nan])


def test_means_for_other_parameters_metrics_and_directions() -> None:
    means = PRIOR.means(
        ["lr", "warmup"],
        [("f1_rel", "maximize"), ("f1", "minimize"), ("loss", "minimize")],
    )
    # lr, warmup, lr^2, lr*warmup, warmup^2
    np.testing.assert_allclose(means[0], [-1.0, np.nan, 0.1, np.nan, np.nan])
    np.testing.assert_allclose(means[1], [1.0, np.nan, -0.1, np.nan, np.nan])
    assert np.isnan(means[2]).all()
    renamed = PRIOR.renamed({"lr_level": "lr"})
    np.testing.assert_allclose(renamed.means(["lr_level"], [("f1", "maximize")], 1), [[-1.0]])


def test_round_trip_and_bad_input(tmp_path) -> None:
    path = tmp_path / "prior.json"
    path.write_text(json.dumps(PRIOR.to_dict()))
    assert SurfacePrior.load(path).coefficients == PRIOR.coefficients
    renamed = PRIOR.renamed({"lr_level": "lr"})
    assert SurfacePrior.from_dict(renamed.to_dict()) == renamed
    with pytest.raises(ValueError, match="not a surface prior"):
        SurfacePrior.from_dict({"coefficients": {"f1": 3}})
    with pytest.raises(ValueError, match="direction"):
        SurfacePrior.from_dict({"coefficients": {"f1": {"lr": 1.0}}, "directions": {}})


def test_fit_surface_prior_averages_the_grids_shapes() -> None:
    rng = np.random.default_rng(0)
    x = np.array(list(itertools.product(np.linspace(-1, 1, 5), repeat=2)))
    grids = []
    for slope in (1.0, 2.0):
        # f1 rises with the first input, loss bottoms out in the middle of the second.
        f1 = 0.8 + 0.05 * slope * x[:, 0] + rng.normal(0, 0.002, len(x))
        loss = 0.3 + 0.1 * x[:, 1] ** 2 + rng.normal(0, 0.002, len(x))
        grids.append((x, np.column_stack([f1, loss])))
    prior = fit_surface_prior(
        grids, ["lr", "epochs"], [("f1", "maximize"), ("loss", "minimize")], focus=None
    )
    f1, loss = prior.coefficients["f1"], prior.coefficients["loss"]
    # Standardised: a linear response of the first input has slope 1 / sd(x) = 1.41.
    assert f1["lr"] == pytest.approx(-np.sqrt(2), abs=0.05)
    assert abs(f1["epochs"]) < 0.05 and abs(f1["lr^2"]) < 0.05
    assert loss["epochs^2"] > 1.0 and abs(loss["lr"]) < 0.05
    with pytest.raises(ValueError, match="at least one grid"):
        fit_surface_prior([], ["lr"], [("f1", "maximize")])


def test_fit_with_a_prior_mean_matches_direct_ridge_algebra() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (8, 2))
    y = np.column_stack([x[:, 0] + rng.normal(0, 0.3, 8), rng.normal(0, 1, 8)])
    given = np.array([[0.7, np.nan, 0.2, np.nan, -0.3], [np.nan] * 5])
    model = BayesianQuadratic(bowl=0.5).fit(x, y, given)
    phi, orders = quadratic_features(x)
    scale = np.sqrt(np.where(orders == 2, 0.5, 1.0))
    z = (phi - phi.mean(axis=0)) * scale
    for j, per_term in enumerate(
        [[0.7, 0.0, 0.2, 0.0, -0.3], [0.0, 0.0, 0.5, 0.0, 0.5]]  # NaN: the bowl's default
    ):
        prior = np.array(per_term) / scale
        t = (y[:, j] - y[:, j].mean()) / y[:, j].std()
        precision = model.prior_precision_[j][0] * model.noise_var_[j]
        beta = prior + np.linalg.solve(z.T @ z + precision * np.eye(5), z.T @ (t - z @ prior))
        np.testing.assert_allclose(model.coef_[j], beta, atol=1e-8)
    with pytest.raises(ValueError, match="shape"):
        BayesianQuadratic().fit(x, y, np.zeros((1, 5)))


def test_the_shipped_prior_names_the_finetune_parameters_and_metrics() -> None:
    prior = finetune_prior()
    assert set(prior.coefficients) == {"accuracy", "f1", "loss"}
    assert prior.directions["loss"] == "minimize"
    assert prior.version == 2
    names = ["learning_rate", "batch_size", "epochs"]
    objectives = [("f1", "maximize"), ("loss", "minimize")]
    # An absolute prior places a box only when told its ranges.
    assert np.isnan(prior.means(names, objectives)).all()
    usual = {
        "learning_rate": (1e-5, 2e-4, True),
        "batch_size": (8, 32, True),
        "epochs": (1, 3, False),
    }
    means = prior.means(names, objectives, 2, usual)
    assert not np.isnan(means).any()
    # What the usual benchmark grids show: F1 rises with learning rate and epochs (negative
    # coefficients of the minimised -F1).
    assert means[0, 0] < 0 and means[0, 2] < 0
    # Absolute coordinates: a box moved up a decade sees the loss rise with learning rate.
    high = {**usual, "learning_rate": (1e-4, 2e-3, True)}
    assert prior.means(names, objectives, 2, high)[1, 0] > 0


def first_steered_proposal(prior: SurfacePrior | None) -> float:
    """The learning rate proposed after three trials that all ran at the middle one."""
    study = optuna.create_study(
        direction="maximize",
        # Trials that say nothing about the learning rate leave the prior its initial weight:
        # a confident one, to see where its means alone point.
        sampler=SurfaceSampler(
            n_startup_trials=3, prior=prior, seed=0, exploration=0.05, prior_confidence=0.99
        ),
    )
    study.set_metric_names(["f1"])
    space = {
        "lr": FloatDistribution(1e-5, 1e-3, log=True),
        "epochs": FloatDistribution(1.0, 3.0),
    }
    for epochs, f1 in ((1.0, 0.5), (2.0, 0.6), (3.0, 0.55)):
        study.add_trial(
            optuna.trial.create_trial(
                params={"lr": 1e-4, "epochs": epochs}, distributions=space, values=[f1]
            )
        )
    return study.ask(space).params["lr"]


def test_the_sampler_starts_from_the_prior() -> None:
    rising = SurfacePrior({"f1": {"lr": -1.0}}, {"f1": "maximize"})
    falling = SurfacePrior({"f1": {"lr": 1.0}}, {"f1": "maximize"})
    # The trials say nothing about the learning rate: the proposal goes where the prior
    # puts the best F1 (the bowl alone would stay near the middle).
    assert first_steered_proposal(rising) > 3e-4
    assert first_steered_proposal(falling) < 3e-5
    assert 3e-5 <= first_steered_proposal(None) <= 3e-4
    with pytest.raises(ValueError, match="prior"):
        SurfaceSampler(prior="bogus")


ABSOLUTE = SurfacePrior(
    coefficients={
        "f1": {"lr": 0.3, "epochs": -0.2, "lr^2": 0.5, "epochs*lr": 0.1, "epochs^2": 0.05}
    },
    directions={"f1": "minimize"},
    coordinates={"lr": Coordinate("log10", 1e-4), "epochs": Coordinate("linear", 2.0)},
)


def absolute_value(lr: np.ndarray, epochs: np.ndarray) -> np.ndarray:
    b = ABSOLUTE.coefficients["f1"]
    u, e = np.log10(lr) + 4.0, epochs - 2.0
    return (
        b["lr"] * u
        + b["epochs"] * e
        + b["lr^2"] * u**2
        + b["epochs*lr"] * u * e
        + (b["epochs^2"] * e**2)
    )


def test_an_absolute_prior_is_the_same_quadratic_on_any_box() -> None:
    rng = np.random.default_rng(3)
    for low, high, e_low, e_high in ((1e-5, 2e-4, 1, 3), (1e-4, 2e-3, 2, 5), (3e-6, 1e-5, 1, 2)):
        ranges = {"lr": (low, high, True), "epochs": (e_low, e_high, False)}
        means = ABSOLUTE.means(["lr", "epochs"], [("f1", "minimize")], 2, ranges)[0]
        x = rng.uniform(-1, 1, (20, 2))
        lr = 10 ** (np.log10(low) + (x[:, 0] + 1) / 2 * np.log10(high / low))
        epochs = e_low + (x[:, 1] + 1) / 2 * (e_high - e_low)
        phi, _ = quadratic_features(x)
        box = phi @ means
        truth = absolute_value(lr, epochs)
        # Equal up to a constant: the intercept is not part of a prior.
        np.testing.assert_allclose(box - box.mean(), truth - truth.mean(), atol=1e-9)


def test_an_absolute_prior_says_nothing_where_it_cannot_place_the_box() -> None:
    objectives = [("f1", "minimize")]
    # Learning rate searched on a linear scale: not an affine image of log10(lr).
    ranges = {"lr": (1e-5, 1e-3, False), "epochs": (1, 3, False)}
    means = ABSOLUTE.means(["lr", "epochs"], objectives, 2, ranges)[0]
    # lr, epochs, lr^2, epochs*lr, epochs^2: only the epochs terms are placed.
    assert np.isnan(means[[0, 2, 3]]).all() and not np.isnan(means[[1, 4]]).any()
    # Level indices told their values behave as the values themselves.
    levelled = ABSOLUTE.renamed({"lr_level": "lr"}).on_levels({"lr_level": [1e-5, 1e-4, 1e-3]})
    by_level = levelled.means(
        ["lr_level", "epochs"], objectives, 2, {"lr_level": (0, 2, False), "epochs": (1, 3, False)}
    )
    direct = ABSOLUTE.means(
        ["lr", "epochs"], objectives, 2, {"lr": (1e-5, 1e-3, True), "epochs": (1, 3, False)}
    )
    np.testing.assert_allclose(by_level, direct)


def test_version_2_round_trip_and_version_1_still_reads(tmp_path) -> None:
    levelled = ABSOLUTE.renamed({"lr_level": "lr"}).on_levels({"lr_level": [1e-5, 1e-4]})
    assert SurfacePrior.from_dict(json.loads(json.dumps(levelled.to_dict()))) == levelled
    old = {"source": "s", "directions": {"f1": "maximize"}, "coefficients": {"f1": {"lr": -1.0}}}
    assert SurfacePrior.from_dict(old).version == 1
    np.testing.assert_allclose(
        SurfacePrior.from_dict(old).means(["lr"], [("f1", "maximize")], 1), [[-1.0]]
    )
    with pytest.raises(ValueError, match="version"):
        SurfacePrior.from_dict({**old, "version": 3})
    with pytest.raises(ValueError, match="not a surface prior"):
        SurfacePrior.from_dict(
            {**old, "version": 2, "coordinates": {"lr": {"scale": "cubit", "origin": 1}}}
        )


def test_fit_absolute_prior_places_one_optimum_seen_through_different_boxes() -> None:
    # One response, lowest at lr = 1e-4 (u = 0), searched over two boxes on either side of it.
    grids = []
    for low, high in ((1e-5, 1e-4), (1e-4, 1e-3)):
        lr = np.logspace(np.log10(low), np.log10(high), 5)
        raw = np.array(list(itertools.product(lr, [1.0, 2.0, 3.0])))
        u = np.log10(raw[:, 0]) + 4.0
        grids.append((raw, (u**2 + 0.1 * raw[:, 1])[:, None]))
    prior = fit_absolute_prior(
        grids,
        ["lr", "epochs"],
        [("loss", "minimize")],
        coordinates=ABSOLUTE.coordinates,
        focus=None,
    )
    b = prior.coefficients["loss"]
    # The two boxes' slopes disagree in sign; the pooled quadratic puts the bowl between them.
    assert b["lr^2"] > 0 and abs(b["lr"]) < 0.05 * b["lr^2"]
    assert prior.version == 2
    with pytest.raises(ValueError, match="coordinate"):
        fit_absolute_prior(grids, ["lr", "warmup"], [("loss", "minimize")])


def test_prior_from_rows_needs_enough_configurations() -> None:
    import pandas as pd

    raw = np.array(list(itertools.product([1e-5, 1e-4, 1e-3], [8, 16, 32], [1, 2, 3])))
    rows = pd.DataFrame(raw, columns=["learning_rate", "batch_size", "epochs"])
    rows["f1"] = -((np.log10(rows["learning_rate"]) + 4) ** 2)
    prior = prior_from_rows(rows, source="study s")
    assert set(prior.coefficients) == {"f1"} and prior.source == "study s"
    assert prior.coefficients["f1"]["learning_rate^2"] > 0  # -F1 is a bowl in log lr
    with pytest.raises(ValueError, match="at least 10"):
        prior_from_rows(rows.head(9))
    with pytest.raises(ValueError, match="accuracy, f1 or loss"):
        prior_from_rows(rows.drop(columns=["f1"]))
