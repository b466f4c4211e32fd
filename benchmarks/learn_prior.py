"""Learn a `SurfacePrior` from benchmark tables (the shipped one: advisor/steering/priors/).

    python benchmarks/learn_prior.py benchmarks/tables/a.csv benchmarks/tables/b.csv \
        --out advisor/steering/priors/finetune.json
    python benchmarks/learn_prior.py benchmarks/tables/*.csv --leave-one-out --objective f1,loss

By default the prior is written in absolute coordinates (version 2: log10 learning rate from
1e-4, log2 batch size from 16, epochs from 2): each table is reduced to its configurations' mean
metrics and the tables are fitted together, one quadratic per metric with an intercept per table
(`advisor.steering.fit_absolute_prior`), over the configurations that trained (most of their
runs did not predict one class): those are what the sampler's surfaces describe once it models
collapsed runs apart, and a plateau of collapsed runs bends a quadratic through them
(`--all-runs`: every configuration, as before round p). `--coordinates box` writes the older
version 1 prior instead: each table's levels scaled to [-1, 1] as `advisor bench` presents them
to the sampler, and the whole-table surfaces averaged over the tables
(`advisor.steering.fit_surface_prior`).

`--leave-one-out` measures instead what such a prior is worth on a table it has not seen: the
surface sampler searches each table with a prior learned from the other tables (20 repeats,
seeded as `advisor bench --seed 0`); each table's ratios are printed, then the pooled means and
the worst table at each budget.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from advisor.bench import (
    BenchTable,
    _quiet,
    prepare_table,
    repeat_streams,
    run_once,
    surface_sampler,
)
from advisor.steering import (
    SurfacePrior,
    TableSpace,
    fit_absolute_prior,
    fit_surface_prior,
    parse_objectives,
)
from advisor.steering._space import Space
from advisor.table import PARAMS, read_table

OBJECTIVES = "accuracy,f1,loss"
BUDGETS = (3, 5, 10, 15, 20)


def table_grid(path: str, objectives: list) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """`(x, means, names)` of one table: its configurations as the benchmark's surface sampler
    sees them (level indices scaled to [-1, 1]), their mean metrics, and the parameter names."""
    bench = prepare_table(read_table(path), objectives)
    table = TableSpace(bench.configs)
    levels = Space(table.distributions, log_params=())
    x = levels.to_unit(levels.raw_matrix(table.candidates()))
    return x, bench.means, [name.removesuffix("_level") for name in levels.names]


def table_values(
    path: str, objectives: list, trained_only: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """`(configs, means)` of one table: raw learning rate, batch size and epochs of each
    configuration, and its mean metrics; `trained_only`: only the configurations most of whose
    runs did not collapse (predict one class)."""
    bench = prepare_table(read_table(path), objectives)
    if not trained_only:
        return bench.configs, bench.means
    trained = ~mostly_collapsed(bench)
    return bench.configs[trained], bench.means[trained]


def mostly_collapsed(bench: BenchTable) -> np.ndarray:
    """Mask of the table's configurations most of whose runs collapsed (predicted one class)."""
    return np.array([np.mean(c) >= 0.5 for c in bench.collapsed], dtype=bool)


def learn(
    paths: list[str],
    objectives: list,
    coordinates: str,
    source: str = "",
    trained_only: bool = True,
) -> SurfacePrior:
    """The prior learned from the tables at `paths` (`coordinates`: "absolute" or "box";
    `trained_only`: an absolute prior from the configurations that trained, the runs the
    sampler's surfaces are fitted on once it models collapsed runs apart)."""
    directions = [(o.name, o.direction) for o in objectives]
    if coordinates == "absolute":
        pairs = [table_values(p, objectives, trained_only) for p in paths]
        return fit_absolute_prior(pairs, list(PARAMS), directions, source=source)
    grids = [table_grid(p, objectives) for p in paths]
    names = {tuple(grid[2]) for grid in grids}
    if len(names) != 1:
        raise SystemExit(f"the tables vary different parameters: {sorted(names)}")
    pairs = [(x, means) for x, means, _ in grids]
    return fit_surface_prior(pairs, list(names.pop()), directions, source=source)


def leave_one_out(
    paths: list[str],
    objective: str,
    budget: int,
    repeats: int,
    coordinates: str,
    trained_only: bool = True,
) -> None:
    """The surface sampler on each table, its prior learned from the other tables."""
    import optuna
    from synthetic_table import summarise

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objectives = parse_objectives(objective)
    learned = parse_objectives(OBJECTIVES)
    runs: dict[str, np.ndarray] = {}
    marks = [b for b in BUDGETS if b <= budget]
    with _quiet():
        for path in paths:
            start = time.time()
            others = [p for p in paths if p != path]
            prior = learn(others, learned, coordinates, trained_only=trained_only)
            bench = prepare_table(read_table(path), objectives)
            prior = TableSpace(bench.configs).level_prior(prior)
            table_runs = []
            for r in range(repeats):
                seed, draws = repeat_streams(0, r, len(bench.configs), budget)
                sampler = surface_sampler(bench, seed, prior=prior)
                table_runs.append(run_once(bench, objectives, sampler, budget, draws))
            runs[Path(path).stem] = np.vstack(table_runs)
            shown = " ".join(f"hv@{b} {runs[Path(path).stem][:, b - 1].mean():.3f}" for b in marks)
            print(
                f"{Path(path).stem} {objective}: {shown} ({time.time() - start:.0f} s)", flush=True
            )
    pooled = {"leave-one-table-out prior": np.vstack(list(runs.values()))}
    for row in summarise(pooled, tuple(marks)):
        print(json.dumps(row))
    for b in marks:
        means = {name: float(r[:, b - 1].mean()) for name, r in runs.items()}
        worst = min(means, key=means.__getitem__)
        print(json.dumps({"budget": b, "worst_table": worst, "worst_hv_ratio": means[worst]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="+", help="benchmark-table CSVs")
    parser.add_argument("--objective", default=OBJECTIVES)
    parser.add_argument("--out", help="where to write the prior (JSON)")
    parser.add_argument("--coordinates", choices=("absolute", "box"), default="absolute")
    parser.add_argument("--leave-one-out", action="store_true", help="evaluate, do not write")
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--all-runs",
        action="store_true",
        help="learn an absolute prior from every configuration, collapsed ones included "
        "(before round p)",
    )
    args = parser.parse_args()
    trained_only = not args.all_runs
    if args.leave_one_out:
        leave_one_out(
            args.tables, args.objective, args.budget, args.repeats, args.coordinates, trained_only
        )
        return
    if not args.out:
        parser.error("--out is required unless --leave-one-out")
    tables = ", ".join(Path(p).stem for p in args.tables)
    how = (
        "one quadratic in absolute coordinates through"
        if args.coordinates == "absolute"
        else ("whole-grid surfaces of")
    )
    runs = (
        ""
        if args.all_runs or args.coordinates != "absolute"
        else ", on the configurations that trained"
    )
    source = f"{how} {len(args.tables)} benchmark tables ({tables}){runs}"
    objectives = parse_objectives(args.objective)
    prior = learn(args.tables, objectives, args.coordinates, source, trained_only)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(prior.to_dict(), indent=2) + "\n")
    print(f"wrote {args.out}: {len(args.tables)} tables")


if __name__ == "__main__":
    main()
