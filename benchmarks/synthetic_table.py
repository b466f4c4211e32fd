"""Synthetic benchmark tables that mimic real fine-tune grids (see /work/shared/NOTES.md).

Each table is a 5 learning rates x 3 batch sizes x 3 epochs grid with replicate seeds. The
response is driven by the number and size of optimizer steps: a latent "training amount"
`log10(lr) + log10(steps) + b * log10(batch)` passes a sigmoid (under-trained configurations sit on
a plateau where the classifier predicts the majority class: F1 ~ 0, loss ~ the label entropy),
and past a second threshold over-training raises the loss faster than it lowers accuracy and F1,
so F1 and loss can trade off. Every shape parameter is drawn from the seed, so tables differ.

    python benchmarks/synthetic_table.py --seed 3 --out table.csv
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import pandas as pd

LEARNING_RATES = (1e-5, 2e-5, 3e-5, 5e-5, 1e-4)
BATCH_SIZES = (8, 16, 32)
EPOCHS = (1, 2, 3)


def make_table(seed: int, replicates: int = 2, noise: float = 0.01) -> pd.DataFrame:
    """One synthetic table in the benchmark-table format (no baseline row)."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--replicates", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    make_table(args.seed, args.replicates).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
