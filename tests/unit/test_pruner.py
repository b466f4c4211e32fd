"""ParetoPruner on synthetic curves whose dominated runs are known (bad from epoch 1)."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from advisor.steering import ParetoPruner, parse_objectives
from advisor.steering._curve_model import (
    CurvePairs,
    draw_finals,
    fit_final_model,
    join_probability,
)

F1_LOSS = parse_objectives("f1,loss")


def curve(f1: float, loss: float, epochs: int, rng: np.random.Generator) -> list[dict]:
    """A run that ends at (f1, loss): lower F1 and higher loss earlier in its schedule."""
    out = []
    for k in range(1, epochs + 1):
        left = 1 - k / epochs
        out.append(
            {
                "epoch": k,
                "f1": f1 - 0.15 * left + rng.normal(0, 0.01) * left,
                "loss": loss + 0.2 * left + rng.normal(0, 0.01) * left,
                "train_seconds": 10.0 * k,
            }
        )
    return out


def finished_runs(rng: np.random.Generator) -> list[list[dict]]:
    """Three runs on a trade-off front near f1 0.9 / loss 0.3 and four far behind it."""
    front = [curve(0.92 - 0.03 * i, 0.32 - 0.03 * i, 3, rng) for i in range(3)]
    behind = [curve(0.3 + 0.05 * i, 0.8 - 0.03 * i, 3, rng) for i in range(4)]
    return front + behind


def test_prunes_runs_heading_off_the_front_and_keeps_those_joining_it() -> None:
    rng = np.random.default_rng(0)
    finished = finished_runs(rng)
    pruner = ParetoPruner(seed=0)
    for f1, loss in ((0.35, 0.75), (0.5, 0.6), (0.86, 0.4)):  # each dominated by a front run
        decision = pruner.should_prune(curve(f1, loss, 3, rng)[:1], 3, finished, F1_LOSS)
        assert decision.prune, decision.reason
        assert decision.probability is not None and decision.probability < 0.1
    for f1, loss in ((0.95, 0.3), (0.85, 0.2)):  # beyond the front
        for epoch in (1, 2):
            partial = curve(f1, loss, 3, rng)[:epoch]
            decision = pruner.should_prune(partial, 3, finished, F1_LOSS)
            assert not decision.prune, decision.reason
            assert decision.probability is not None and decision.probability > 0.5


def test_never_prunes_without_enough_finished_curves_nor_at_the_final_epoch() -> None:
    rng = np.random.default_rng(1)
    finished = finished_runs(rng)
    bad = curve(0.3, 0.8, 3, rng)
    pruner = ParetoPruner(min_finished=4, seed=0)
    few = pruner.should_prune(bad[:1], 3, finished[:3], F1_LOSS)
    assert not few.prune and few.probability is None
    assert few.evidence == 3 and "too little evidence" in few.reason
    assert pruner.should_prune(bad[:1], 3, finished, F1_LOSS).prune  # evidence enough: prunes
    last = pruner.should_prune(bad, 3, finished, F1_LOSS)
    assert not last.prune and "final" in last.reason
    # runs of 1 epoch say nothing about how a run goes on after epoch 1
    short = [c[-1:] for c in finished]
    for point in (p for c in short for p in c):
        point["epoch"] = 1
    assert not pruner.should_prune(bad[:1], 3, short, F1_LOSS).prune


def test_model_treats_a_partial_point_as_part_of_its_planned_schedule() -> None:
    """Under the same curves, a value after epoch 1 of 3 has more to come than after 1 of 2."""
    rng = np.random.default_rng(2)
    runs = [curve(0.5 + 0.05 * i, 0.6 - 0.03 * i, e, rng) for i in range(6) for e in (2, 3)]
    matrices = [np.array([[-p["f1"], p["loss"]] for p in c]) for c in runs]
    model = fit_final_model(CurvePairs.from_curves(matrices))
    assert model is not None
    gen = np.random.default_rng(0)
    at = np.array([-0.6, 0.5])
    third = draw_finals(model, at, 1 / 3, 4000, gen).mean(axis=0)
    half = draw_finals(model, at, 1 / 2, 4000, gen).mean(axis=0)
    # true changes to come: f1 +0.15 * (1 - f), loss -0.2 * (1 - f)
    np.testing.assert_allclose(third - at, [-0.1, -0.1333], atol=0.01)
    np.testing.assert_allclose(half - at, [-0.075, -0.1], atol=0.01)


def test_join_probability_counts_draws_no_front_point_dominates() -> None:
    front = np.array([[0.0, 1.0], [1.0, 0.0]])
    draws = np.array([[0.5, 0.5], [1.0, 1.0], [0.0, 1.0], [2.0, 0.5]])
    assert join_probability(draws, front) == pytest.approx(0.5)  # a tie with a front point joins


def test_prune_reads_the_running_trials_curve_and_the_studys_trials() -> None:
    rng = np.random.default_rng(3)
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_metric_names(["f1", "loss"])
    dist = {"epochs": FloatDistribution(1, 3)}
    for run in finished_runs(rng):
        final = run[-1]
        study.add_trial(
            create_trial(
                values=[final["f1"], final["loss"]],
                params={"epochs": 3.0},
                distributions=dist,
                user_attrs={"curve": run},
            )
        )
    study.add_trial(  # a finished run without a curve still sits on the front
        create_trial(values=[0.99, 0.1], params={"epochs": 3.0}, distributions=dist)
    )
    pruner = ParetoPruner(seed=0)
    study.enqueue_trial({"epochs": 3.0})
    trial = study.ask(dist)
    partial = curve(0.9, 0.25, 3, rng)[:1]
    trial.set_user_attr("curve", partial)
    # it beats every finished curve, not the run at 0.99 / 0.1 that has none
    assert not pruner.should_prune(partial, 3, finished_runs(rng), F1_LOSS).prune
    assert pruner.prune(study, trial)
    assert pruner.decisions_[-1].evidence == 7
    study.tell(trial, state=TrialState.PRUNED)
    assert study.trials[-1].user_attrs["curve"][0]["epoch"] == 1  # the curve is kept


def one_class_curve(epochs: int, learns_at: int | None, final: tuple[float, float]) -> list:
    """A run predicting every sentence positive (accuracy 0.51, F1 2a/(1+a)) until epoch
    `learns_at`, then at its `final` (f1, loss)."""
    out = []
    for k in range(1, epochs + 1):
        if learns_at is None or k < learns_at:
            point = {"accuracy": 0.51, "f1": 2 * 0.51 / 1.51, "loss": 0.693}
        else:
            point = {"accuracy": final[0], "f1": final[0], "loss": final[1]}
        out.append({"epoch": k, **point, "train_seconds": 10.0 * k})
    return out


def test_a_run_predicting_one_class_is_judged_by_the_runs_that_did_too() -> None:
    rng = np.random.default_rng(1)
    trained = finished_runs(rng)  # none predicts one class
    stuck = [one_class_curve(3, None, (0.0, 0.0)) for _ in range(5)]
    late = one_class_curve(3, 2, (0.75, 0.5))  # learnt at epoch 2, off the front
    running = one_class_curve(3, None, (0.0, 0.0))[:1]
    pruner = ParetoPruner(seed=0)

    decision = pruner.should_prune(running, 3, trained + stuck[:4] + [late], F1_LOSS)
    assert decision.prune, decision.reason  # 0 of 5 reached the front: P = 0.5 / 6
    assert decision.probability == pytest.approx(0.5 / 6)
    assert "still predicting one class after epoch 1 of 3; 0 of 5 finished runs" in decision.reason

    decision = pruner.should_prune(running, 3, trained + stuck[:4], F1_LOSS)
    assert not decision.prune and decision.probability == pytest.approx(0.5 / 5)  # 4 peers

    best = one_class_curve(3, 2, (0.99, 0.1))  # a late learner that leads the front
    decision = pruner.should_prune(running, 3, trained + stuck + [best], F1_LOSS)
    assert not decision.prune and decision.probability == pytest.approx(1.5 / 7)

    # a run that has learnt is judged by the curve model as before, whatever its peers did
    decision = pruner.should_prune(curve(0.95, 0.3, 3, rng)[:1], 3, trained + stuck, F1_LOSS)
    assert not decision.prune and "one class" not in decision.reason
