"""How much of a single-seed table's front is seed luck (research tool, issue 19).

For a table with two or more training seeds of the same configurations, each seed's runs are
scored as `advisor bench` scores a single-seed table (hypervolume over that seed's median,
`HypervolumeScale`), and the configurations are chosen by *another* seed's values: its Pareto
front, and its best k for several k (greedy hypervolume on the choosing seed's values, then
non-dominated rank). That is what a sampler with a perfect model of an independent run of every
configuration could pick: an optimistic yardstick for any sampler that must learn the table from
k noisy runs. Also printed: the seed-to-seed SD of each objective (configurations that trained
under both seeds) and each seed's best-to-median span in those SDs.

    python benchmarks/seed_ceiling.py benchmarks/tables/sst2-minilm-1k.csv f1,loss
"""

from __future__ import annotations

import itertools
import sys

import numpy as np

from advisor.steering import non_dominated_mask, parse_objectives
from advisor.steering._pareto import hypervolume_improvements
from advisor.steering._scale import HypervolumeScale
from advisor.table import PARAMS, read_table

BUDGETS = (3, 5, 7, 10, 15)


def seed_values(path: str, names: list[str]) -> dict[int, np.ndarray]:
    """Per seed, the objectives of the configurations every grid seed ran, in one order."""
    rows = read_table(path).rows
    if "role" in rows.columns:
        rows = rows[rows["role"].fillna("") != "baseline"]
    keys = list(PARAMS)
    counts = rows.groupby(keys)["seed"].nunique()
    shared = counts[counts == counts.max()].index
    if counts.max() < 2:
        raise SystemExit(f"{path}: no configuration has two seeds")
    rows = rows.set_index(keys).loc[shared].reset_index()
    out = {}
    for seed, group in rows.groupby("seed"):
        out[int(seed)] = group.sort_values(keys)[names].to_numpy(float)
    return out


def best_order(values: np.ndarray, scale: HypervolumeScale) -> np.ndarray:
    """Configurations in the order a clairvoyant of `values` would run them."""
    z = np.minimum(scale.transform(values), 1.0)
    ref = np.ones(z.shape[1])
    rank = np.zeros(len(z), dtype=int)
    left, k = np.arange(len(z)), 0
    while len(left):
        m = non_dominated_mask(z[left])
        rank[left[m]] = k
        left, k = left[~m], k + 1
    chosen: list[int] = []
    rest = list(np.lexsort((z.sum(axis=1), rank)))
    while rest:
        gains = hypervolume_improvements(z[rest], z[chosen], ref)
        pick = int(np.argmax(gains)) if gains.max() > 0 else 0
        chosen.append(rest.pop(pick))
    return np.array(chosen)


def main() -> None:
    path, objectives = sys.argv[1], parse_objectives(sys.argv[2])
    names = [o.name for o in objectives]
    directions = [o.direction for o in objectives]
    by_seed = seed_values(path, names)
    seeds = sorted(by_seed)
    n = len(by_seed[seeds[0]])
    stack = np.stack([by_seed[s] for s in seeds])
    f1_col = names.index("f1") if "f1" in names else None
    trained = np.ones(n, dtype=bool) if f1_col is None else (stack[:, :, f1_col] > 0.7).all(0)
    sd = None
    if trained.sum() > 1:  # pooled over configurations
        sd = np.sqrt(stack[:, trained].var(axis=0, ddof=1).mean(axis=0))
    print(f"{path}: seeds {seeds}, {n} configurations each, {trained.sum()} trained under all")
    if sd is not None:
        for j, name in enumerate(names):
            spans = []
            for s in seeds:
                v = by_seed[s][:, j]
                best = v.min() if directions[j] == "minimize" else v.max()
                spans.append(abs(best - np.median(v)) / sd[j])
            print(
                f"  {name}: seed-to-seed SD {sd[j]:.4f}; best - median "
                + " / ".join(f"{x:.1f}" for x in spans)
                + " SDs"
            )
    rows = []
    for pick, score in itertools.permutations(seeds, 2):
        pick_scale = HypervolumeScale.from_means(by_seed[pick], directions)
        score_scale = HypervolumeScale.from_means(by_seed[score], directions)
        truth = score_scale.hypervolume(by_seed[score])
        front = np.flatnonzero(non_dominated_mask(pick_scale.transform(by_seed[pick])))
        order = best_order(by_seed[pick], pick_scale)
        ratios = [score_scale.hypervolume(by_seed[score][front]) / truth]
        ratios += [score_scale.hypervolume(by_seed[score][order[:k]]) / truth for k in BUDGETS]
        rows.append(ratios)
        print(
            f"  chosen by seed {pick} ({len(front)} on its front), scored on seed {score}: front "
            f"{ratios[0]:.3f}; best "
            + ", ".join(f"{k}: {r:.3f}" for k, r in zip(BUDGETS, ratios[1:], strict=True))
        )
    mean = np.mean(rows, axis=0)
    print(
        f"  mean over {len(rows)} pairs ({sys.argv[2]}): front {mean[0]:.3f}; best "
        + ", ".join(f"{k}: {r:.3f}" for k, r in zip(BUDGETS, mean[1:], strict=True))
    )


if __name__ == "__main__":
    main()
