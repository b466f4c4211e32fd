"""`SurfaceSampler`: an Optuna sampler steered by Bayesian response surfaces."""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.samplers import BaseSampler
from optuna.study import StudyDirection
from optuna.trial import TrialState

from advisor.errors import FitError
from advisor.steering._acquisition import choose
from advisor.steering._collapse_part import (
    MIN_COLLAPSED,
    MIN_TRAINED,
    CollapsePart,
    mixture_predict,
    mixture_sample,
)
from advisor.steering._decision import SamplerDecision, _Plan
from advisor.steering._prior import FINETUNE_PRIOR, SurfacePrior, finetune_prior
from advisor.steering._pruned import impute_pruned
from advisor.steering._pruner import study_objectives
from advisor.steering._space import Space
from advisor.steering._surrogate import BayesianQuadratic, square_columns, term_names
from advisor.steering._window import StartupRule

if TYPE_CHECKING:
    import pandas as pd
    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial

_logger = logging.getLogger("advisor.steering")

# States of trials whose configurations are taken but have no final values to learn from: a
# pruned one was judged off the front, a running or waiting one is being measured.
_WAITING = (TrialState.RUNNING, TrialState.WAITING, TrialState.PRUNED)

# The learned prior's predictive check: standard deviations of a quadratic coefficient and of
# the noise, in standard deviations of the objective, under which the prior's surface and the
# bowl's are compared on the trials.
_CHECK = (0.5, 0.3)


class SurfaceSampler(BaseSampler):
    """Proposes configurations from Bayesian quadratic surfaces of the study's objectives.

    For every objective (the study's directions, any number) it fits a Bayesian quadratic with a
    smooth Gaussian-process residual on the finished trials (inputs: the numeric parameters, on
    a log scale for log distributions and `log_params`, each range scaled to [-1, 1]; values
    worse than the `focus` quantile are capped there, so the surfaces spend their terms on the
    region worth having). It then draws one set of surfaces from a tempered posterior (Thompson
    sampling with the draws' spread scaled by `exploration`) and proposes the candidate that adds
    the most hypervolume to the configurations already run, all valued by the same draw. The
    reference point is each objective's median over the finished trials.
    The surfaces start from `prior`: by default the shape fine-tune grids usually have
    (learned from advisor's benchmark tables: F1 and accuracy rise with learning rate and
    epochs, loss turns up again at the top of the learning rates), for the parameters and
    metrics it names.
    Evaluated (or running) configurations are not proposed again while other candidates remain.

    Collapsed runs (`advisor.study.grid_status.is_collapsed`: the `collapsed` user attribute,
    else the one-class rule on `accuracy` and `f1`) are modelled as the response surfaces model
    them (`two_part`): a Firth logistic regression gives the probability of collapse, the
    surfaces are fitted on the runs that trained, and every candidate is valued (mean and
    Thompson draws) at P(collapse) x plateau + (1 - P) x trained surface. Pruned runs enter the
    surfaces with one draw of their final values from the pruner's curve model
    (`impute_pruned`; `advisor.steering._pruned`) and are never proposed again.

    While fewer than `n_startup_trials` trials have finished, a trial gets a candidate drawn
    uniformly from those not yet run, running or pruned (`distinct_startup`; it needs the
    space: `search_space` or a finished trial), so neither a small candidate set nor parallel
    workers spend the first trials on one configuration twice. With a `startup_window`
    (`TrainingWindow`: where fine-tunes are expected to train rather than collapse) the draw is
    among the untaken candidates inside it (all untaken ones when none is), until a finished
    run that the window expected to train collapses: the window is then set aside for the rest
    of the start-up, and the decision's reason says so. The trial goes to `fallback`
    (NSGA-II by default; every hook is forwarded) for the start when the space is not known
    yet or `distinct_startup` is off, and when, from `cv_min_trials` on, no surface
    predicts better than a constant in leave-one-out cross-validation (R^2 < `min_cv_r2`).
    Each decision is logged on the `advisor.steering` logger and kept in `last_decision_`
    (history in `decisions_`). Parameters other than numeric ones go to the fallback's
    `sample_independent`.

    Args:
        candidates: the configurations allowed (DataFrame or dicts, a column per parameter);
            None generates the grid of per-parameter values (or a Sobol set) over the space.
        fallback: the sampler used when the surfaces cannot steer.
        n_startup_trials: finished trials needed before the surfaces steer.
        min_cv_r2: fall back when every surface's cross-validated R^2 is below this.
        cv_min_trials: finished trials before the R^2 check applies (None: twice the number of
            quadratic terms plus intercept, the fewest that make leave-one-out R^2 worth acting
            on).
        focus: quantile at which observed values are capped before fitting (None: no cap).
        n_draws: posterior draws per proposal (1: Thompson sampling; more: Monte Carlo
            expected hypervolume improvement).
        exploration: scale of each draw's deviation from the posterior mean (1: plain Thompson
            sampling; smaller: proposals closer to the predicted front, for small budgets).
        surrogate: the unfitted surface model (default `BayesianQuadratic(residual=64,
            bowl=0.5)`: the quadratic plus a Gaussian-process residual through 64 random Fourier
            features, with a prior that the optimum lies inside the ranges searched, for the
            terms `prior` does not name).
        prior: prior means of the surfaces' quadratic terms by parameter and metric name
            (`SurfacePrior`); "finetune" (the default): the one shipped with advisor
            (learning_rate, batch_size, epochs; accuracy, f1, loss); None: the surrogate's
            own prior only. An absolute (version 2) prior is re-expressed on the study's box.
        prior_confidence: probability, before any trial, that the prior is right rather than
            the bowl; each proposal updates it by how well the prior's means predict the
            trials (`_fit`) and the surfaces start from the blend (`prior_weight` of the
            decision; its reason says when the trials contradict the prior).
        prior_decay: beta of a beta/n fade of the prior's weight on top (None: no fade).
        max_candidates: size of a generated candidate set.
        log_params: parameters modelled on a log scale besides log distributions.
        ignore_params: parameters never modelled (replicate seeds); the fallback samples them.
        search_space: distributions to model; default: the finished trials' intersection space.
        seed: makes proposals (and the default fallback) reproducible.
        two_part: model collapsed runs apart (from MIN_COLLAPSED collapsed and MIN_TRAINED
            trained runs on; `advisor.steering._collapse_part`); False: one surface through
            every run.
        impute_pruned: let pruned runs with a partial curve enter the surfaces (imputed; only
            when the study names its metrics, which say what each curve point holds).
        distinct_startup: draw the first `n_startup_trials` configurations from the candidates
            not yet taken (False: the fallback samples them).
        startup_window: where the start-up draws (`TrainingWindow`, or any `StartupRule`, over
            the sampler's parameters); None: anywhere.
    """

    def __init__(
        self,
        *,
        candidates: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
        fallback: BaseSampler | None = None,
        n_startup_trials: int = 3,
        min_cv_r2: float = 0.0,
        cv_min_trials: int | None = None,
        focus: float | None = 0.7,
        n_draws: int = 1,
        exploration: float = 0.3,
        surrogate: BayesianQuadratic | None = None,
        prior: SurfacePrior | str | None = FINETUNE_PRIOR,
        prior_confidence: float = 0.75,
        prior_decay: float | None = None,
        max_candidates: int = 4096,
        log_params: Sequence[str] = ("learning_rate", "batch_size"),
        ignore_params: Sequence[str] = ("seed",),
        search_space: Mapping[str, BaseDistribution] | None = None,
        seed: int | None = None,
        two_part: bool = True,
        impute_pruned: bool = True,
        distinct_startup: bool = True,
        startup_window: StartupRule | None = None,
    ) -> None:
        if focus is not None and not 0.0 < focus <= 1.0:
            raise ValueError(f"focus must lie in (0, 1] or be None, got {focus}")
        if exploration <= 0.0:
            raise ValueError(f"exploration must be positive, got {exploration}")
        self._candidates = _candidate_rows(candidates)
        self._fallback = fallback or optuna.samplers.NSGAIISampler(seed=seed)
        self.n_startup_trials = n_startup_trials
        self.min_cv_r2 = min_cv_r2
        self.cv_min_trials = cv_min_trials
        self.focus = focus
        self.n_draws = n_draws
        self.exploration = exploration
        self.surrogate = surrogate or BayesianQuadratic(residual=64, bowl=0.5)
        if prior == FINETUNE_PRIOR:
            prior = finetune_prior()
        elif isinstance(prior, str):
            raise ValueError(f"prior must be a SurfacePrior, {FINETUNE_PRIOR!r} or None")
        self.prior = prior
        if not 0.0 < prior_confidence < 1.0:
            raise ValueError(f"prior_confidence must lie in (0, 1), got {prior_confidence}")
        if prior_decay is not None and prior_decay <= 0.0:
            raise ValueError(f"prior_decay must be positive or None, got {prior_decay}")
        self.prior_confidence = prior_confidence
        self.prior_decay = prior_decay
        self.max_candidates = max_candidates
        self.log_params = tuple(log_params)
        self.ignore_params = tuple(ignore_params)
        self._search_space = dict(search_space) if search_space is not None else None
        self._seed = int(np.random.SeedSequence(seed).generate_state(1)[0])
        self.two_part = two_part
        self.impute_pruned = impute_pruned
        self.distinct_startup = distinct_startup
        self.startup_window = startup_window
        self._plans: dict[int, tuple[_Plan, CollapsePart | None]] = {}
        self._cache: dict[tuple, np.ndarray] = {}
        self._intersection_cache: tuple[tuple, Any] | None = None
        self.last_decision_: SamplerDecision | None = None
        self.decisions_: list[SamplerDecision] = []

    @property
    def fallback(self) -> BaseSampler:
        """The wrapped sampler."""
        return self._fallback

    def reseed_rng(self) -> None:
        self._seed = int(np.random.SeedSequence().generate_state(1)[0])
        self._fallback.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        plan, part = self._plan(study, trial)
        self._record(plan.decision)
        if plan.space is None:
            return self._fallback.infer_relative_search_space(study, trial)
        self._plans[trial._trial_id] = (plan, part)
        return {d.name: d.distribution for d in plan.space.dims}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        planned = self._plans.pop(trial._trial_id, None)
        if planned is None:
            return self._fallback.sample_relative(study, trial, search_space)
        params, decision = self._propose(*planned, study, trial)
        self.last_decision_ = self.decisions_[-1] = decision
        return params

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._fallback.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._fallback.after_trial(study, trial, state, values)

    # -- deciding -------------------------------------------------------------------------------

    def _plan(self, study: Study, trial: FrozenTrial) -> tuple[_Plan, CollapsePart | None]:
        trials = study.get_trials(deepcopy=False)
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        values = np.array([t.values for t in done], dtype=float).reshape(
            len(done), len(study.directions)
        )
        distributions = self._search_space or self._intersection(study)
        space = Space(
            {k: v for k, v in distributions.items() if k not in self.ignore_params},
            self.log_params,
        )
        raw = space.raw_matrix([t.params for t in done])
        usable = ~np.isnan(raw).any(axis=1) & np.isfinite(values).all(axis=1)
        n = int(usable.sum())
        if not space.dims and n >= self.n_startup_trials:
            return self._fallback_plan(trial, "no numeric parameter to model", 0), None
        if n < self.n_startup_trials:
            reason = f"too few finished trials to steer ({n} < {self.n_startup_trials})"
            if self.distinct_startup and space.dims:
                names = _objective_names(study)
                return self._startup_plan(trial, reason, n, space, trials, names), None
            return self._fallback_plan(trial, reason, n), None
        values = values[usable] * _signs(study)
        reference = np.median(values, axis=0)
        kept = [t for t, u in zip(done, usable, strict=True) if u]
        x, y, part, notes = self._data(study, trials, kept, space, raw[usable], values, trial)
        prior_mean = None
        if self.prior is not None:
            objectives = list(zip(_objective_names(study), _direction_names(study), strict=True))
            names = [d.name for d in space.dims]
            prior_mean = self.prior.means(names, objectives, self.surrogate.degree, _ranges(space))
            if np.isnan(prior_mean).all():
                prior_mean = None
        try:
            model, weights = self._fit(x, y, prior_mean, n)
        except FitError as exc:
            return self._fallback_plan(trial, f"the surfaces cannot be fitted ({exc})", n), None
        names = _objective_names(study)
        cv = dict(zip(names, map(float, model.loo_r2_), strict=True))
        if self._predicts_nothing(cv, n, model):
            shown = ", ".join(f"{k} {v:.2f}" for k, v in cv.items())
            reason = f"the surfaces predict nothing (cross-validated R^2: {shown})"
            return self._fallback_plan(trial, reason, n, cv), None
        # a pruned configuration was tried and judged off the front: never proposed again
        pending = space.raw_matrix([t.params for t in trials if t.state in _WAITING])
        pending = pending[~np.isnan(pending).any(axis=1)]
        evaluated = np.unique(raw[usable], axis=0)
        reason = "the surfaces steer" + "".join(notes)
        prior_weight: dict[str, float] = {}
        if weights is not None:
            prior_weight = dict(zip(names, map(float, weights), strict=True))
            reason += _prior_note(prior_weight, n, self.prior_decay)
        decision = SamplerDecision(trial.number, "surface", reason, n, cv, {}, prior_weight)
        return _Plan(decision, space, model, evaluated, pending, reference), part

    def _data(
        self,
        study: Study,
        trials: Sequence[FrozenTrial],
        done: Sequence[FrozenTrial],
        space: Space,
        raw: np.ndarray,
        values: np.ndarray,
        trial: FrozenTrial,
    ) -> tuple[np.ndarray, np.ndarray, CollapsePart | None, list[str]]:
        """What the surfaces are fitted on (unit inputs, minimised values capped at `focus`),
        the collapse part, and the decision's notes on both.

        `done` are the usable finished trials, `raw` and `values` their configurations and
        minimised values. The surfaces take the runs that trained when MIN_COLLAPSED
        collapsed (and MIN_TRAINED trained), plus the pruned runs whose finals the curve model
        imputes.
        """
        x = space.to_unit(raw)
        cap = np.quantile(values, self.focus, axis=0) if self.focus is not None else np.inf
        notes: list[str] = []
        extra_x, extra_y = np.zeros((0, x.shape[1])), np.zeros((0, values.shape[1]))
        if self.impute_pruned and study.metric_names is not None:
            pruned = [t for t in trials if t.state == TrialState.PRUNED]
            rng = np.random.default_rng([self._seed, trial.number, 1])
            got, extra_y = impute_pruned(done, values, pruned, study_objectives(study), rng)
            extra_raw = space.raw_matrix([t.params for t in got])
            inside = ~np.isnan(extra_raw).any(axis=1) & np.isfinite(extra_y).all(axis=1)
            extra_x, extra_y = space.to_unit(extra_raw[inside]), extra_y[inside]
            if inside.any():
                notes.append(
                    f" ({int(inside.sum())} pruned run(s) entered with final values imputed "
                    "from their curves)"
                )
        values, extra_y = np.minimum(values, cap), np.minimum(extra_y, cap)
        names = _objective_names(study)
        collapsed = np.array([_is_collapsed(t, names) for t in done], dtype=bool)
        trained = ~collapsed
        part = None
        if self.two_part and collapsed.sum() >= MIN_COLLAPSED and trained.sum() >= MIN_TRAINED:
            part = CollapsePart.fit(x, collapsed, values)
            notes.append(
                f" ({int(collapsed.sum())} of {len(done)} runs collapsed: surfaces on the "
                f"{int(trained.sum())} that trained, times the probability of collapse)"
            )
        else:
            trained = np.ones(len(done), dtype=bool)
        return (
            np.vstack([x[trained], extra_x]),
            np.vstack([values[trained], extra_y]),
            part,
            notes,
        )

    def _fit(
        self, x: np.ndarray, values: np.ndarray, prior_mean: np.ndarray | None, n: int
    ) -> tuple[BayesianQuadratic, np.ndarray | None]:
        """The surfaces, and the weight each objective's gave the learned prior (None without
        one).

        The prior earns its weight by predicting the trials: its posterior probability against
        the bowl-only prior, from odds `prior_confidence` to `1 - prior_confidence` before any
        trial times the ratio of the two prior means' marginal likelihoods over all objectives
        (`_CHECK`: the quadratic terms alone with fixed uncertainties, so the ratio measures the
        means and not how much the fits can absorb), times `min(1, prior_decay / n)`. The
        surfaces then start from the prior means blended with the bowl by that weight.
        """
        plain = copy.deepcopy(self.surrogate).fit(x, values)
        if prior_mean is None:
            return plain, None
        default = _default_means(self.surrogate, x.shape[1], values.shape[1])
        bayes_factor = plain.log_evidence(prior_mean, _CHECK) - plain.log_evidence(default, _CHECK)
        log_odds = np.log(self.prior_confidence / (1.0 - self.prior_confidence))
        log_odds += float(np.sum(bayes_factor))
        weight = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -50.0, 50.0)))
        if self.prior_decay is not None:
            weight *= min(1.0, self.prior_decay / max(n, 1))
        weights = np.full(values.shape[1], weight)
        if weight < 0.001:
            return plain, weights
        blended = weight * prior_mean + (1.0 - weight) * default
        blended = np.where(np.isnan(prior_mean), np.nan, blended)
        return copy.deepcopy(self.surrogate).fit(x, values, blended), weights

    def _intersection(self, study: Study) -> dict[str, BaseDistribution]:
        """The finished trials' intersection search space, updated incrementally per study."""
        key = (study._storage, study._study_id)
        if self._intersection_cache is None or self._intersection_cache[0] != key:
            self._intersection_cache = (key, optuna.search_space.IntersectionSearchSpace())
        return self._intersection_cache[1].calculate(study)

    def _predicts_nothing(self, cv: dict[str, float], n: int, model: BayesianQuadratic) -> bool:
        minimum = self.cv_min_trials
        if minimum is None:
            minimum = 2 * (model.n_terms_ + 1)
        if n < minimum:
            return False
        finite = [r for r in cv.values() if np.isfinite(r)]
        return not finite or max(finite) < self.min_cv_r2

    def _fallback_plan(
        self, trial: FrozenTrial, reason: str, n: int, cv: dict[str, float] | None = None
    ) -> _Plan:
        reason = f"{reason}: {type(self._fallback).__name__} samples"
        return _Plan(SamplerDecision(trial.number, "fallback", reason, n, cv or {}))

    def _startup_plan(
        self,
        trial: FrozenTrial,
        reason: str,
        n: int,
        space: Space,
        trials: Sequence[FrozenTrial],
        names: Sequence[str],
    ) -> _Plan:
        """A start-up plan: a random candidate among those no other trial has taken (finished,
        running, waiting or pruned; a failed one may be retried), inside the start-up window
        while no finished run has collapsed inside it."""
        taken_states = (*_WAITING, TrialState.COMPLETE)
        others = [t.params for t in trials if t.state in taken_states and t.number != trial.number]
        taken = space.raw_matrix(others).reshape(len(others), len(space.dims))
        taken = taken[~np.isnan(taken).any(axis=1)]
        reason = f"{reason}: a configuration no trial has taken, drawn at random"
        window = self.startup_window
        if window is not None:
            done = [t for t in trials if t.state == TrialState.COMPLETE]
            inside = window.trains([t.params for t in done])
            wrong = [
                t.number
                for t, expected in zip(done, inside, strict=True)
                if expected and _is_collapsed(t, names)
            ]
            if wrong:
                window = None
                reason += (
                    f" (the start-up window is set aside: trial {wrong[0]} collapsed where it "
                    "expected training)"
                )
            else:
                reason += f" where fine-tunes are expected to train ({window.describe()})"
        decision = SamplerDecision(trial.number, "startup", reason, n)
        return _Plan(decision, space, evaluated=taken, pending=taken[:0], window=window)

    def _record(self, decision: SamplerDecision) -> None:
        previous = self.last_decision_
        self.last_decision_ = decision
        self.decisions_.append(decision)
        if previous is None or previous.mode != decision.mode:
            level = logging.WARNING if "predict nothing" in decision.reason else logging.INFO
            _logger.log(level, "trial %d: %s", decision.trial_number, decision.reason)

    # -- proposing ------------------------------------------------------------------------------

    def _candidate_set(self, space: Space) -> np.ndarray:
        key = tuple((d.name, repr(d.distribution), d.log) for d in space.dims)
        if key not in self._cache:
            if self._candidates is not None:
                raw = space.raw_matrix(self._candidates)
                raw = raw[~np.isnan(raw).any(axis=1)]
                raw = np.unique(raw[space.contained(raw)], axis=0)
            else:
                raw = space.generate(self.max_candidates, seed=0)
            self._cache = {key: raw}
        return self._cache[key]

    def _propose(
        self, plan: _Plan, part: CollapsePart | None, study: Study, trial: FrozenTrial
    ) -> tuple[dict[str, Any], SamplerDecision]:
        space, model = plan.space, plan.model
        assert space is not None and plan.evaluated is not None and plan.pending is not None
        if model is None:
            params, note = self._draw_fresh(plan, space, study, trial)
            return params, replace(plan.decision, reason=plan.decision.reason + note)
        assert plan.reference is not None
        candidates = self._candidate_set(space)
        if candidates.shape[0] == 0:
            fallback = self._fallback_plan(trial, "no candidate lies in the search space", 0)
            return self._fallback.sample_relative(study, trial, {}), fallback.decision
        seen = np.vstack([plan.evaluated, plan.pending])
        fresh = _untaken(space, candidates, seen)
        pool = space.to_unit(candidates[fresh] if fresh.any() else candidates)
        mean, _ = mixture_predict(model, part, space.to_unit(candidates))
        low, high = mean.min(axis=0), plan.reference
        rng = np.random.default_rng([self._seed, trial.number])
        points = np.vstack([pool, space.to_unit(seen)])
        draws = mixture_sample(model, part, points, rng, self.n_draws, self.exploration)
        pool_mean, pool_sd = mixture_predict(model, part, pool)
        spread = (pool_sd / np.where(high > low, high - low, 1.0)).sum(axis=1)
        index, _ = choose(draws[:, : len(pool)], draws[:, len(pool) :], low, high, spread)
        chosen = (candidates[fresh] if fresh.any() else candidates)[index]
        signs = _signs(study)
        names = _objective_names(study)
        predicted = {
            name: (float(pool_mean[index, j] * signs[j]), float(pool_sd[index, j]))
            for j, name in enumerate(names)
            if not model.constant_[j]
        }
        reason = plan.decision.reason
        flat = [name for j, name in enumerate(names) if model.constant_[j]]
        if flat:
            reason += (
                f" ({', '.join(flat)}: every trial modelled so far gave the same value, so its "
                "surface is the prior's shape alone and no prediction is reported)"
            )
        if not fresh.any():
            reason += " (every candidate has run: replicating the most uncertain one on the front)"
        return space.to_params(chosen), replace(plan.decision, reason=reason, predicted=predicted)

    def _draw_fresh(
        self, plan: _Plan, space: Space, study: Study, trial: FrozenTrial
    ) -> tuple[dict[str, Any], str]:
        """A start-up plan's proposal, and a note for its reason: the fallback's own draw when
        no trial has taken it (and it is a candidate, where candidates were given, and inside
        the plan's window, where it has one), else uniform over the candidates not taken inside
        the window (not taken anywhere when none is inside; all when every one is taken).

        Keeping the fallback's draw keeps the start-up the same as a random search's (and as
        GP's and TPE's start-up) on the same seed wherever that draw is new, so a benchmark
        compares what the samplers do after it rather than the luck of two random streams.
        Where the fallback draws each candidate equally often (a table's levels), the second
        draw makes the pick uniform over the untaken candidates either way.
        """
        assert plan.evaluated is not None
        # drawn in the search space's own order, the order a random search draws in
        dims = {dim.name: dim.distribution for dim in space.dims}
        order = [name for name in self._search_space or () if name in dims] or list(dims)
        drawn = {
            name: self._fallback.sample_independent(study, trial, name, dims[name])
            for name in order
        }
        raw = space.raw_matrix([drawn])
        window = plan.window
        new = self._candidates is None and _untaken(space, raw, plan.evaluated)[0]
        if new and (window is None or window.trains([space.to_params(raw[0])])[0]):
            return drawn, ""
        candidates = self._candidate_set(space)
        fresh = _untaken(space, candidates, plan.evaluated)
        note = ""
        if window is not None:
            inside = window.trains([space.to_params(row) for row in candidates])
            if (fresh & inside).any():
                fresh &= inside
            else:
                note = " (no untaken configuration lies in the window: drawn from all)"
        match = fresh & ~_untaken(space, candidates, raw)  # the draw, if an untaken candidate
        if match.any():
            return space.to_params(candidates[np.argmax(match)]), note
        pool = candidates[fresh] if fresh.any() else candidates
        rng = np.random.default_rng([self._seed, trial.number])
        return space.to_params(pool[rng.integers(len(pool))]), note


def _untaken(space: Space, candidates: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """Mask of the candidates (raw rows) that no row of `taken` is (after snapping)."""
    keys = set(space.keys(taken))
    return np.array([k not in keys for k in space.keys(candidates)], dtype=bool)


def _ranges(space: Space) -> dict[str, tuple[float, float, bool]]:
    """Each modelled parameter's raw values at the ends of its box, and whether the box
    coordinate is logarithmic: what an absolute prior needs to place the box."""
    out = {}
    for dim in space.dims:
        low, high = dim.untransform(np.array(dim.bounds()))
        out[dim.name] = (float(low), float(high), dim.log)
    return out


def _default_means(surrogate: BayesianQuadratic, d: int, k: int) -> np.ndarray:
    """The surrogate's own prior means per term (`bowl` on squares, 0 elsewhere)."""
    means = np.zeros((k, len(term_names([str(i) for i in range(d)], surrogate.degree))))
    if surrogate.bowl and surrogate.degree >= 2:
        means[:, square_columns(d)] = surrogate.bowl
    return means


def _prior_note(weights: dict[str, float], n: int, decay: float | None) -> str:
    """The decision's words on the learned prior's weight."""
    values = set(weights.values())
    shown = (
        f"{values.pop():.2f}"
        if len(values) == 1
        else ", ".join(f"{k} {v:.2f}" for k, v in weights.items())
    )
    if max(weights.values()) >= 0.5:
        return f" (surfaces started from the learned prior, weight {shown}: it predicts the trials)"
    if decay is not None and decay / max(n, 1) < 0.5:
        return f" (learned prior faded out after {n} trials, weight {shown})"
    return f" (learned prior set aside, weight {shown}: the trials contradict it)"


def _signs(study: Study) -> np.ndarray:
    """+1 for minimised objectives, -1 for maximised ones."""
    return np.array([1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in study.directions])


def _direction_names(study: Study) -> list[str]:
    return ["minimize" if d == StudyDirection.MINIMIZE else "maximize" for d in study.directions]


def _objective_names(study: Study) -> list[str]:
    names = study.metric_names
    if names is None:
        return [f"objective {i}" for i in range(len(study.directions))]
    return list(names)


def _is_collapsed(trial: FrozenTrial, names: Sequence[str]) -> bool:
    """`is_collapsed` on the trial's user attributes, its values standing in for the metrics
    it optimises (a `collapsed` or metric attribute wins)."""
    from advisor.study.grid_status import is_collapsed  # the study package imports steering

    values = dict(zip(names, trial.values or (), strict=False))
    return is_collapsed({**values, **trial.user_attrs})


def _candidate_rows(
    candidates: pd.DataFrame | Sequence[Mapping[str, Any]] | None,
) -> list[Mapping[str, Any]] | None:
    if candidates is None:
        return None
    if hasattr(candidates, "to_dict"):
        return list(candidates.to_dict("records"))
    return [dict(row) for row in candidates]
