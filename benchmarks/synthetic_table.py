"""Synthetic benchmark tables that mimic real fine-tune grids (see /work/shared/NOTES.md), and
sampler suites over many tables (synthetic seeds or real benchmark-table CSVs).

Each table is a 5 learning rates x 3 batch sizes x 3 epochs grid with replicate seeds. The
response is driven by the number and size of optimizer steps: a latent "training amount"
`log10(lr) + log10(steps) + b * log10(batch)` passes a sigmoid (under-trained configurations sit on
a plateau where the classifier predicts the majority class: F1 ~ 0, loss ~ the label entropy),
and past a second threshold over-training raises the loss faster than it lowers accuracy and F1,
so F1 and loss can trade off. Every shape parameter is drawn from the seed, so tables differ.

    python benchmarks/synthetic_table.py table --seed 3 --out table.csv
    python benchmarks/synthetic_table.py suite --tables 100-109 --objective f1,loss --repeats 20
    python benchmarks/synthetic_table.py suite --tables flip:100-109 --samplers surface,random

    python benchmarks/synthetic_table.py variants --tables 0-9 '{}' '{"focus": null}'
    python benchmarks/synthetic_table.py suite --tables benchmarks/tables/a.csv,b.csv

`suite` runs `advisor.bench.run_benchmark` on each table and pools the runs of all tables;
`variants` runs the surface sampler with other arguments (JSON; `bowl`, `hierarchy`, `degree`,
`alpha_prior`, `lambda_prior`, `residual`, `lengthscale` change its `BayesianQuadratic`;
`{"prior": null}` drops the learned prior) on the same seeds and draws, built as `advisor bench`
builds it.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from advisor.table import TrialsTable

LEARNING_RATES = (1e-5, 2e-5, 3e-5, 5e-5, 1e-4)
BATCH_SIZES = (8, 16, 32)
EPOCHS = (1, 2, 3)


def make_table(
    seed: int, replicates: int = 2, noise: float = 0.01, flip_learning_rate: bool = False
) -> pd.DataFrame:
    """One synthetic table in the benchmark-table format (no baseline row).

    `flip_learning_rate` mirrors the learning rates (the response at the k-th smallest goes to
    the k-th largest): a table whose optimum sits at the bottom of the learning-rate range,
    where the shipped prior expects the top, to check that the sampler leaves a wrong prior.
    """
    rng = np.random.default_rng(seed)
    n_train = int(rng.integers(600, 2400))
    positive = rng.uniform(0.3, 0.5)
    grid = np.array(list(itertools.product(LEARNING_RATES, BATCH_SIZES, EPOCHS)), dtype=float)
    lr, batch, epochs = grid.T
    steps = epochs * np.ceil(n_train / batch)
    amount = np.log10(lr) + np.log10(steps) + rng.uniform(0.0, 0.6) * np.log10(batch)
    width = rng.uniform(0.12, 0.3)
    centre = np.quantile(amount, rng.uniform(0.2, 0.4)) + 1.5 * width
    learned = 1.0 / (1.0 + np.exp(-(amount - centre) / width))
    over_start = np.quantile(amount, rng.uniform(0.5, 0.9))
    over = np.clip(amount - over_start, 0.0, None) / width
    if rng.random() < 0.5:  # high learning rate with small batches diverges
        diverged = lr / np.sqrt(batch) > np.quantile(lr / np.sqrt(batch), 0.93)
        learned = np.where(diverged, 0.0, learned)
    majority = 1.0 - positive
    acc_top, f1_gap = rng.uniform(0.85, 0.93), rng.uniform(0.0, 0.05)
    entropy = -(positive * np.log(positive) + majority * np.log(majority))
    loss_top = rng.uniform(0.22, 0.36)
    accuracy = majority + (acc_top - majority) * learned - 0.01 * over
    f1 = (acc_top - f1_gap) * learned ** rng.uniform(1.0, 1.5) - rng.uniform(0.0, 0.04) * over
    loss = entropy + (loss_top - entropy) * learned + rng.uniform(0.0, 0.08) * over**1.5
    if flip_learning_rate:
        mirror = dict(zip(LEARNING_RATES, LEARNING_RATES[::-1], strict=True))
        lr = np.array([mirror[v] for v in lr])
    rows = []
    for seed_index in range(replicates):
        jitter = rng.normal(0.0, noise, size=(3, len(grid)))
        for i in range(len(grid)):
            rows.append(
                {
                    "learning_rate": lr[i],
                    "batch_size": int(batch[i]),
                    "epochs": int(epochs[i]),
                    "seed": seed_index,
                    "accuracy": float(np.clip(accuracy[i] + jitter[0, i], 0, 1)),
                    "f1": float(np.clip(f1[i] + jitter[1, i], 0, 1)),
                    "loss": float(max(loss[i] + 1.5 * jitter[2, i], 0.01)),
                }
            )
    return pd.DataFrame(rows)


def run_suite(
    tables: list[int | str], objective: str, samplers: list[str], budget: int, repeats: int
) -> dict:
    """Benchmark every sampler on each table (a synthetic seed or a real table's path); returns
    the ratios pooled over tables and each table's own summary."""
    from advisor.bench import run_benchmark
    from advisor.steering import parse_objectives

    pooled: dict[str, list[np.ndarray]] = {name: [] for name in samplers}
    per_table = []
    for seed in tables:
        start = time.time()
        result = run_benchmark(
            _load(seed),
            parse_objectives(objective),
            budget=budget,
            repeats=repeats,
            samplers=samplers,
            seed=0,
        )
        for name in samplers:
            pooled[name].append(result.ratios[name])
        reach = result.trials_to(0.95)
        per_table.append(
            {
                "table": seed,
                "configurations": result.n_configs,
                "pareto_size": result.pareto_size,
                "summary": summarise(result.ratios),
            }
        )
        mark = min(15, budget)
        shown = " ".join(
            f"{n}={result.ratios[n][:, mark - 1].mean():.3f}/{reach[n][0]}" for n in samplers
        )
        print(
            f"table {seed}: front {result.pareto_size}, hv@{mark}/to 0.95: {shown} "
            f"({time.time() - start:.0f} s)",
            flush=True,
        )
    return {"pooled": {n: np.vstack(r) for n, r in pooled.items()}, "tables": per_table}


def run_variants(
    tables: list[int | str], objective: str, variants: list[dict], budget: int, repeats: int
) -> dict[str, np.ndarray]:
    """The surface sampler with each variant's arguments, seeded as `run_benchmark(seed=0)`.

    `tables`: synthetic table seeds, or paths of real tables (benchmark-table CSVs).
    """
    from advisor.bench import _quiet, prepare_table, repeat_streams, run_once, surface_sampler
    from advisor.steering import SurfaceSampler, parse_objectives

    objectives = parse_objectives(objective)
    pooled: dict[str, list[np.ndarray]] = {json.dumps(v): [] for v in variants}
    with _quiet():
        for seed in tables:
            bench = prepare_table(_load(seed), objectives)
            for r in range(repeats):
                run_seed, draws = repeat_streams(0, r, len(bench.configs), budget)
                for variant in variants:
                    kwargs = dict(variant)
                    model = {k: kwargs.pop(k) for k in list(kwargs) if k in _SURROGATE_ARGS}
                    surrogate = copy.deepcopy(SurfaceSampler().surrogate)  # the default model
                    for key, value in model.items():
                        setattr(surrogate, key, value)
                    sampler = surface_sampler(bench, run_seed, surrogate=surrogate, **kwargs)
                    ratios = run_once(bench, objectives, sampler, budget, draws)
                    pooled[json.dumps(variant)].append(ratios)
    return {name: np.vstack(runs) for name, runs in pooled.items()}


_SURROGATE_ARGS = (
    "bowl",
    "hierarchy",
    "degree",
    "alpha_prior",
    "lambda_prior",
    "residual",
    "lengthscale",
)


def summarise(
    pooled: dict[str, np.ndarray], marks: tuple[int, ...] = (5, 10, 15, 20, 30)
) -> list[dict]:
    """Mean ratio at each mark and pooled trials-to-threshold per sampler."""
    rows = []
    for name, ratios in pooled.items():
        row: dict = {"sampler": name, "runs": ratios.shape[0]}
        for b in marks:
            if b <= ratios.shape[1]:
                row[f"hv@{b}"] = round(float(ratios[:, b - 1].mean()), 3)
        for t in (0.9, 0.95, 0.99):
            hit = ratios >= t - 1e-12
            first = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1.0, np.inf)
            median = float(np.median(first))
            row[f"median_to_{t}"] = median if np.isfinite(median) else None
        hit = ratios >= 0.95 - 1e-12
        row["share_0.95_by_15"] = round(
            float(hit[:, : min(15, ratios.shape[1])].any(axis=1).mean()), 3
        )
        rows.append(row)
    return rows


def _seeds(text: str) -> list[int]:
    if "-" in text:
        low, high = (int(part) for part in text.split("-"))
        return list(range(low, high + 1))
    return [int(part) for part in text.split(",")]


def _load(table: int | str) -> TrialsTable:
    """A real table read from its path, or the synthetic table of a seed (a negative seed:
    table `-seed` with its learning rates mirrored, `make_table(flip_learning_rate=True)`)."""
    from advisor.table import read_table, table_from_frame

    if isinstance(table, str):
        return read_table(table)
    return table_from_frame(make_table(abs(table), flip_learning_rate=table < 0))


def _tables(text: str) -> list[int | str]:
    """Synthetic seeds (`0-9`, `1,2,5`; `flip:100-109` mirrors their learning rates) or
    comma-separated paths of real tables (`*.csv`)."""
    if ".csv" in text:
        return list(text.split(","))
    if text.startswith("flip:"):
        return [-seed for seed in _seeds(text.removeprefix("flip:"))]
    return list(_seeds(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    table = commands.add_parser("table", help="write one synthetic table as CSV")
    table.add_argument("--seed", type=int, default=0)
    table.add_argument("--replicates", type=int, default=2)
    table.add_argument("--flip-lr", action="store_true", help="mirror the learning rates")
    table.add_argument("--out", required=True)
    suite = commands.add_parser("suite", help="benchmark samplers on many tables, pooled")
    suite.add_argument(
        "--tables", default="100-109", help="synthetic seeds (100-109, 1,2,5) or a.csv,b.csv"
    )
    suite.add_argument("--objective", default="f1,loss")
    suite.add_argument("--samplers", default="surface,nsga2,tpe,gp,random")
    suite.add_argument("--budget", type=int, default=30)
    suite.add_argument("--repeats", type=int, default=20)
    suite.add_argument("--json", dest="json_path", help="also write the summary here")
    suite.add_argument("--plot", help="PNG of the pooled hypervolume ratio against trials")
    variants = commands.add_parser("variants", help="surface sampler variants on many tables")
    variants.add_argument(
        "--tables", default="0-9", help="synthetic seeds (0-9) or real tables (a.csv,b.csv)"
    )
    variants.add_argument("--objective", default="f1,loss")
    variants.add_argument("--budget", type=int, default=30)
    variants.add_argument("--repeats", type=int, default=20)
    variants.add_argument("variant", nargs="+", help="JSON SurfaceSampler arguments, e.g. {}")
    args = parser.parse_args()
    if args.command == "table":
        make_table(args.seed, args.replicates, flip_learning_rate=args.flip_lr).to_csv(
            args.out, index=False
        )
        return
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.command == "variants":
        pooled = run_variants(
            _tables(args.tables),
            args.objective,
            [json.loads(v) for v in args.variant],
            args.budget,
            args.repeats,
        )
        for row in summarise(pooled):
            print(json.dumps(row))
        return
    out = run_suite(
        _tables(args.tables), args.objective, args.samplers.split(","), args.budget, args.repeats
    )
    rows = summarise(out["pooled"])
    for row in rows:
        print(json.dumps(row))
    if args.plot:
        from advisor.bench import BenchResult, plot_benchmark
        from advisor.steering import parse_objectives

        objectives = parse_objectives(args.objective)
        n_configs = max(t["configurations"] for t in out["tables"])
        pooled = BenchResult(objectives, out["pooled"], n_configs, 0, [], 0)
        title = (
            f"{args.objective}: {len(out['tables'])} tables x {args.repeats} repeats"
            " (mean, band: ±1 sd)"
        )
        plot_benchmark(pooled, args.plot, title)
    if args.json_path:
        with open(args.json_path, "w") as handle:
            json.dump(
                {"args": vars(args), "summary": rows, "tables": out["tables"]}, handle, indent=2
            )


if __name__ == "__main__":
    main()
