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
    SurfacePrior,
    SurfaceSampler,
    finetune_prior,
    fit_surface_prior,
)
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
    names = ["learning_rate", "batch_size", "epochs"]
    means = prior.means(names, [("f1", "maximize"), ("loss", "minimize")])
    assert not np.isnan(means).any()
    # What every benchmark grid shows: F1 rises with learning rate and epochs (negative
    # coefficients of the minimised -F1).
    assert means[0, 0] < 0 and means[0, 2] < 0


def first_steered_proposal(prior: SurfacePrior | None) -> float:
    """The learning rate proposed after three trials that all ran at the middle one."""
    study = optuna.create_study(
        direction="maximize",
        sampler=SurfaceSampler(n_startup_trials=3, prior=prior, seed=0, exploration=0.05),
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
