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

from advisor.bench import _quiet, prepare_table, run_once, surface_sampler
from advisor.steering import SurfacePrior, TableSpace, fit_surface_prior, parse_objectives
from advisor.table import read_table

OBJECTIVES = "accuracy,f1,loss"


def table_grid(path: str, objectives: list) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """`(x, means, names)` of one table: level coordinates in [-1, 1] and mean metrics."""
    bench = prepare_table(read_table(path), objectives)
    space = TableSpace(bench.configs)
    varied = [j for j, levels in enumerate(space.levels) if levels.size > 1]
    codes = space.codes[:, varied].astype(float)
    x = 2.0 * codes / codes.max(axis=0) - 1.0
    return x, bench.means, [space.names[j] for j in varied]


def learn(paths: list[str], objectives: list, source: str = "") -> SurfacePrior:
    grids, names = [], None
    for path in paths:
        x, means, table_names = table_grid(path, objectives)
        if names is not None and table_names != names:
            raise SystemExit(f"{path} varies {table_names}, the others {names}")
        names = table_names
        grids.append((x, means))
    assert names is not None
    return fit_surface_prior(
        grids, names, [(o.name, o.direction) for o in objectives], source=source
    )


def leave_one_out(paths: list[str], objective: str, budget: int, repeats: int) -> None:
    """The surface sampler on each table, its prior learned from the other tables."""
    import optuna
    from synthetic_table import summarise

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objectives = parse_objectives(objective)
    runs = []
    with _quiet():
        for path in paths:
            start = time.time()
            prior = learn([p for p in paths if p != path], parse_objectives(OBJECTIVES))
            bench = prepare_table(read_table(path), objectives)
            space = TableSpace(bench.configs)
            prior = prior.renamed({f"{p}_level": p for p in space.names})
            table_runs = []
            for r in range(repeats):
                seed = int(np.random.SeedSequence([0, r]).generate_state(1)[0])
                draws = np.random.default_rng([0, r, 1]).integers(
                    0, 2**31, size=(len(bench.configs), budget)
                )
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
    prior = learn(args.tables, parse_objectives(args.objective), source)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(prior.to_dict(), indent=2) + "\n")
    print(f"wrote {args.out}: {len(args.tables)} tables")


if __name__ == "__main__":
    main()
