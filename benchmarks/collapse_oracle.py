"""What would knowing which configurations collapse be worth to the surface sampler? (research
tool, issue 19.)

Runs the surface sampler on each table in these variants, the same seeds as `advisor bench
--seed 0`:

- `shipped`: as shipped in round q (its start-up a random search's: no `TrainingWindow`);
- `oracle`: the table's collapsed configurations removed from its candidates (it never
  proposes one, random start-up included);
- `steered`: removed only from the proposals its surfaces steer (the start-up stays a random
  search's): the gap bounds what a model of collapse could add after the start-up;
- `rule-startup`: no oracle; the random start-up draws only where the step rule of
  `collapse_regularity.py` expects a run to train (`TrainingWindow`: learning rate x optimizer
  steps at least 3e-3, and at most 3e-2 above a learning rate of 4e-4; the train size from the
  table's spec), and, unlike the shipped window, is never set aside.

    python benchmarks/collapse_oracle.py f1,loss 50 benchmarks/tables/A.csv ... \
        [--variants shipped,oracle,steered,rule-startup]
"""

from __future__ import annotations

import argparse
import functools

from learn_prior import mostly_collapsed
from prior_coordinates import train_size

import advisor.bench as bench_module
from advisor.bench import _quiet, run_benchmark
from advisor.steering import TrainingWindow, parse_objectives
from advisor.table import PARAMS, read_table

BUDGETS = (3, 4, 5, 6, 8, 10, 12, 15)
# "shipped" is round q's sampler, whose start-up was a random search's: the start-up window
# shipped since (`TrainingWindow`) is turned off, so the committed rows reproduce.
SURFACE_SAMPLER = bench_module.surface_sampler
SHIPPED = functools.partial(SURFACE_SAMPLER, startup_window=None)


def never_collapsed(bench, seed, **options):
    """The shipped sampler with the collapsed configurations taken out of its candidates."""
    sampler = SHIPPED(bench, seed, **options)
    collapsed = mostly_collapsed(bench)
    rows = sampler._candidates
    sampler._candidates = [row for row, out in zip(rows, collapsed, strict=True) if not out]
    return sampler


def steered_only(bench, seed, **options):
    """The shipped sampler, the collapsed configurations out of its steered proposals only."""
    sampler = SHIPPED(bench, seed, **options)
    collapsed = [
        row for row, out in zip(sampler._candidates, mostly_collapsed(bench), strict=True) if out
    ]
    candidate_set, propose = sampler._candidate_set, sampler._propose

    def filtered(space):
        raw = candidate_set(space)
        if not steering[0] or not collapsed:
            return raw
        out = set(space.keys(space.raw_matrix(collapsed)))
        return raw[[key not in out for key in space.keys(raw)]]

    def steered_propose(plan, part, study, trial):
        steering[0] = plan.model is not None
        try:
            return propose(plan, part, study, trial)
        finally:
            steering[0] = False

    steering = [False]
    sampler._candidate_set, sampler._propose = filtered, steered_propose
    return sampler


def rule_startup(bench, seed, train_size, **options):
    """The shipped sampler whose random start-up draws only where the step rule expects
    training (all candidates where it expects none to)."""
    sampler = SHIPPED(bench, seed, **options)
    rows = [dict(zip(PARAMS, config, strict=True)) for config in bench.configs]
    trains = TrainingWindow(train_size).trains(rows)
    full = sampler._candidates
    startup = [row for row, keep in zip(full, trains, strict=True) if keep]
    draw_fresh = sampler._draw_fresh

    def fresh(plan, space, study, trial):
        sampler._candidates, sampler._cache = startup or full, {}
        try:
            return draw_fresh(plan, space, study, trial)
        finally:
            sampler._candidates, sampler._cache = full, {}

    sampler._draw_fresh = fresh
    return sampler


VARIANTS = {
    "shipped": SHIPPED,
    "oracle": never_collapsed,
    "steered": steered_only,
    "rule-startup": rule_startup,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("objectives")
    parser.add_argument("repeats", type=int)
    parser.add_argument("tables", nargs="+")
    parser.add_argument("--variants", default="shipped,oracle,steered")
    args = parser.parse_args()
    objectives, repeats = parse_objectives(args.objectives), args.repeats
    labels = args.variants.split(",")
    print(f"{args.objectives}, {repeats} repeats; mean hypervolume ratio at {BUDGETS}", flush=True)
    for path in args.tables:
        table = read_table(path)
        line = []
        for label in labels:
            factory = VARIANTS[label]
            if factory is rule_startup:
                factory = functools.partial(rule_startup, train_size=train_size(path))
            bench_module.surface_sampler = factory
            result = run_benchmark(
                table, objectives, budget=max(BUDGETS), repeats=repeats, samplers=("surface",)
            )
            means = result.ratios["surface"].mean(axis=0)
            line.append(f"{label} " + " ".join(f"{means[b - 1]:.3f}" for b in BUDGETS))
        bench_module.surface_sampler = SURFACE_SAMPLER
        print(path.rsplit("/", 1)[-1], " | ".join(line), flush=True)


if __name__ == "__main__":
    with _quiet():
        main()
