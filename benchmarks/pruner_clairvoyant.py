"""What a pruner that follows issue 15's rule could save, if it knew every run's future.

Issue 15's pruner stops a fine-tune after epoch K when its final values are unlikely to join the
Pareto front of the study so far. This script gives that rule perfect foresight: after epoch 1 it
knows the run's final values (the very replicate the table answers with) and stops the run
exactly when they would not join the front of the finished trials (dominance as the shipped
pruner judges it). No real pruner can do better under that rule, so its cost share to 0.95 of the
true front bounds what the rule can save. The sampler is the shipped surface sampler and sees
the pruned runs as `advisor bench` shows them (PRUNED, with their epoch-1 curve); the seeds are
those of `advisor bench --seed 0`, and the budget is the table's configuration count.

It prints, per table and objective set, the median cost share (of the whole table's training
cost) to 0.95 without pruning, with the shipped Pareto pruner and with the clairvoyant one, and
the ratios to no pruning (issue 15's target: <= 0.7). A third pruner, in hindsight, knows the
whole table and stops every run off its true front after epoch 1: the most any pruner could
save on the sampler's path, whatever its rule.

    python benchmarks/pruner_clairvoyant.py f1,loss benchmarks/tables/sst2-minilm-550-mid-curves.csv
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np
import optuna
from optuna.trial import TrialState

import advisor.bench_search as search_module
from advisor.bench import BenchTable, _quiet, prepare_table, repeat_streams, surface_sampler
from advisor.bench_cost import cost_to_reach
from advisor.bench_search import run_search
from advisor.steering import parse_objectives
from advisor.steering._curve_model import join_probability
from advisor.steering._objectives import Objective
from advisor.steering._table import TableSpace
from advisor.table import read_table

REPEATS, TARGET = 20, 0.95
SHIPPED_PRUNED_AFTER = search_module._pruned_after


def joins_front(study: optuna.Study, values: np.ndarray, objectives: Sequence[Objective]) -> bool:
    """Whether `values` would join the Pareto front of the study's finished trials (as the
    shipped pruner judges a draw: `join_probability`)."""
    signs = np.array([o.sign for o in objectives])
    done = [t.values for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    front = np.asarray(done, dtype=float).reshape(-1, len(objectives)) * signs
    return join_probability((values * signs)[None, :], front) > 0


def clairvoyant_pruned_after(
    study: optuna.Study,
    trial: optuna.Trial,
    curve: Sequence[dict[str, float]],
    values: np.ndarray,
    objectives: Sequence[Objective],
    pareto: object,
) -> int | None:
    """`bench_search._pruned_after` with foresight: stop after epoch 1 exactly when the final
    values would not join the front."""
    trial.set_user_attr("epochs", len(curve))
    if len(curve) > 1 and not joins_front(study, np.asarray(values, dtype=float), objectives):
        trial.set_user_attr("curve", list(curve[:1]))
        return 1
    return None


def hindsight_pruned_after(bench: BenchTable) -> Callable[..., int | None]:
    """A pruner that knows the whole table: stop after epoch 1 every run whose configuration is
    not on the table's true front (what no rule about the study so far can know)."""
    space = TableSpace(bench.configs)

    def pruned_after(study, trial, curve, values, objectives, pareto):  # noqa: ANN001, ANN202
        trial.set_user_attr("epochs", len(curve))
        if len(curve) > 1 and not bench.pareto_mask[space.lookup(trial.params)]:
            trial.set_user_attr("curve", list(curve[:1]))
            return 1
        return None

    return pruned_after


def median_share(bench: BenchTable, objectives, mode: str) -> tuple[float, float, float]:
    """Median cost share to TARGET and median trials to it (a miss counts as infinite), and
    the pruned share of trials."""
    search_module._pruned_after = {
        "clairvoyant": clairvoyant_pruned_after,
        "hindsight": hindsight_pruned_after(bench),
    }.get(mode, SHIPPED_PRUNED_AFTER)
    budget = len(bench.configs)
    shares, pruned, trials = [], [], []
    for r in range(REPEATS):
        seed, draws = repeat_streams(0, r, budget, budget)
        sampler = surface_sampler(bench, seed)
        pruner = None if mode == "none" else "pareto"
        trace = run_search(bench, objectives, sampler, budget, draws, pruner=pruner, seed=seed)
        spent = np.cumsum(trace.costs) / bench.total_cost
        shares.append(float(cost_to_reach(trace.ratios[None], spent[None], TARGET)[0]))
        pruned.append(trace.pruned.mean())
        hit = np.flatnonzero(trace.ratios >= TARGET - 1e-12)
        trials.append(hit[0] + 1.0 if hit.size else np.inf)
    search_module._pruned_after = SHIPPED_PRUNED_AFTER
    return float(np.median(shares)), float(np.median(trials)), float(np.mean(pruned))


def main() -> None:
    objectives = parse_objectives(sys.argv[1])
    print(
        "| table | objectives | no pruning | shipped pruner | clairvoyant | hindsight | "
        "shipped/none | clairvoyant/none | hindsight/none | trials to 0.95 (none, shipped, "
        "clairvoyant, hindsight) | pruned share (shipped, clairvoyant, hindsight) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in sys.argv[2:]:
        bench = prepare_table(read_table(path), objectives)
        none, none_n, _ = median_share(bench, objectives, "none")
        shipped, shipped_n, shipped_pruned = median_share(bench, objectives, "shipped")
        seer, seer_n, seer_pruned = median_share(bench, objectives, "clairvoyant")
        late, late_n, late_pruned = median_share(bench, objectives, "hindsight")
        name = path.rsplit("/", 1)[-1].removesuffix(".csv")
        print(
            f"| {name} | {sys.argv[1]} | {none:.3f} | {shipped:.3f} | {seer:.3f} | {late:.3f} | "
            f"{shipped / none:.2f} | {seer / none:.2f} | {late / none:.2f} | "
            f"{none_n:g}, {shipped_n:g}, {seer_n:g}, {late_n:g} | "
            f"{shipped_pruned:.2f}, {seer_pruned:.2f}, {late_pruned:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    with _quiet():
        main()
