"""One simulated search over a benchmark table, with the cost of each trial and pruning.

A proposal is answered by one replicate of the configuration (drawn as `advisor.bench`
describes). With a pruner, a replicate that has a curve is played epoch by epoch: its partial
curve is shown to the pruner after each epoch but the last, and a pruned trial is told PRUNED
(its partial curve kept as its `curve` attribute), charged what it cost up to there, and adds
nothing to the configurations found. Pruners:

- `"pareto"`: `advisor.steering.ParetoPruner` (any number of objectives), asked through the
  study as `advisor tune --prune` asks it;
- `"optuna"`: the study's own Optuna pruner (its default `MedianPruner`) through
  `Trial.report` / `Trial.should_prune`, which Optuna supports for one objective only.

With `batch` N > 1 the search runs in rounds, as `advisor tune --workers N` does: N trials are
asked before any is told, so each proposal after the first of a round sees the round's
earlier ones as RUNNING trials; then the round's trials are answered in the order asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import TrialState

from advisor.bench_cost import EPOCHS_UNIT, Curve, pruned_cost
from advisor.steering import Objective, ParetoPruner, TableSpace
from advisor.steering._pruner import curve_metric

if TYPE_CHECKING:
    from advisor.bench import BenchTable

PRUNERS: tuple[str, ...] = ("pareto", "optuna")


@dataclass(frozen=True)
class SearchTrace:
    """What one search did, trial by trial.

    Attributes:
        ratios: `(budget,)` hypervolume ratio after each trial.
        costs: `(budget,)` cost charged to each trial (in the table's cost unit).
        pruned: `(budget,)` whether each trial was pruned.
        configs: `(budget,)` the table configuration (row of `BenchTable.configs`) of each.
    """

    ratios: np.ndarray
    costs: np.ndarray
    pruned: np.ndarray
    configs: np.ndarray


def run_search(
    bench: BenchTable,
    objectives: Sequence[Objective],
    sampler: optuna.samplers.BaseSampler,
    budget: int,
    replicate_draws: np.ndarray,
    on_trial: Callable[[], None] | None = None,
    pruner: str | None = None,
    seed: int = 0,
    batch: int = 1,
) -> SearchTrace:
    """One search of `budget` trials (pruned ones included) with pruner `pruner` (one of
    PRUNERS, or None for none), in rounds of `batch` proposals; `seed` seeds the Pareto
    pruner's draws."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    if pruner is not None and pruner not in PRUNERS:
        raise ValueError(f"unknown pruner {pruner!r}; choose one of: {', '.join(PRUNERS)}")
    if pruner == "optuna" and len(objectives) > 1:
        raise ValueError("Optuna's pruners support single-objective studies only")
    space = TableSpace(bench.configs)
    distributions: dict[str, BaseDistribution] = dict(space.distributions)
    directions = [optuna.study.StudyDirection[o.direction.upper()] for o in objectives]
    study = optuna.create_study(directions=directions, sampler=sampler)
    study.set_metric_names([o.name for o in objectives])
    pareto = ParetoPruner(seed=seed) if pruner == "pareto" else None
    visits = np.zeros(len(bench.configs), dtype=int)
    found: list[int] = []
    ratios, costs = np.zeros(budget), np.zeros(budget)
    pruned = np.zeros(budget, dtype=bool)
    configs = np.zeros(budget, dtype=int)
    volume = 0.0
    for first in range(0, budget, batch):
        asked = [study.ask(distributions) for _ in range(min(batch, budget - first))]
        for b, trial in enumerate(asked, start=first):
            index = configs[b] = space.lookup(trial.params)
            draw = replicate_draws[index, min(visits[index], replicate_draws.shape[1] - 1)]
            replicate = draw % len(bench.replicates[index])
            values = bench.replicates[index][replicate]
            visits[index] += 1
            if bench.collapsed:  # as a tuned trial records it: the sampler models collapse
                trial.set_user_attr("collapsed", bool(bench.collapsed[index][replicate]))
            curve = bench.curves[index][replicate] if bench.curves else None
            full = float(bench.costs[index][replicate]) if bench.costs else 0.0
            stop = None
            if pruner is not None and curve is not None:
                stop = _pruned_after(study, trial, curve, values, objectives, pareto)
            if stop is None:
                if curve is not None:
                    trial.set_user_attr("curve", curve)
                study.tell(trial, values.tolist())
                costs[b] = full
                if index not in found:
                    found.append(index)
                    volume = bench.scale.hypervolume(bench.means[found])
            else:
                study.tell(trial, state=TrialState.PRUNED)
                costs[b] = pruned_cost(full, curve, stop, bench.cost_unit) if curve else full
                pruned[b] = True
            ratios[b] = volume / bench.true_hypervolume
            if on_trial is not None:
                on_trial()
    return SearchTrace(ratios, costs, pruned, configs)


def pruner_for(sampler: str, objectives: Sequence[Objective], prune: bool) -> str | None:
    """The pruner a sampler runs with: ours for the surface sampler, Optuna's own for Optuna's
    samplers on one objective, none for them on several (Optuna cannot prune those)."""
    if not prune:
        return None
    if sampler == "surface":
        return "pareto"
    return "optuna" if len(objectives) == 1 else None


def search_notes(
    bench: BenchTable,
    objectives: Sequence[Objective],
    samplers: Sequence[str],
    cost: str,
    prune: bool | None,
) -> list[str]:
    """What the reader must know about how the start-up, cost and pruning were simulated."""
    notes = []
    if "surface" in samplers and bench.train_size is not None:
        notes.append(
            "the surface sampler's start-up draws where fine-tunes are expected to train "
            f"(learning rate x optimizer steps, at the table's {bench.train_size} training "
            "examples per epoch)"
        )
    elif "surface" in samplers:
        notes.append(
            "the table gives no train size (train_samples_per_second, train_seconds): the "
            "surface sampler's start-up is a random search's"
        )
    if cost == "seconds" and bench.cost_unit == EPOCHS_UNIT:
        notes.append(
            "the table has no time column (train_seconds, wall_time_s): epochs are the cost"
        )
    elif cost == "seconds" and bench.cost_unit != "train_seconds":
        notes.append(f"the table has no train_seconds column: {bench.cost_unit} is the cost")
    wanted = prune if prune is not None else True
    if wanted and not bench.has_curves:
        notes.append("the table has no curves (metric@K columns): no run was pruned")
    elif wanted and len(objectives) > 1 and any(n != "surface" for n in samplers):
        notes.append(
            "Optuna's samplers ran without pruning: Optuna's pruners support one objective only"
        )
    elif wanted and len(objectives) == 1 and any(n != "surface" for n in samplers):
        notes.append("Optuna's samplers ran with Optuna's default pruner (MedianPruner)")
    return notes


def _pruned_after(
    study: optuna.Study,
    trial: optuna.Trial,
    curve: Curve,
    values: np.ndarray,
    objectives: Sequence[Objective],
    pareto: ParetoPruner | None,
) -> int | None:
    """The epoch after which the pruner stops this run (None: it runs to the end)."""
    epochs = len(curve)
    trial.set_user_attr("epochs", epochs)
    # a relative objective differs from its curve metric by this run's baseline offset
    offset = float(values[0]) - curve[-1][curve_metric(objectives[0])]
    for k in range(1, epochs):
        if pareto is not None:
            trial.set_user_attr("curve", curve[:k])
            if pareto.prune(study, trial):
                return k
        else:
            trial.report(curve[k - 1][curve_metric(objectives[0])] + offset, step=k)
            if trial.should_prune():
                return k
    return None
