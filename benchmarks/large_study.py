"""Time and peak memory of the read commands on a large study (issue 14, item 11).

Builds a grid-like SQLite study of N finished trials (3 x 4 x 3 configurations, many seeds, a
smooth response plus noise; no fine-tunes), then runs each command as its own process under
`/usr/bin/time -v` and records wall seconds and peak resident memory.

    python benchmarks/large_study.py --trials 10000 --db /tmp/large-study.db \
        --out benchmarks/results/large-study-10k.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution

STUDY = "large"
CONFIGS = list(itertools.product([1e-5, 5e-5, 2e-4], [8, 16, 32, 64], [1, 2, 3]))


def build(url: str, trials: int) -> float:
    """The study, written with Optuna's public API (one transaction per trial); seconds taken."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.perf_counter()
    study = optuna.create_study(
        study_name=STUDY, storage=url, directions=["maximize", "maximize", "minimize"]
    )
    study.set_metric_names(["accuracy", "f1", "loss"])
    base = {"accuracy": 0.5, "f1": 0.6, "loss": 0.7}
    study.set_user_attr("advisor:baseline", {"kind": "checkpoint", "metrics": base})
    distributions = {
        "learning_rate": FloatDistribution(1e-5, 2e-4, log=True),
        "batch_size": CategoricalDistribution([8, 16, 32, 64]),
        "epochs": CategoricalDistribution([1, 2, 3]),
        "seed": CategoricalDistribution(list(range(trials // len(CONFIGS) + 1))),
    }
    rng = np.random.default_rng(0)
    batch = []
    for i in range(trials):
        lr, bs, ep = CONFIGS[i % len(CONFIGS)]
        x = np.log10(lr) + 4.3
        accuracy = (
            0.7 + 0.1 * x - 0.08 * x**2 + 0.02 * ep - 0.01 * np.log2(bs) + rng.normal(0, 0.02)
        )
        metrics = {"accuracy": accuracy, "f1": accuracy - 0.03, "loss": 1.1 - accuracy}
        metrics.update({f"{m}_rel": v - base[m] for m, v in list(metrics.items())})
        batch.append(
            optuna.trial.create_trial(
                params={
                    "learning_rate": lr,
                    "batch_size": bs,
                    "epochs": ep,
                    "seed": i // len(CONFIGS),
                },
                distributions=distributions,
                values=[metrics["accuracy"], metrics["f1"], metrics["loss"]],
                user_attrs={**metrics, "seed": i // len(CONFIGS)},
            )
        )
    study.add_trials(batch)
    return time.perf_counter() - started


def measure(args: list[str], url: str) -> dict[str, object]:
    """Wall seconds and peak RSS (MiB) of `advisor ARGS --storage URL` in a fresh process."""
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "advisor", *args, "--storage", url]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ})
    wall = time.perf_counter() - started
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return {
        "command": "advisor " + " ".join(args),
        "exit_code": done.returncode,
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(int(peak.group(1)) / 1024) if peak else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--db", default="/tmp/large-study.db")
    parser.add_argument("--out", default=None, help="JSON file for the results")
    parser.add_argument("--reuse", action="store_true", help="keep an existing database")
    options = parser.parse_args()
    url = f"sqlite:///{options.db}"
    build_s = None
    if not (options.reuse and Path(options.db).exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(options.db + suffix).unlink(missing_ok=True)
        build_s = round(build(url, options.trials), 1)
        print(f"built {options.trials} trials in {build_s} s", flush=True)
    commands = [
        ["fit-surface", "--study", STUDY, "--no-store", "--json"],
        ["fit-surface", "--study", STUDY, "--json"],
        ["suggest", "--study", STUDY, "--objective", "f1,loss", "--json"],
        ["export", "--study", STUDY, "--out", "/tmp/large-study.csv"],
        ["report", "--study", STUDY, "--out", "/tmp/large-study-report"],
        ["suggest", "--study", STUDY, "--objective", "f1,loss", "--enqueue", "--json"],
        ["suggest", "--study", STUDY, "--objective", "f1,loss", "--enqueue", "--json"],
    ]
    results = []
    for args in commands:
        row = measure(args, url)
        results.append(row)
        print(json.dumps(row), flush=True)
    if options.out:
        payload = {"trials": options.trials, "build_s": build_s, "results": results}
        Path(options.out).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
