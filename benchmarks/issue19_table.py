"""Issue 19's table (surface against random and GP, worst table first) from `advisor bench --json`.

Each argument is `NAME=SURFACE.json[,BASELINES.json]`: the surface sampler's run and, when it
did not run random and GP itself, a run of the same seeds that did (checkpoints do not depend
on `--budget`, so the same `--seed` gives the same random and GP curves).

    R=benchmarks/results
    python benchmarks/issue19_table.py \
        "450-wide f1,loss=$R/round-m/i19-450-wide-f1-loss.json,$R/round-l/rg-450-wide-f1-loss.json"
"""

from __future__ import annotations

import json
import sys


def curves(paths: list[str]) -> dict[str, dict[int, float]]:
    """sampler -> budget -> mean hypervolume ratio, the first file naming a sampler winning."""
    out: dict[str, dict[int, float]] = {}
    for path in paths:
        with open(path) as handle:
            rows = json.load(handle)["results"]
        found: dict[str, dict[int, float]] = {}
        for row in rows:
            found.setdefault(row["sampler"], {})[row["budget"]] = row["hv_ratio_mean"]
        for name, curve in found.items():
            out.setdefault(name, curve)
    return out


def row(name: str, paths: list[str]) -> tuple[float, str]:
    c = curves(paths)
    surface, random, gp = c["surface"], c["random"], c["gp"]
    gaps = {b: surface[b] - random[b] for b in range(3, 16)}
    worst = min(gaps, key=lambda b: gaps[b])

    def at(curve: dict[int, float]) -> str:
        return " / ".join(f"{curve[b]:.3f}" for b in (5, 10, 15))

    table, objectives = name.rsplit(" ", 1)
    text = (
        f"| {table} | {objectives} | {gaps[worst]:+.3f} (at {worst}) | {at(surface)} | "
        f"{at(random)} | {gp[15]:.3f} | {surface[15] - gp[15]:+.3f} |"
    )
    return gaps[worst], text


def main() -> None:
    rows = []
    for argument in sys.argv[1:]:
        name, files = argument.split("=", 1)
        rows.append(row(name, files.split(",")))
    print(
        "| table | objectives | surface - random, worst budget 3..15 | surface at 5 / 10 / 15 "
        "| random at 5 / 10 / 15 | GP at 15 | surface - GP at 15 |"
    )
    print("|---|---|---|---|---|---|---|")
    for _, text in sorted(rows):
        print(text)


if __name__ == "__main__":
    main()
