"""Surface-sampler variants against random search, trial by trial (research tool, issue 19).

Each variant is a JSON object of `SurfaceSampler` arguments (`{}`: the shipped defaults). Every
variant and random search run the same seeds as `advisor bench --seed 0` (the pruner on where
the table has curves, as `advisor bench` runs them), and the script prints the mean
hypervolume ratio at 3, 4, 5, 6, 8, 10, 12 and 15 trials, and the worst gap to random over
those budgets.

    python benchmarks/sampler_variants.py T1.csv,T2.csv f1,loss 50 '{}' '{"prior": null}'

A key starting with "@" sets a constant of `advisor.steering._sampler` for that variant
instead (e.g. '{"@MIN_TRAINED": 3}': trained runs before collapsed ones are modelled apart), and
"surrogate" takes the arguments of a `BayesianQuadratic` (e.g. '{"surrogate": {"residual": 64,
"bowl": 0.5, "lengthscale": 0.5}}').
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

import numpy as np

import advisor.bench as bench_module
import advisor.steering._sampler as sampler_module
from advisor.bench import _quiet, run_benchmark
from advisor.steering import BayesianQuadratic, parse_objectives
from advisor.table import read_table

BUDGETS = (3, 4, 5, 6, 8, 10, 12, 15)
SHIPPED_SURFACE_SAMPLER = bench_module.surface_sampler
SHIPPED_CONSTANTS = {name: getattr(sampler_module, name) for name in ("MIN_TRAINED", "_CHECK")}


def ratios(path: str, objectives: str, repeats: int, sampler: str) -> np.ndarray:
    """Mean hypervolume ratio at each of BUDGETS."""
    result = run_benchmark(
        read_table(path),
        parse_objectives(objectives),
        budget=max(BUDGETS),
        repeats=repeats,
        samplers=(sampler,),
    )
    means = result.ratios[sampler].mean(axis=0)
    return np.array([means[b - 1] for b in BUDGETS])


def with_options(options: dict[str, Any]) -> None:
    """Make `advisor.bench` build its surface sampler with `options` changed ("@NAME" keys:
    the sampler module's constants)."""
    for name, value in SHIPPED_CONSTANTS.items():
        setattr(sampler_module, name, value)
    for key, value in options.items():
        if key.startswith("@"):
            if key[1:] not in SHIPPED_CONSTANTS:
                raise SystemExit(
                    f"unknown constant {key[1:]!r}; choose: {', '.join(SHIPPED_CONSTANTS)}"
                )
            setattr(sampler_module, key[1:], tuple(value) if isinstance(value, list) else value)
    settings = {k: v for k, v in options.items() if not k.startswith("@")}
    if isinstance(settings.get("surrogate"), dict):
        settings["surrogate"] = BayesianQuadratic(**settings["surrogate"])
    bench_module.surface_sampler = functools.partial(SHIPPED_SURFACE_SAMPLER, **settings)


def main() -> None:
    tables, objectives, repeats = sys.argv[1].split(","), sys.argv[2], int(sys.argv[3])
    variants = [json.loads(v) for v in sys.argv[4:]]
    shown = " ".join(f"{b:>5}" for b in BUDGETS)
    for path in tables:
        name = path.rsplit("/", 1)[-1].removesuffix(".csv")
        random = ratios(path, objectives, repeats, "random")
        print(f"{name} {objectives} ({repeats} repeats)    {shown}", flush=True)
        print(f"  {'random':<40} " + " ".join(f"{v:.3f}" for v in random), flush=True)
        for variant in variants:
            with_options(variant)
            surface = ratios(path, objectives, repeats, "surface")
            gap = surface - random
            print(
                f"  {json.dumps(variant)[:40]:<40} "
                + " ".join(f"{v:.3f}" for v in surface)
                + f"  worst gap {gap.min():+.3f} at {BUDGETS[int(gap.argmin())]}",
                flush=True,
            )


if __name__ == "__main__":
    with _quiet():
        main()
