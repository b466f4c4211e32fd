"""Which true-front configurations the surface sampler has not found after B trials (research
tool, issue 19): the front, the mean hypervolume ratio at B, and for every repeat below 0.98 the
front configurations it missed and its sequence of table rows (rows sorted by learning rate,
batch size, epochs; the pruner on where the table has curves, as `advisor bench` runs it).

    python benchmarks/front_misses.py benchmarks/tables/sst2-minilm-350-top-curves.csv f1,loss 50 10
"""

from __future__ import annotations

import sys

import numpy as np

from advisor.bench import _quiet, prepare_table, run_benchmark
from advisor.steering import parse_objectives
from advisor.table import read_table


def main() -> None:
    path, objectives_arg = sys.argv[1], sys.argv[2]
    repeats, budget = int(sys.argv[3]), int(sys.argv[4])
    table, objectives = read_table(path), parse_objectives(objectives_arg)
    bench = prepare_table(table, objectives)
    front = np.flatnonzero(bench.pareto_mask)
    for i in front:
        lr, batch, epochs = bench.configs[i]
        print(f"front row {i}: learning_rate {lr:.3g}, batch_size {batch:g}, epochs {epochs:g}")
    with _quiet():
        result = run_benchmark(
            table, objectives, budget=budget, repeats=repeats, samplers=("surface",)
        )
    at_budget = result.ratios["surface"][:, budget - 1]
    short = np.argsort(at_budget)[: int((at_budget < 0.98).sum())]
    print(f"mean at {budget}: {at_budget.mean():.3f}; below 0.98: {len(short)} of {repeats}")
    for r in short:
        seen = result.configs["surface"][r]
        missed = [int(i) for i in front if i not in seen]
        print(f"  repeat {r}: {at_budget[r]:.3f}, missed {missed}, rows {list(map(int, seen))}")


if __name__ == "__main__":
    main()
