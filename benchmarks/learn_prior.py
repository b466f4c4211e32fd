"""Learn a `SurfacePrior` from benchmark tables (the shipped one: advisor/steering/priors/).

    python benchmarks/learn_prior.py benchmarks/tables/a.csv benchmarks/tables/b.csv \
        --out advisor/steering/priors/finetune.json

Each table is reduced to its configurations' mean metrics, its parameters' levels are scaled to
[-1, 1] as `advisor bench` presents them to the sampler (for grids evenly spaced on the
modelling scale, the same coordinates `advisor tune` uses), and the whole-table surfaces of
accuracy, F1 and loss are averaged over the tables (`advisor.steering.fit_surface_prior`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from advisor.bench import prepare_table
from advisor.steering import TableSpace, fit_surface_prior, parse_objectives
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="+", help="benchmark-table CSVs")
    parser.add_argument("--objective", default=OBJECTIVES)
    parser.add_argument("--out", required=True, help="where to write the prior (JSON)")
    args = parser.parse_args()
    objectives = parse_objectives(args.objective)
    grids, names = [], None
    for path in args.tables:
        x, means, table_names = table_grid(path, objectives)
        if names is not None and table_names != names:
            raise SystemExit(f"{path} varies {table_names}, the others {names}")
        names = table_names
        grids.append((x, means))
    assert names is not None
    tables = ", ".join(Path(p).stem for p in args.tables)
    prior = fit_surface_prior(
        grids,
        names,
        [(o.name, o.direction) for o in objectives],
        source=f"whole-grid surfaces of {len(grids)} benchmark tables ({tables})",
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(prior.to_dict(), indent=2) + "\n")
    print(f"wrote {args.out}: {len(grids)} tables, parameters {', '.join(names)}")


if __name__ == "__main__":
    main()
