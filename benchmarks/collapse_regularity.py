"""Where fine-tunes collapse, by learning rate x optimizer steps (research tool, issue 19).

For every committed table with a spec (its train size, `[data] train_size`), each
configuration's learning rate x total optimizer steps (train size x epochs / batch size) and
whether most of its runs collapsed (predicted one class), pooled over the tables in bins, split
at learning rate 4e-4. A collapse model that knows the step count could keep a search's first
trials off the configurations that will not train.

    python benchmarks/collapse_regularity.py benchmarks/tables/*.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import tomllib
from learn_prior import mostly_collapsed

from advisor.bench import prepare_table
from advisor.steering import parse_objectives
from advisor.table import read_table

EDGES = (0.0, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 3e-2, 1e-1, np.inf)
HIGH_LR = 4e-4


def main() -> None:
    products, collapsed, rates, tables = [], [], [], 0
    for path in sys.argv[1:]:
        spec_path = Path(path).with_suffix(".toml")
        if not spec_path.exists():
            continue
        size = tomllib.loads(spec_path.read_text())["data"].get("train_size")
        if size is None:
            continue
        bench = prepare_table(read_table(path), parse_objectives("f1,loss"))
        lr, batch, epochs = bench.configs.T
        products.extend(lr * size * epochs / batch)
        collapsed.extend(mostly_collapsed(bench))
        rates.extend(lr)
        tables += 1
    z, down, lr = np.array(products), np.array(collapsed), np.array(rates)
    print(f"{tables} tables, {len(z)} configurations, {int(down.sum())} collapsed")
    print("| lr x steps | all: configurations, share collapsed | lr <= 4e-4 | lr > 4e-4 |")
    print("|---|---|---|---|")
    for low, high in zip(EDGES[:-1], EDGES[1:], strict=True):
        inside = (z >= low) & (z < high)
        cells = []
        for mask in (inside, inside & (lr <= HIGH_LR), inside & (lr > HIGH_LR)):
            share = f"{down[mask].mean():.2f}" if mask.any() else "-"
            cells.append(f"{int(mask.sum())}, {share}")
        print(f"| {low:.0e} to {high:.0e} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
