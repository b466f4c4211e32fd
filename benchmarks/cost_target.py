"""Issue 15's target, measured: training seconds to reach 0.95 of the true front's hypervolume.

For each table with curves and each objective set, runs `advisor.bench.run_benchmark` with
`cost="seconds"` twice on the same seeds: the surface sampler with the Pareto pruner beside
Optuna's GP sampler (no pruner: Optuna has none for several objectives), then the surface
sampler without pruning. Writes the JSON of every run and a markdown summary: the median cost
share (of the table's whole training cost) to 0.9 / 0.95 / 0.99, and the two ratios the target
names (surface+prune / GP and surface+prune / surface without pruning, at 0.95).

    python benchmarks/cost_target.py benchmarks/tables/sst2-minilm-300-curves.csv ... \
        --repeats 20 --out benchmarks/results/cost
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from advisor.bench import run_benchmark
from advisor.steering import parse_objectives
from advisor.table import read_table

OBJECTIVE_SETS = ("f1,loss", "accuracy,f1,loss")


def targets(payload: dict[str, Any], sampler: str) -> dict[float, float | None]:
    return {
        float(row["target"]): row["cost_fraction_median"]
        for row in payload["cost_to_target"]
        if row["sampler"] == sampler
    }


def ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def share(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="+")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--budget", type=int, default=0, help="0: the table's configurations")
    parser.add_argument("--samplers", default="surface,gp")
    parser.add_argument("--out", default="benchmarks/results/cost")
    options = parser.parse_args()
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "| table | objectives | sampler | to 0.9 | to 0.95 | to 0.99 | pruned share |",
        "|---|---|---|---|---|---|---|",
    ]
    verdicts = [
        "| table | objectives | prune/GP at 0.95 | prune/no-prune at 0.95 |",
        "|---|---|---|---|",
    ]
    for path in options.tables:
        table = read_table(path)
        name = Path(path).stem
        configs = len(table.rows.groupby(["learning_rate", "batch_size", "epochs"]))
        budget = options.budget or configs
        for objectives in OBJECTIVE_SETS:
            runs = {}
            for prune in (True, False):
                samplers = options.samplers.split(",") if prune else ["surface"]
                started = time.perf_counter()
                result = run_benchmark(
                    table,
                    parse_objectives(objectives),
                    budget=budget,
                    repeats=options.repeats,
                    samplers=samplers,
                    cost="seconds",
                    prune=prune,
                )
                payload = result.to_json()
                payload["seconds"] = round(time.perf_counter() - started, 1)
                label = f"{name}-{objectives.replace(',', '-')}-{'prune' if prune else 'no-prune'}"
                (out / f"{label}.json").write_text(json.dumps(payload, indent=1) + "\n")
                runs[prune] = payload
                print(f"{label}: {payload['seconds']} s", flush=True)
            rows = [("surface+prune", runs[True], "surface")]
            rows += [(s, runs[True], s) for s in options.samplers.split(",") if s != "surface"]
            rows.append(("surface, no prune", runs[False], "surface"))
            for shown, payload, sampler in rows:
                t = targets(payload, sampler)
                pruned = payload.get("pruned_share", {}).get(sampler, 0.0)
                lines.append(
                    f"| {name} | {objectives} | {shown} | {share(t.get(0.9))} | "
                    f"{share(t.get(0.95))} | {share(t.get(0.99))} | {pruned:.2f} |"
                )
            best = targets(runs[True], "surface").get(0.95)
            gp = targets(runs[True], "gp").get(0.95)
            plain = targets(runs[False], "surface").get(0.95)
            verdicts.append(f"| {name} | {objectives} | {ratio(best, gp)} | {ratio(best, plain)} |")
    summary = "\n".join(lines) + "\n\n" + "\n".join(verdicts) + "\n"
    (out / "summary.md").write_text(summary)
    print(summary)


if __name__ == "__main__":
    main()
