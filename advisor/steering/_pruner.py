"""A pruner for multi-objective (and single-objective) studies of fine-tunes.

Optuna has no pruner for studies with several objectives. `ParetoPruner` stops a fine-tune
after epoch K when the probability that its *final* values join the study's Pareto front falls
below a threshold. Method:

1. A curve is the run's values after each epoch (user attribute `curve`: a list of
   `{"epoch", "accuracy", "f1", "loss", "train_seconds"}`). Each objective reads its metric
   from it (`f1_rel` reads `f1`: a baseline shifts every run alike, so dominance is unchanged).
2. The final values of THIS planned run given its values after epoch K of E are modelled from
   the finished runs' curves (`advisor.steering._curve_model`): the change still to come per
   remaining share of the schedule, `(final - value@K) / (1 - K/E)`, regressed on value@K (and
   K/E), with its residual spread. A partial point is never treated as a shorter run: with a
   linear learning-rate decay, epoch K of an E-epoch run is not a K-epoch run.
3. Monte Carlo draws of the final vector (Student-t, correlated as the residuals are) are
   compared with the front of the finished runs' final values; the share of draws that no
   finished run dominates is the probability of joining the front.
4. A run that still predicts one class after epoch K (`is_collapsed` on the curve point) is not
   on a smooth path: whether it starts to learn is a jump, not a trend. So it is judged by its
   peers instead: of the n finished runs that were collapsed after epoch K of a longer
   schedule, j reached the front of the finished runs, and its probability of joining
   the front is (j + 0.5) / (n + 1) (the posterior mean under a Jeffreys prior; with the default
   threshold 0.1 it takes at least 5 such runs and none on the front to prune). With no such
   runs, the curve model decides, as for any run. (A curve model fitted on the points of
   trained runs alone was tried: it grew confident enough to prune a front run on one
   benchmark table, so the model keeps every point.)
5. It prunes when that probability is below `threshold`, and never at the final epoch, nor with
   fewer than `min_finished` finished runs whose curves go on past epoch K (too little evidence
   of how runs continue from there).

A pruned trial keeps its curve: the partial attribute is what it was told last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from advisor.steering._curve_model import CurvePairs, draw_finals, fit_final_model, join_probability
from advisor.steering._objectives import Objective, parse_objectives
from advisor.table import METRICS

CURVE_ATTR = "curve"

Curve = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class PruneDecision:
    """Whether to stop a run after its latest epoch, and why.

    Attributes:
        prune: stop it now.
        probability: estimated probability that its final values join the front (None when no
            estimate was made).
        epoch: the latest epoch of its curve (0 for an empty curve).
        planned_epochs: the epochs it was planned to run.
        evidence: finished runs whose curves go on past `epoch`.
        reason: one line saying why.
    """

    prune: bool
    probability: float | None
    epoch: int
    planned_epochs: int
    evidence: int
    reason: str


def curve_metric(objective: Objective) -> str:
    """The curve key an objective reads: `f1_rel` -> `f1`."""
    return objective.name.removesuffix("_rel")


def curve_matrix(curve: Curve, objectives: Sequence[Objective]) -> np.ndarray:
    """`(last_epoch, n_objectives)` minimised values, row K-1 after epoch K (NaN if missing)."""
    epochs = [int(point["epoch"]) for point in curve if "epoch" in point]
    out = np.full((max(epochs, default=0), len(objectives)), np.nan)
    for point in curve:
        if "epoch" not in point or int(point["epoch"]) < 1:
            continue
        for j, objective in enumerate(objectives):
            value = point.get(curve_metric(objective))
            if value is not None:
                out[int(point["epoch"]) - 1, j] = objective.sign * float(value)
    return out


class ParetoPruner(optuna.pruners.BasePruner):
    """Prunes a run whose final values are unlikely to join the Pareto front (module docstring).

    Args:
        threshold: prune when the probability of joining the front is below this.
        min_finished: finished runs with curves going on past the current epoch needed to prune.
        n_draws: Monte Carlo draws per decision.
        seed: seed of the draws.
        curve_attr: the user attribute holding a trial's curve.

    Attributes:
        decisions_: every decision `prune` made, in order.
    """

    def __init__(
        self,
        threshold: float = 0.1,
        min_finished: int = 4,
        n_draws: int = 2000,
        seed: int | None = None,
        curve_attr: str = CURVE_ATTR,
    ) -> None:
        if not 0.0 <= threshold < 1.0:
            raise ValueError(f"threshold must be in [0, 1), got {threshold!r}")
        if min_finished < 2 or n_draws < 1:
            raise ValueError(
                f"min_finished must be >= 2 and n_draws >= 1 (got {min_finished}, {n_draws})"
            )
        self.threshold = threshold
        self.min_finished = min_finished
        self.n_draws = n_draws
        self.seed = seed
        self.curve_attr = curve_attr
        self._rng = np.random.default_rng(seed)
        self.decisions_: list[PruneDecision] = []

    def prune(self, study: optuna.Study, trial: FrozenTrial | optuna.Trial) -> bool:
        """Whether to stop `trial` (a running `FrozenTrial` or `Trial`) after its latest epoch.

        Reads the trial's `curve` attribute and planned `epochs` (its user attribute, else its
        parameter), and the study's completed trials: their curves teach the model, their final
        values (metric attributes, else the last curve point, else their values) form the front.
        """
        decision = self.decide(study, trial)
        self.decisions_.append(decision)
        return decision.prune

    def decide(self, study: optuna.Study, trial: FrozenTrial | optuna.Trial) -> PruneDecision:
        """The decision `prune` acts on (not recorded in `decisions_`)."""
        objectives = study_objectives(study)
        partial = trial.user_attrs.get(self.curve_attr) or []
        # a user attr first: a benchmark's parameters are indices into the table's levels
        planned = trial.user_attrs.get("epochs", trial.params.get("epochs"))
        if planned is None:
            return PruneDecision(False, None, 0, 0, 0, "the trial states no planned epochs")
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        curves = [t.user_attrs[self.curve_attr] for t in done if t.user_attrs.get(self.curve_attr)]
        front = [final_values(t, objectives, self.curve_attr) for t in done]
        rows = np.array([f for f in front if f is not None], dtype=float)
        epochs = int(round(float(planned)))
        return self.should_prune(
            partial, epochs, curves, objectives, front=rows.reshape(-1, len(objectives))
        )

    def should_prune(
        self,
        partial_curve: Curve,
        planned_epochs: int,
        finished_curves: Sequence[Curve],
        objectives: Sequence[Objective] | str,
        front: np.ndarray | None = None,
    ) -> PruneDecision:
        """Decide from curves alone, without a study.

        Args:
            partial_curve: the running run's curve so far.
            planned_epochs: the epochs it was planned to run.
            finished_curves: curves of finished runs (their last point is their final value).
            objectives: the objectives (or a spec such as `"f1,loss"`).
            front: final values of every finished run in the objectives' own directions, in the
                curves' metric units (default: the last points of `finished_curves`).
        """
        objectives = parse_objectives(objectives) if isinstance(objectives, str) else objectives
        now = curve_matrix(partial_curve, objectives)
        epoch = now.shape[0]
        keep = PruneDecision(False, None, epoch, planned_epochs, 0, "")
        if epoch == 0 or not np.isfinite(now[-1]).all():
            return _with(keep, reason="no complete value at the latest epoch yet")
        if epoch >= planned_epochs:
            return _with(keep, reason=f"epoch {epoch} is the final one")
        matrices = [curve_matrix(c, objectives) for c in finished_curves]
        evidence = sum(bool(m.shape[0] > epoch and np.isfinite(m[-1]).all()) for m in matrices)
        keep = _with(keep, evidence=evidence)
        if evidence < self.min_finished:
            return _with(
                keep,
                reason=f"{evidence} finished run(s) with curves past epoch {epoch} "
                f"(< {self.min_finished}): too little evidence",
            )
        if front is None:
            finals = [m[-1] for m in matrices if m.shape[0] and np.isfinite(m[-1]).all()]
            minimised = np.array(finals, dtype=float).reshape(-1, len(objectives))
        else:
            signs = np.array([o.sign for o in objectives])
            minimised = np.asarray(front, dtype=float).reshape(-1, len(objectives)) * signs
        minimised = minimised[np.isfinite(minimised).all(axis=1)]
        flags = [
            collapsed_epochs(c, m.shape[0]) for c, m in zip(finished_curves, matrices, strict=True)
        ]
        if collapsed_epochs(partial_curve, epoch)[-1]:
            peers = [
                m[-1]
                for m, f in zip(matrices, flags, strict=True)
                if m.shape[0] > epoch and np.isfinite(m[-1]).all() and f[epoch - 1]
            ]
            if peers:
                return self._judged_by_peers(keep, np.array(peers), minimised, epoch)
        model = fit_final_model(CurvePairs.from_curves(matrices))
        if model is None:
            return _with(keep, reason="too few curve points to model final values")
        share = epoch / planned_epochs
        draws = draw_finals(model, now[-1], share, self.n_draws, self._rng)
        probability = join_probability(draws, minimised)
        prune = probability < self.threshold
        verb = "prune" if prune else "keep"
        reason = (
            f"{verb}: P(final values join the front) = {probability:.3f} after epoch {epoch} of "
            f"{planned_epochs} (threshold {self.threshold:g}, {evidence} finished curves)"
        )
        return _with(keep, prune=prune, probability=probability, reason=reason)

    def _judged_by_peers(
        self, keep: PruneDecision, peers: np.ndarray, finals: np.ndarray, epoch: int
    ) -> PruneDecision:
        """Step 4 of the module docstring: a run still predicting one class after `epoch`,
        judged by the finished runs (`peers`: their final values, minimised) that were too."""
        joined = sum(join_probability(p[None, :], finals) > 0 for p in peers)
        probability = (joined + 0.5) / (len(peers) + 1)
        prune = probability < self.threshold
        verb = "prune" if prune else "keep"
        reason = (
            f"{verb}: still predicting one class after epoch {epoch} of {keep.planned_epochs}; "
            f"{joined} of {len(peers)} finished runs that were so after epoch {epoch} reached "
            f"the front (P = {probability:.3f}, threshold {self.threshold:g})"
        )
        return _with(keep, prune=prune, probability=probability, reason=reason)


def collapsed_epochs(curve: Curve, epochs: int) -> np.ndarray:
    """`(epochs,)` whether the run predicted one class after each epoch (`is_collapsed` on the
    curve point's accuracy and F1; False where a point or those metrics are missing)."""
    from advisor.study.grid_status import is_collapsed  # the study package imports steering

    out = np.zeros(epochs, dtype=bool)
    for point in curve:
        k = int(point.get("epoch", 0))
        if 1 <= k <= epochs:
            out[k - 1] = is_collapsed({m: point[m] for m in ("accuracy", "f1") if m in point})
    return out


def _with(decision: PruneDecision, **changes: Any) -> PruneDecision:
    return replace(decision, **changes)


def study_objectives(study: optuna.Study) -> list[Objective]:
    """The study's objectives: its metric names (else accuracy, f1, loss) and directions."""
    directions = [d.name.lower() for d in study.directions]
    names = study.metric_names or list(METRICS[: len(directions)])
    return [Objective(n, d) for n, d in zip(names, directions, strict=True)]


def final_values(
    trial: FrozenTrial, objectives: Sequence[Objective], curve_attr: str = CURVE_ATTR
) -> list[float] | None:
    """A completed trial's final values in the curves' metric units (None if one is unknown):
    its metric attribute, else its curve's last point, else (a non-relative objective) its
    value."""
    curve = trial.user_attrs.get(curve_attr) or []
    last: Mapping[str, Any] = max(curve, key=lambda p: int(p.get("epoch", 0)), default={})
    out = []
    for j, objective in enumerate(objectives):
        metric = curve_metric(objective)
        value = trial.user_attrs.get(metric, last.get(metric))
        if value is None and metric == objective.name and trial.values is not None:
            value = trial.values[j]
        if value is None:
            return None
        out.append(float(value))
    return out
