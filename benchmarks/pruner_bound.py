"""What any pruner could save on the way to 0.95 of the front (research tool).

Replays the unpruned surface-sampler search (the seeds of `advisor bench --seed 0`, budget 20)
and charges every trial before the one that first reaches 0.95 only its first epoch: an oracle
that stops, after epoch 1, every run that does not get the search there (a 1-epoch run costs in
full). It ignores that pruned runs would also change what the sampler learns, so it bounds
what pruning alone could do to the cost of reaching the target.

    python benchmarks/pruner_bound.py f1,loss benchmarks/tables/sst2-minilm-300-curves.csv ...
"""

from __future__ import annotations

import sys

import numpy as np

from advisor.bench import _quiet, prepare_table, repeat_streams, surface_sampler
from advisor.bench_cost import pruned_cost
from advisor.bench_search import run_search
from advisor.steering import parse_objectives
from advisor.table import read_table

BUDGET, REPEATS, TARGET = 20, 20, 0.95


def main() -> None:
    objectives = parse_objectives(sys.argv[1])
    for path in sys.argv[2:]:
        bench = prepare_table(read_table(path), objectives)
        plain, oracle, last = [], [], []
        for r in range(REPEATS):
            seed, draws = repeat_streams(0, r, len(bench.configs), BUDGET)
            sampler = surface_sampler(bench, seed)
            trace = run_search(bench, objectives, sampler, BUDGET, draws, seed=seed)
            hit = np.flatnonzero(trace.ratios >= TARGET)
            if not hit.size:
                continue
            k = hit[0]
            before = 0.0
            for i in range(k):
                curve = bench.curves[trace.configs[i]][0]
                full = float(trace.costs[i])
                short = curve is not None and len(curve) > 1
                before += pruned_cost(full, curve, 1, bench.cost_unit) if short else full
            plain.append(trace.costs[: k + 1].sum() / bench.total_cost)
            oracle.append((before + trace.costs[k]) / bench.total_cost)
            last.append(trace.costs[k] / bench.total_cost)
        ratio = np.median(np.array(oracle) / np.array(plain))
        print(
            f"{path.rsplit('/', 1)[-1]} {sys.argv[1]}: reached in {len(plain)} of {REPEATS}; "
            f"median cost share to {TARGET}: unpruned {np.median(plain):.3f}, oracle pruner "
            f"{np.median(oracle):.3f} (ratio {ratio:.2f}); the reaching trial alone "
            f"{np.median(last):.3f}",
            flush=True,
        )


if __name__ == "__main__":
    with _quiet():
        main()
