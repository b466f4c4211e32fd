"""What a wrong start-up window costs (research tool, issue 19).

The surface sampler's `TrainingWindow` was read off MiniLM on SST-2. A model or data set whose
collapse sits elsewhere makes it wrong. This tool tells the window a train size `factor` times
the table's true one, which moves the window by that factor in learning rate x optimizer steps
(x10: it expects training where runs have a tenth of the steps they need), and runs the
shipped sampler with that window, without a window, and random search, on the same seeds as
`advisor bench --seed 0` (the pruner on where the table has curves). It prints the mean
hypervolume ratio at 3, 4, 5, 6, 8, 10, 12 and 15 trials and the worst gap to random search.

    python benchmarks/window_misplaced.py f1,loss 50 10 benchmarks/tables/A.csv ...
"""

from __future__ import annotations

import argparse

import numpy as np
from sampler_variants import BUDGETS, ratios

import advisor.bench as bench_module
from advisor.bench import _quiet
from advisor.steering import TableSpace, TrainingWindow

SURFACE_SAMPLER = bench_module.surface_sampler


def misplaced(factor: float):
    """`advisor.bench`'s surface sampler, its window told `factor` x the table's train size."""

    def build(bench, seed, **options):
        if bench.train_size is None:
            raise SystemExit("the table gives no train size (train_samples_per_second)")
        window = TableSpace(bench.configs).level_window(TrainingWindow(bench.train_size * factor))
        return SURFACE_SAMPLER(bench, seed, startup_window=window, **options)

    return build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("objectives")
    parser.add_argument("repeats", type=int)
    parser.add_argument("factor", type=float)
    parser.add_argument("tables", nargs="+")
    args = parser.parse_args()
    print(
        f"{args.objectives}, {args.repeats} repeats, window told {args.factor:g} x the train "
        f"size; mean hypervolume ratio at {BUDGETS}",
        flush=True,
    )
    variants = {
        "misplaced": misplaced(args.factor),
        "no-window": lambda bench, seed, **o: SURFACE_SAMPLER(
            bench, seed, **{**o, "startup_window": None}
        ),
    }
    for path in args.tables:
        random = ratios(path, args.objectives, args.repeats, "random")
        line = [f"random {' '.join(f'{v:.3f}' for v in random)}"]
        for label, factory in variants.items():
            bench_module.surface_sampler = factory
            try:
                ours = ratios(path, args.objectives, args.repeats, "surface")
            finally:
                bench_module.surface_sampler = SURFACE_SAMPLER
            gap = ours - random
            worst = int(np.argmin(gap))
            line.append(
                f"{label} {' '.join(f'{v:.3f}' for v in ours)} "
                f"(-random worst {gap[worst]:+.3f} at {BUDGETS[worst]})"
            )
        print(path.rsplit("/", 1)[-1], " | ".join(line), flush=True)


if __name__ == "__main__":
    with _quiet():
        main()
