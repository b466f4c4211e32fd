"""Pruner and sampler variants scored in training cost on tables with curves (research tool).

Each variant is a JSON object of `ParetoPruner` arguments, optionally with `"prune": false` (no
pruner) and `"sampler": {...}` (`SurfaceSampler` arguments). Every variant runs the same seeds
as `advisor bench --seed 0` over the whole table (budget = its configurations) and prints the
median (and mean, capped at 1) share of the table's training cost spent to reach 0.9 / 0.95 of
the true front's hypervolume, the trials to 0.95, the share of trials pruned, the hypervolume
ratio at 15 trials and at the end, and the share of the table's cost the whole budget spent.

    python benchmarks/pruner_variants.py T1.csv,T2.csv f1,loss 20 '{"prune": false}' '{}'
"""

from __future__ import annotations

import functools
import json
import sys

import numpy as np

import advisor.bench_search as bench_search
from advisor.bench import _quiet, prepare_table, repeat_streams, surface_sampler
from advisor.bench_cost import cost_to_reach
from advisor.steering import ParetoPruner, parse_objectives
from advisor.table import read_table


def first_reaching(ratios: np.ndarray, target: float) -> np.ndarray:
    return np.array([np.argmax(r >= target) + 1 if (r >= target).any() else np.inf for r in ratios])


def main() -> None:
    tables, objectives, repeats = sys.argv[1].split(","), sys.argv[2], int(sys.argv[3])
    variants = [json.loads(v) for v in sys.argv[4:]]
    parsed = parse_objectives(objectives)
    for path in tables:
        bench = prepare_table(read_table(path), parsed)
        budget = len(bench.configs)
        for variant in variants:
            options = dict(variant)
            sampler_options = options.pop("sampler", {})
            prune = options.pop("prune", True)
            # run_search builds its ParetoPruner by name: hand it this variant's arguments
            bench_search.ParetoPruner = functools.partial(ParetoPruner, **options)  # type: ignore[misc]
            ratios, spent, pruned = [], [], []
            for r in range(repeats):
                seed, draws = repeat_streams(0, r, budget, budget)
                sampler = surface_sampler(bench, seed, **sampler_options)
                trace = bench_search.run_search(
                    bench,
                    parsed,
                    sampler,
                    budget,
                    draws,
                    pruner="pareto" if prune else None,
                    seed=seed,
                )
                ratios.append(trace.ratios)
                spent.append(np.cumsum(trace.costs) / bench.total_cost)
                pruned.append(trace.pruned.mean())
            hv, cost = np.array(ratios), np.array(spent)
            c90, c95 = cost_to_reach(hv, cost, 0.9), cost_to_reach(hv, cost, 0.95)
            print(
                f"{path.rsplit('/', 1)[-1]} {objectives} {json.dumps(variant)}: "
                f"cost to 0.9 {np.median(c90):.3f}, to 0.95 {np.median(c95):.3f} "
                f"(mean {np.mean(np.minimum(c95, 1)):.3f}); trials to 0.95 "
                f"{np.median(first_reaching(hv, 0.95)):.1f}; pruned {np.mean(pruned):.2f}; "
                f"hv@15 {hv[:, 14].mean():.3f}, at the end {hv[:, -1].mean():.3f}; "
                f"whole budget {cost[:, -1].mean():.3f} of the table's cost",
                flush=True,
            )


if __name__ == "__main__":
    with _quiet():
        main()
