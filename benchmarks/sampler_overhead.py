"""Time per suggestion of SurfaceSampler vs Optuna's GP and TPE samplers on the same trials.

A two-objective study (f1 up, loss down, a synthetic response plus noise) is filled with N
finished trials over learning_rate (log float), batch_size (categorical) and epochs (int); each
sampler then proposes a few trials (each is told FAIL so N stays fixed) and the median wall time
of `study.ask(space)` is reported. GP is skipped above --gp-max trials (its cost grows with the
cube of N), and the output says so.

    python benchmarks/sampler_overhead.py                # N = 100, 1000, 10000
    python benchmarks/sampler_overhead.py --sizes 100,1000 --gp-max 1000 --repeats 5
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from advisor.steering import SurfaceSampler

SPACE = {
    "learning_rate": FloatDistribution(1e-5, 1e-4, log=True),
    "batch_size": CategoricalDistribution((8, 16, 32, 64)),
    "epochs": IntDistribution(1, 5),
}


def filled_study(n_trials: int, seed: int = 0) -> optuna.Study:
    """An in-memory study with `n_trials` finished trials of a smooth two-objective response."""
    rng = np.random.default_rng(seed)
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_metric_names(["f1", "loss"])
    lr = 10 ** rng.uniform(-5, -4, n_trials)
    batch = rng.choice([8, 16, 32, 64], n_trials)
    epochs = rng.integers(1, 6, n_trials)
    amount = np.log10(lr) + np.log10(epochs) - 0.5 * np.log2(batch) / 3
    f1 = 0.9 / (1 + np.exp(-(amount + 4.5) * 4)) + rng.normal(0, 0.01, n_trials)
    loss = 0.69 - 0.4 / (1 + np.exp(-(amount + 4.5) * 4)) + 0.05 * (epochs - 3) ** 2 / 4
    study.add_trials(
        [
            create_trial(
                params={"learning_rate": float(a), "batch_size": int(b), "epochs": int(c)},
                distributions=SPACE,
                values=[float(f), float(lo + rng.normal(0, 0.01))],
            )
            for a, b, c, f, lo in zip(lr, batch, epochs, f1, loss, strict=True)
        ]
    )
    return study


def make_sampler(name: str) -> optuna.samplers.BaseSampler:
    if name == "surface":
        return SurfaceSampler(seed=0)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=0)
    return optuna.samplers.TPESampler(seed=0)


def time_per_suggestion(
    study: optuna.Study, sampler: optuna.samplers.BaseSampler, repeats: int
) -> float:
    """Median seconds of `study.ask(SPACE)` over `repeats` proposals."""
    study.sampler = sampler
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        trial = study.ask(SPACE)
        times.append(time.perf_counter() - start)
        study.tell(trial, state=TrialState.FAIL)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--samplers", default="surface,tpe,gp")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gp-max", type=int, default=1000, help="skip GP above this many trials")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    sizes = [int(s) for s in args.sizes.split(",")]
    names = args.samplers.split(",")
    print(f"{'trials':>8}  " + "  ".join(f"{n + ' s/suggestion':>22}" for n in names))
    for size in sizes:
        study = filled_study(size)
        cells = []
        for name in names:
            if name == "gp" and size > args.gp_max:
                cells.append(f"{'skipped (> --gp-max)':>22}")
                continue
            seconds = time_per_suggestion(study, make_sampler(name), args.repeats)
            cells.append(f"{seconds:>22.4f}")
        print(f"{size:>8}  " + "  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
