"""Does the learned prior gain from other coordinates? (research tool, issue 19)

The shipped prior is one quadratic in log10 learning rate, log2 batch size and epochs, pooled
over benchmark tables (`benchmarks/learn_prior.py`). This script fits the same pooled quadratic
in other coordinates, some of which know the number of optimizer steps (the train size comes from
each table's spec, `[data] train_size` in the .toml beside the .csv), and measures each on tables
it was not learnt from (leave one table out, `advisor bench --seed 0` seeds):

- `shipped`: log10(lr / 1e-4), log2(batch / 16), epochs - 2 (the shipped coordinates);
- `steps-per-epoch`: log10 lr, log2 of optimizer steps per epoch (train size / batch), epochs;
- `log-steps`: log10 lr, log2 steps per epoch, log2 epochs;
- `lr-x-steps`: log10 of learning rate x total steps, log10 lr, log2 epochs.

A coordinate that is not affine in the box's (log epochs under linear epoch levels) cannot be
re-expressed exactly, so every prior is projected onto each table's box quadratic by least
squares over the table's configurations (exact for affine coordinates: `shipped` reproduces
`learn_prior.py --leave-one-out`). `--self` learns each table's prior from that table alone: an
oracle that shows what a quadratic prior could do at best. `--trained` learns from the
configurations that trained only (most of their runs did not collapse).

    python benchmarks/prior_coordinates.py log-steps f1,loss benchmarks/tables/A.csv ... \
        [--repeats 20] [--budget 15] [--self] [--trained]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import tomllib
from learn_prior import table_grid, table_values

from advisor.bench import _quiet, prepare_table, repeat_streams, run_once, surface_sampler
from advisor.steering import (
    Coordinate,
    SurfacePrior,
    TableSpace,
    fit_absolute_prior,
    parse_objectives,
)
from advisor.steering._surrogate import quadratic_features, term_names
from advisor.table import read_table

LEARNED = parse_objectives("accuracy,f1,loss")
BUDGETS = (3, 4, 5, 6, 8, 10, 12, 15)


def train_size(path: str) -> float:
    """The table's train size, from the grid spec beside it."""
    spec = tomllib.loads(Path(path).with_suffix(".toml").read_text())
    return float(spec["data"]["train_size"])


def coordinates(configs: np.ndarray, n: float, mode: str) -> np.ndarray:
    """`(n_configs, 3)` coordinates of (learning rate, batch size, epochs) rows."""
    lr, batch, epochs = configs[:, 0], configs[:, 1], configs[:, 2]
    steps_per_epoch = np.log2(n / batch / 50.0)
    if mode == "shipped":
        return np.column_stack([np.log10(lr / 1e-4), np.log2(batch / 16.0), epochs - 2.0])
    if mode == "steps-per-epoch":
        return np.column_stack([np.log10(lr / 1e-4), steps_per_epoch, epochs - 2.0])
    if mode == "log-steps":
        return np.column_stack([np.log10(lr / 1e-4), steps_per_epoch, np.log2(epochs / 2.0)])
    if mode == "lr-x-steps":
        budget = np.log10(lr * epochs * n / batch / 0.006)
        return np.column_stack([budget, np.log10(lr / 1e-4), np.log2(epochs / 2.0)])
    raise SystemExit(f"unknown coordinates {mode!r}")


def fit(paths: list[str], mode: str, trained_only: bool = False) -> np.ndarray:
    """`(n_metrics, n_terms)` pooled quadratic in `mode`'s coordinates: `fit_absolute_prior`
    on each table's coordinate columns (taken as linear coordinates from 0); `trained_only`:
    on the configurations most of whose runs did not collapse (what the sampler's trained
    surfaces are fitted on once it models collapse apart)."""
    grids = []
    for path in paths:
        configs, means = table_values(path, LEARNED, trained_only)
        grids.append((coordinates(configs, train_size(path), mode), means))
    names = ["u0", "u1", "u2"]
    linear = {name: Coordinate("linear", 0.0) for name in names}
    directions = [(o.name, o.direction) for o in LEARNED]
    prior = fit_absolute_prior(grids, names, directions, coordinates=linear)
    terms = term_names(names)
    return np.array([[prior.coefficients[o.name][t] for t in terms] for o in LEARNED])


def box_prior(coef: np.ndarray, path: str, mode: str) -> SurfacePrior:
    """The pooled quadratic projected (least squares) onto the table's box quadratic, as a box
    prior on the benchmark's level-coded parameters."""
    configs, _ = table_values(path, LEARNED)
    u_phi, _ = quadratic_features(coordinates(configs, train_size(path), mode))
    surface = u_phi @ coef.T
    x, _, names = table_grid(path, LEARNED)  # the configurations as the sampler sees them
    phi, _ = quadratic_features(x)
    design = np.column_stack([np.ones(len(phi)), phi])
    solution = np.linalg.lstsq(design, surface, rcond=None)[0][1:]
    terms = term_names(names)
    coefficients = {
        o.name: {t: float(solution[i, k]) for i, t in enumerate(terms)}
        for k, o in enumerate(LEARNED)
    }
    prior = SurfacePrior(coefficients, {o.name: o.direction for o in LEARNED})
    return TableSpace(configs).level_prior(prior)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("shipped", "steps-per-epoch", "log-steps", "lr-x-steps"))
    parser.add_argument("objective")
    parser.add_argument("tables", nargs="+")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--budget", type=int, default=15)
    parser.add_argument("--self", action="store_true", help="each table's own prior (oracle)")
    parser.add_argument(
        "--trained", action="store_true", help="learn from the configurations that trained"
    )
    args = parser.parse_args()
    objectives = parse_objectives(args.objective)
    marks = [b for b in BUDGETS if b <= args.budget]
    pooled = []
    with _quiet():
        for path in args.tables:
            start = time.time()
            learnt_from = [path] if args.self else [p for p in args.tables if p != path]
            prior = box_prior(fit(learnt_from, args.mode, args.trained), path, args.mode)
            bench = prepare_table(read_table(path), objectives)
            runs = []
            for r in range(args.repeats):
                seed, draws = repeat_streams(0, r, len(bench.configs), args.budget)
                sampler = surface_sampler(bench, seed, prior=prior)
                runs.append(run_once(bench, objectives, sampler, args.budget, draws))
            table_runs = np.vstack(runs)
            pooled.append(table_runs)
            shown = " ".join(f"{b}:{table_runs[:, b - 1].mean():.3f}" for b in marks)
            print(f"{Path(path).stem} {shown} ({time.time() - start:.0f} s)", flush=True)
    everything = np.vstack(pooled)
    print("POOLED " + " ".join(f"{b}:{everything[:, b - 1].mean():.3f}" for b in marks))


if __name__ == "__main__":
    main()
