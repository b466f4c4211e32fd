"""Learn a `SurfacePrior` from benchmark tables (the shipped one: advisor/steering/priors/).

    python benchmarks/learn_prior.py benchmarks/tables/a.csv benchmarks/tables/b.csv \
        --out advisor/steering/priors/finetune.json
    python benchmarks/learn_prior.py benchmarks/tables/*.csv --leave-one-out --objective f1,loss

`--leave-one-out` measures instead what such a prior is worth on a table it has not seen: the
surface sampler searches each table with a prior learned from the other tables (20 repeats,
seeded as `advisor bench --seed 0`), and the ratios are pooled over the tables.

Each table is reduced to its configurations' mean metrics, its parameters' levels are scaled to
[-1, 1] as `advisor bench` presents them to the sampler (for grids evenly spaced on the
modelling scale, the same coordinates `advisor tune` uses), and the whole-table surfaces of
accuracy, F1 and loss are averaged over the tables (`advisor.steering.fit_surface_prior`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from advisor.bench import _quiet, prepare_table, repeat_streams, run_once, surface_sampler
from advisor.steering import SurfacePrior, TableSpace, fit_surface_prior, parse_objectives
from advisor.steering._space import Space
from advisor.table import read_table

OBJECTIVES = "accuracy,f1,loss"


def table_grid(path: str, objectives: list) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """`(x, means, names)` of one table: its configurations as the benchmark's surface sampler
    sees them (level indices scaled to [-1, 1]), their mean metrics, and the parameter names."""
    bench = prepare_table(read_table(path), objectives)
    table = TableSpace(bench.configs)
    levels = Space(table.distributions, log_params=())
    x = levels.to_unit(levels.raw_matrix(table.candidates()))
    return x, bench.means, [name.removesuffix("_level") for name in levels.names]


def learn(
    grids: dict[str, tuple[np.ndarray, np.ndarray, list[str]]], objectives: list, source: str = ""
) -> SurfacePrior:
    """The prior averaged over `grids` (path -> `table_grid(path, objectives)`), which must vary
    the same parameters."""
    names = {tuple(grid[2]) for grid in grids.values()}
    if len(names) != 1:
        raise SystemExit(f"the tables vary different parameters: {sorted(names)}")
    pairs = [(x, means) for x, means, _ in grids.values()]
    directions = [(o.name, o.direction) for o in objectives]
    return fit_surface_prior(pairs, list(names.pop()), directions, source=source)


def leave_one_out(paths: list[str], objective: str, budget: int, repeats: int) -> None:
    """The surface sampler on each table, its prior learned from the other tables."""
    import optuna
    from synthetic_table import summarise

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objectives = parse_objectives(objective)
    learned = parse_objectives(OBJECTIVES)
    grids = {path: table_grid(path, learned) for path in paths}
    runs = []
    with _quiet():
        for path in paths:
            start = time.time()
            prior = learn({p: grid for p, grid in grids.items() if p != path}, learned)
            bench = prepare_table(read_table(path), objectives)
            space = TableSpace(bench.configs)
            prior = prior.renamed({f"{p}_level": p for p in space.names})
            table_runs = []
            for r in range(repeats):
                seed, draws = repeat_streams(0, r, len(bench.configs), budget)
                sampler = surface_sampler(bench, seed, prior=prior)
                table_runs.append(run_once(bench, objectives, sampler, budget, draws))
            ratios = np.vstack(table_runs)
            runs.append(ratios)
            mark = min(15, budget) - 1
            print(
                f"{Path(path).stem} {objective}: hv@{mark + 1} {ratios[:, mark].mean():.3f} "
                f"({time.time() - start:.0f} s)",
                flush=True,
            )
    for row in summarise({"leave-one-table-out prior": np.vstack(runs)}, (5, 10, 15, 20)):
        print(json.dumps(row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="+", help="benchmark-table CSVs")
    parser.add_argument("--objective", default=OBJECTIVES)
    parser.add_argument("--out", help="where to write the prior (JSON)")
    parser.add_argument("--leave-one-out", action="store_true", help="evaluate, do not write")
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    if args.leave_one_out:
        leave_one_out(args.tables, args.objective, args.budget, args.repeats)
        return
    if not args.out:
        parser.error("--out is required unless --leave-one-out")
    tables = ", ".join(Path(p).stem for p in args.tables)
    source = f"whole-grid surfaces of {len(args.tables)} benchmark tables ({tables})"
    objectives = parse_objectives(args.objective)
    prior = learn({p: table_grid(p, objectives) for p in args.tables}, objectives, source)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(prior.to_dict(), indent=2) + "\n")
    print(f"wrote {args.out}: {len(args.tables)} tables")


if __name__ == "__main__":
    main()
