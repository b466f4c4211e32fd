"""The surface sampler's two-part surrogate (collapsed runs) and its use of pruned runs' curves,
on synthetic studies whose truth is known."""

from __future__ import annotations

import warnings

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from advisor.steering import SurfaceSampler
from advisor.steering._collapse_part import CollapsePart, mixture_predict, mixture_sample
from advisor.steering._objectives import parse_objectives
from advisor.steering._pruned import impute_pruned

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

SPACE = {"learning_rate": FloatDistribution(0.0, 1.0), "epochs": IntDistribution(1, 4)}
SHARE = 0.509174  # positive share of the eval set: a one-class model's accuracy
PLATEAU = 2 * SHARE / (1 + SHARE)  # ... and its F1
BOUNDARY = 0.4  # runs collapse below this learning rate


def trained_f1(lr: float, epochs: int) -> float:
    return 0.5 + 0.4 * lr - 0.05 * (epochs - 3) ** 2


def collapse_study(flag: str) -> optuna.Study:
    """Runs on a 9 x 4 grid; those below BOUNDARY collapsed, marked by a `collapsed` user
    attribute (`flag="attr"`) or only by their accuracy and F1 (`flag="rule"`)."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_metric_names(["f1", "loss"])
    for lr in np.linspace(0.0, 1.0, 9):
        for epochs in (1, 2, 3, 4):
            down = lr < BOUNDARY
            f1 = PLATEAU if down else trained_f1(lr, epochs)
            attrs = {"accuracy": SHARE if down else 0.8, "f1": f1}
            if flag == "attr":
                attrs = {"collapsed": bool(down)}
            study.add_trial(
                create_trial(
                    params={"learning_rate": float(lr), "epochs": epochs},
                    distributions=SPACE,
                    values=[f1, 0.69 if down else 0.5 - 0.1 * lr],
                    user_attrs=attrs,
                )
            )
    return study


def plan_of(sampler: SurfaceSampler, study: optuna.Study):
    """The sampler's plan for a new trial (its space's dimensions in name order)."""
    trial = study.ask()
    return sampler._plan(study, study._storage.get_trial(trial._trial_id))


@pytest.mark.parametrize("flag", ["attr", "rule"])
def test_collapsed_runs_get_a_collapse_model_and_trained_surfaces(flag: str) -> None:
    study = collapse_study(flag)
    plan, part = plan_of(SurfaceSampler(search_space=SPACE, focus=None, seed=0), study)
    assert part is not None and "16 of 36 runs collapsed" in plan.decision.reason
    assert plan.model.n_ == 20  # the surfaces learnt from the runs that trained only
    assert part.plateau == pytest.approx([-PLATEAU, 0.69])  # minimised f1, loss
    # the collapse boundary is recovered: sure below it, unlikely above it
    x = plan.space.to_unit(np.array([[3.0, 0.05], [3.0, 0.95]]))  # epochs, learning_rate
    p, _ = part.probability(x)
    assert p[0] > 0.9 and p[1] < 0.1
    # deep in the collapse region the expected value is the plateau, not the trained surface
    mean, _ = mixture_predict(plan.model, part, x)
    assert -mean[0, 0] == pytest.approx(PLATEAU, abs=0.02)
    trained, _ = plan.model.predict(x)
    assert abs(-trained[0, 0] - PLATEAU) > 0.1


def test_one_surface_through_all_runs_without_two_part() -> None:
    study = collapse_study("attr")
    plan, part = plan_of(SurfaceSampler(search_space=SPACE, two_part=False, seed=0), study)
    assert part is None and plan.model.n_ == 36 and "collapsed" not in plan.decision.reason


def test_mixture_draws_centre_on_the_mixture_mean() -> None:
    study = collapse_study("attr")
    plan, part = plan_of(SurfaceSampler(search_space=SPACE, focus=None, seed=0), study)
    x = plan.space.to_unit(np.array([[2.0, 0.0], [3.0, 1.0]]))
    draws = mixture_sample(plan.model, part, x, np.random.default_rng(0), 4000, 1.0)
    mean, _ = mixture_predict(plan.model, part, x)
    # far from the boundary the draws centre on the mixture mean (near it, E[p] is not p at
    # the mean coefficients); deep in the collapse region on the plateau
    assert draws.mean(axis=0) == pytest.approx(mean, abs=0.01)
    assert -draws.mean(axis=0)[0, 0] == pytest.approx(PLATEAU, abs=0.01)


def test_collapse_part_probability_matches_the_logistic_fit() -> None:
    x = np.linspace(-1, 1, 20)[:, None]
    collapsed = x[:, 0] < 0
    part = CollapsePart.fit(x, collapsed, np.where(collapsed, 1.0, 0.0)[:, None])
    p, _ = part.probability(np.array([[-1.0], [0.0], [1.0]]))
    assert p[0] > 0.9 and p[2] < 0.1 and 0.2 < p[1] < 0.8
    assert part.plateau == pytest.approx([1.0])


# -- pruned runs ------------------------------------------------------------------------------


def curve(lr: float, epochs: int, upto: int | None = None) -> list[dict[str, float]]:
    """F1 and loss after each epoch: a run rises towards its final value linearly."""
    final_f1, final_loss = 0.6 + 0.3 * lr, 0.6 - 0.3 * lr
    points = []
    for k in range(1, (upto or epochs) + 1):
        share = k / epochs
        points.append(
            {
                "epoch": k,
                "accuracy": 0.5 + 0.3 * share,
                "f1": 0.5 + (final_f1 - 0.5) * share,
                "loss": 0.7 + (final_loss - 0.7) * share,
            }
        )
    return points


def pruned_study(one_class: bool = False) -> optuna.Study:
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_metric_names(["f1", "loss"])
    for lr in np.linspace(0.0, 1.0, 8):
        for epochs in (2, 4):
            points = curve(lr, epochs)
            study.add_trial(
                create_trial(
                    params={"learning_rate": float(lr), "epochs": epochs},
                    distributions=SPACE,
                    values=[points[-1]["f1"], points[-1]["loss"]],
                    user_attrs={"curve": points},
                )
            )
    for lr in (0.3, 0.9):
        points = curve(lr, 4, upto=2)
        if one_class and lr == 0.3:
            points[-1] = {**points[-1], "accuracy": SHARE, "f1": PLATEAU}
        study.add_trial(
            create_trial(
                params={"learning_rate": lr, "epochs": 4},
                distributions=SPACE,
                state=TrialState.PRUNED,
                user_attrs={"curve": points},
            )
        )
    return study


def test_pruned_finals_are_imputed_from_the_curve_model() -> None:
    study = pruned_study()
    done = study.get_trials(states=(TrialState.COMPLETE,))
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    values = np.array([t.values for t in done]) * np.array([-1.0, 1.0])
    objectives = parse_objectives("f1,loss")
    kept, finals = impute_pruned(done, values, pruned, objectives, np.random.default_rng(0))
    assert [t.params["learning_rate"] for t in kept] == [0.3, 0.9]
    truth = np.array([[-(0.6 + 0.3 * lr), 0.6 - 0.3 * lr] for lr in (0.3, 0.9)])
    # the curve model describes these curves closely: the draw lands near the truth
    assert finals == pytest.approx(truth, abs=0.01)
    # the value at epoch 2 of 4 is not the final one
    halfway = np.array([-pruned[0].user_attrs["curve"][-1]["f1"], 0.0])
    assert abs(finals[0, 0] - halfway[0]) > 0.05


def test_pruned_runs_enter_the_surfaces() -> None:
    study = pruned_study()
    plan, _ = plan_of(SurfaceSampler(search_space=SPACE, seed=0), study)
    assert plan.model.n_ == 18 and "2 pruned run(s) entered" in plan.decision.reason
    off, _ = plan_of(SurfaceSampler(search_space=SPACE, seed=0, impute_pruned=False), study)
    assert off.model.n_ == 16 and "pruned" not in off.decision.reason
    # still never proposed again: their configurations are pending
    assert any(np.allclose(row, [4.0, 0.9]) for row in plan.pending)


def test_a_pruned_run_still_predicting_one_class_is_left_out() -> None:
    plan, _ = plan_of(SurfaceSampler(search_space=SPACE, seed=0), pruned_study(one_class=True))
    assert plan.model.n_ == 17 and "1 pruned run(s) entered" in plan.decision.reason


def test_one_collapsed_run_is_fitted_with_the_rest() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_metric_names(["f1", "loss"])
    for i, lr in enumerate(np.linspace(0.0, 1.0, 8)):
        study.add_trial(
            create_trial(
                params={"learning_rate": float(lr), "epochs": 2},
                distributions=SPACE,
                values=[trained_f1(lr, 2), 0.5],
                user_attrs={"collapsed": i == 0},
            )
        )
    plan, part = plan_of(SurfaceSampler(search_space=SPACE, seed=0), study)
    assert part is None and plan.model.n_ == 8
