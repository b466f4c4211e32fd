"""Table-driven sample-efficiency benchmark of samplers (PRODUCT.md, "Benchmark tables").

Every sampler searches over exactly the table's configurations, through the same Optuna search
space (`TableSpace`): each parameter's distinct values as an integer level (0 = smallest), so
what a sampler proposes is a configuration that was measured, with no rounding in between, and
Optuna's samplers keep the order of the values. The surface sampler is also given the table's
configurations as its candidate set (in the same level coordinates). A proposal is answered by
one replicate of the configuration, drawn from the repeat's seed so that every sampler sees the
same noise on its k-th visit to a configuration; repeat r seeds every sampler with the same seed.
Scores follow PRODUCT.md: the hypervolume of the configurations found so far, scored by their
mean metrics, over the hypervolume of the table's true Pareto set. With `cost="seconds"` the
same searches are also scored against the share of the table's training cost they spent
(`advisor.bench_cost`), and the table's curves let pruners stop runs early
(`advisor.bench_search`): the surface sampler with `ParetoPruner`, Optuna's samplers with
Optuna's own pruner where Optuna supports one (a single objective). With `batch` N > 1 the
searches propose N configurations per round before any is answered (`advisor tune --workers
N`) and are also scored against rounds (`advisor.bench_rounds`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd

from advisor.bench_cost import (
    EPOCHS_UNIT,
    Curve,
    cost_rows,
    cost_to_target_rows,
    cost_unit,
    group_curves,
    row_costs,
)
from advisor.bench_rounds import repeated_share, round_rows, rounds_to_rows
from advisor.bench_search import pruner_for, run_search, search_notes
from advisor.errors import DataError
from advisor.steering import (
    SAMPLERS,
    HypervolumeScale,
    Objective,
    SurfaceSampler,
    TableSpace,
    TrainingWindow,
    UnknownSamplerError,
    finetune_prior,
    make_sampler,
)
from advisor.steering._pruner import curve_metric
from advisor.table import PARAMS, TrialsTable, train_size

THRESHOLDS: tuple[float, ...] = (0.9, 0.95, 0.99)
COST_MODES: tuple[str, ...] = ("trials", "seconds")


@dataclass(frozen=True)
class BenchTable:
    """A table reduced to its configurations.

    Attributes:
        configs: `(n_configs, 3)` learning rate, batch size and epochs of each configuration.
        means: `(n_configs, n_objectives)` mean of each objective over the replicates.
        replicates: per configuration, `(n_replicates, n_objectives)` measured values.
        scale: the hypervolume normalisation fitted on `means`.
        true_hypervolume: hypervolume of the whole table (its Pareto set).
        costs: per configuration, `(n_replicates,)` training cost of each replicate.
        curves: per configuration, each replicate's curve (None without one).
        cost_unit: `train_seconds`, `wall_time_s` or `epochs` (the table has no time column).
        collapsed: per configuration, whether each replicate predicted one class (a tuned
            trial records it, so a simulated one does too).
        train_size: training examples per epoch of the table's runs (`advisor.table.train_size`;
            None when the table cannot say): the surface sampler's start-up window needs it.
    """

    configs: np.ndarray
    means: np.ndarray
    replicates: list[np.ndarray]
    scale: HypervolumeScale
    true_hypervolume: float
    costs: list[np.ndarray] = field(default_factory=list)
    curves: list[list[Curve | None]] = field(default_factory=list)
    cost_unit: str = EPOCHS_UNIT
    collapsed: list[np.ndarray] = field(default_factory=list)
    train_size: int | None = None

    @property
    def has_curves(self) -> bool:
        """Whether any replicate has a curve (only those can be pruned)."""
        return any(c is not None for group in self.curves for c in group)

    @property
    def total_cost(self) -> float:
        """The table's training cost: the sum over configurations of the mean replicate cost."""
        return float(sum(c.mean() for c in self.costs))

    @property
    def pareto_mask(self) -> np.ndarray:
        """Which configurations are on the table's true Pareto front (by their means)."""
        from advisor.steering import non_dominated_mask

        return non_dominated_mask(self.scale.transform(self.means))

    @property
    def pareto_size(self) -> int:
        return int(self.pareto_mask.sum())


def prepare_table(table: TrialsTable, objectives: Sequence[Objective]) -> BenchTable:
    """Group a table's rows by configuration and fit the hypervolume scale.

    Raises:
        DataError: an objective's column is missing, or no objective varies.
    """
    names = [o.name for o in objectives]
    missing = [n for n in names if n not in table.rows.columns]
    if missing:
        hint = " (relative metrics need a role=baseline row)" if "_rel" in missing[0] else ""
        raise DataError(f"the table has no column {', '.join(missing)}{hint}")
    rows = table.rows.dropna(subset=names)
    if rows.empty:
        raise DataError(f"no row of the table has every objective ({', '.join(names)})")
    groups = rows.groupby(list(PARAMS), sort=True)
    configs = np.array(list(groups.groups.keys()), dtype=float).reshape(-1, len(PARAMS))
    replicates = [g[names].to_numpy(dtype=float) for _, g in groups]
    unit = cost_unit(rows)
    costs = [row_costs(g, unit) for _, g in groups]
    curves = [group_curves(g, [curve_metric(o) for o in objectives]) for _, g in groups]
    collapsed = [_collapsed_rows(g) for _, g in groups]
    means = np.array([r.mean(axis=0) for r in replicates])
    scale = HypervolumeScale.from_means(means, [o.direction for o in objectives])
    if not scale.kept.any():
        raise DataError(
            f"no objective varies across the table's configurations ({', '.join(names)})"
        )
    true_hv = scale.hypervolume(means)
    if true_hv <= 0:
        raise DataError("no configuration beats the median in every objective; hypervolume is 0")
    return BenchTable(
        configs,
        means,
        replicates,
        scale,
        true_hv,
        costs,
        curves,
        unit,
        collapsed,
        train_size(rows),
    )


def _collapsed_rows(rows: pd.DataFrame) -> np.ndarray:
    """`is_collapsed` of each row: its `collapsed` column, else the rule on accuracy and F1."""
    from advisor.study.grid_status import is_collapsed

    return np.array(
        [is_collapsed({k: v for k, v in row.items() if pd.notna(v)}) for _, row in rows.iterrows()],
        dtype=bool,
    )


@dataclass(frozen=True)
class BenchResult:
    """Hypervolume ratios per sampler: `ratios[name]` is `(repeats, budget)`."""

    objectives: list[Objective]
    ratios: dict[str, np.ndarray]
    n_configs: int
    pareto_size: int
    kept: list[str]
    seed: int
    fallback_share: float | None = None
    # trials each sampler spends sampling at random before its model steers (None: always)
    random_starts: dict[str, int | None] = field(default_factory=dict)
    # --cost seconds: `(repeats, budget)` cumulative cost after each trial, as a share of the
    # table's training cost `total_cost` (in `cost_unit`)
    spent: dict[str, np.ndarray] | None = None
    cost_unit: str | None = None
    total_cost: float | None = None
    # the pruner each sampler ran with (None: none) and `(repeats, budget)` pruned trials
    pruners: dict[str, str | None] = field(default_factory=dict)
    pruned: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # proposals per round (1: one at a time) and `(repeats, budget)` table row of each trial
    batch: int = 1
    configs: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def pruning(self) -> bool:
        return any(p is not None for p in self.pruners.values())

    def pruned_share(self) -> dict[str, float]:
        """Per sampler, the share of its trials that were pruned."""
        return {name: float(p.mean()) for name, p in self.pruned.items()}

    def repeated_shares(self) -> dict[str, float]:
        """Per sampler, the share of proposals repeating one made earlier in their round."""
        return {name: repeated_share(c, self.batch) for name, c in self.configs.items()}

    def in_random_start(self, budget: int) -> list[str]:
        """Samplers whose first `budget` trials were all sampled at random: at that budget
        they cannot differ from `random` except by chance."""
        return [
            name
            for name in self.ratios
            if name in self.random_starts
            and (self.random_starts[name] is None or budget <= (self.random_starts[name] or 0))
        ]

    @property
    def budget(self) -> int:
        return next(iter(self.ratios.values())).shape[1]

    @property
    def repeats(self) -> int:
        return next(iter(self.ratios.values())).shape[0]

    def rows(self) -> list[dict[str, Any]]:
        """One row per sampler and budget 1..N: mean and sd of the ratio over repeats."""
        out = []
        for name, ratios in self.ratios.items():
            sd = ratios.std(axis=0, ddof=1) if ratios.shape[0] > 1 else np.zeros(ratios.shape[1])
            for b in range(ratios.shape[1]):
                out.append(
                    {
                        "sampler": name,
                        "budget": b + 1,
                        "hv_ratio_mean": float(ratios[:, b].mean()),
                        "hv_ratio_sd": float(sd[b]),
                        "repeats": int(ratios.shape[0]),
                    }
                )
        return out

    def trials_to(self, threshold: float) -> dict[str, tuple[float | None, int]]:
        """Per sampler: median trials to reach `threshold` (None if not within the budget in at
        least half the repeats) and in how many repeats it was reached."""
        out: dict[str, tuple[float | None, int]] = {}
        for name, ratios in self.ratios.items():
            hit = ratios >= threshold - 1e-12
            first = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1.0, np.inf)
            median = float(np.median(first))
            out[name] = (median if np.isfinite(median) else None, int(hit.any(axis=1).sum()))
        return out

    def to_json(self) -> dict[str, Any]:
        """The `bench --json` payload."""
        reach = [
            {
                "sampler": name,
                "threshold": t,
                "median_trials": median,
                "reached": hits,
                "repeats": self.repeats,
            }
            for t in THRESHOLDS
            for name, (median, hits) in self.trials_to(t).items()
        ]
        payload: dict[str, Any] = {
            "results": self.rows(),
            "trials_to": reach,
            "table": {
                "configurations": self.n_configs,
                "pareto_size": self.pareto_size,
                "objectives": [o.name for o in self.objectives],
                "scored": self.kept,
            },
            "seed": self.seed,
            "surface_fallback_share": self.fallback_share,
            "random_start": dict(self.random_starts),
        }
        if self.spent is not None:
            payload["cost"] = cost_rows(self.ratios, self.spent)
            payload["cost_to_target"] = cost_to_target_rows(self.ratios, self.spent, THRESHOLDS)
            payload["cost_unit"] = self.cost_unit
            payload["total_cost"] = self.total_cost
        if self.batch > 1:
            payload["batch"] = self.batch
            payload["rounds"] = round_rows(self.ratios, self.batch)
            payload["rounds_to"] = rounds_to_rows(self.ratios, self.batch, THRESHOLDS)
            payload["batch_repeated_share"] = self.repeated_shares()
        if self.spent is not None or self.pruning:
            payload["pruning"] = dict(self.pruners)
            payload["pruned_share"] = self.pruned_share()
        payload["notes"] = list(self.notes)
        return payload


def bench_sampler(name: str, seed: int, bench: BenchTable) -> optuna.samplers.BaseSampler:
    """The sampler `name` (one of SAMPLERS) with Optuna's defaults, seeded."""
    if name == "surface":
        return surface_sampler(bench, seed)
    return make_sampler(name, seed)


def random_start(sampler: optuna.samplers.BaseSampler) -> int | None:
    """Trials `sampler` samples at random before its model steers (None: it never steers).

    Optuna's defaults: NSGA-II's first generation (`population_size`, 50), TPE's and GP's
    `n_startup_trials` (10); the surface sampler draws its first `n_startup_trials` at random
    among the untaken configurations, a random search's draws where those are new, except
    with a start-up window (0: its start-up is not a random search's).
    """
    if isinstance(sampler, optuna.samplers.RandomSampler):
        return None
    if isinstance(sampler, SurfaceSampler):
        return 0 if sampler.startup_window is not None else int(sampler.n_startup_trials)
    if isinstance(sampler, optuna.samplers.NSGAIISampler):
        return int(getattr(sampler, "_population_size", 50))
    return int(getattr(sampler, "_n_startup_trials", 0))


def surface_sampler(bench: BenchTable, seed: int, **options: Any) -> SurfaceSampler:
    """`SurfaceSampler` over the table's configurations, with `options` changed; its start-up
    window is `TrainingWindow` at the table's train size where the table gives one."""
    space = TableSpace(bench.configs)
    # Level indices are already the modelling scale: no log transform on top. The prior names
    # the parameters; the benchmark searches their level indices (the prior is told their
    # values, to place the table's box in its absolute coordinates).
    prior = space.level_prior(finetune_prior())
    window = None
    if bench.train_size is not None:
        window = space.level_window(TrainingWindow(bench.train_size))
    settings: dict[str, Any] = {
        "log_params": (),
        "prior": prior,
        "search_space": dict(space.distributions),
        "startup_window": window,
        **options,
    }
    return SurfaceSampler(candidates=space.candidates(), seed=seed, **settings)


def run_once(
    bench: BenchTable,
    objectives: Sequence[Objective],
    sampler: optuna.samplers.BaseSampler,
    budget: int,
    replicate_draws: np.ndarray,
    on_trial: Callable[[], None] | None = None,
) -> np.ndarray:
    """One search of `budget` trials without pruning; the hypervolume ratio after each trial."""
    return run_search(bench, objectives, sampler, budget, replicate_draws, on_trial).ratios


def run_benchmark(
    table: TrialsTable,
    objectives: Sequence[Objective],
    *,
    budget: int,
    repeats: int,
    samplers: Sequence[str] = SAMPLERS,
    seed: int = 0,
    on_trial: Callable[[str], None] | None = None,
    cost: str = "trials",
    prune: bool | None = None,
    batch: int = 1,
) -> BenchResult:
    """Run every sampler `repeats` times for `budget` trials on the table's configurations.

    Args:
        batch: proposals per round, asked before any is answered (`tune --workers N`); the
            samplers see a round's earlier proposals as RUNNING trials.
        cost: `"trials"`, or `"seconds"` to also score against the share of the table's
            training cost spent.
        prune: prune runs early (needs curves); None: whenever the table has curves (a pruned
            trial still counts as a trial; `cost="seconds"` shows what pruning saves).

    Raises:
        DataError: the table cannot be scored for these objectives.
        ValueError: a bad sampler name, budget, repeat count or cost mode.
    """
    if budget < 1 or repeats < 1 or batch < 1:
        raise ValueError("budget, repeats and batch must be at least 1")
    if cost not in COST_MODES:
        raise ValueError(f"unknown cost {cost!r}; choose one of: {', '.join(COST_MODES)}")
    bench = prepare_table(table, objectives)
    for name in samplers:
        if name not in SAMPLERS:
            raise UnknownSamplerError(
                f"unknown sampler {name!r}; choose one of: {', '.join(SAMPLERS)}"
            )
    if cost == "seconds" and not bench.total_cost > 0:
        raise DataError(f"the table's training cost ({bench.cost_unit}) sums to 0")
    notes = search_notes(bench, objectives, samplers, cost, prune)
    active = bench.has_curves and (prune if prune is not None else True)  # PRODUCT.md
    pruners = {name: pruner_for(name, objectives, active) for name in samplers}
    ratios = {name: np.zeros((repeats, budget)) for name in samplers}
    costs = {name: np.zeros((repeats, budget)) for name in samplers}
    pruned = {name: np.zeros((repeats, budget), dtype=bool) for name in samplers}
    configs = {name: np.zeros((repeats, budget), dtype=int) for name in samplers}
    modes: list[str] = []
    starts: dict[str, int | None] = {}
    with _quiet():
        for r in range(repeats):
            run_seed, draws = repeat_streams(seed, r, len(bench.configs), budget)
            for name in samplers:
                sampler = bench_sampler(name, run_seed, bench)
                starts[name] = random_start(sampler)
                tick = (lambda n=name: on_trial(n)) if on_trial is not None else None
                trace = run_search(
                    bench, objectives, sampler, budget, draws, tick, pruners[name], run_seed, batch
                )
                configs[name][r] = trace.configs
                ratios[name][r], costs[name][r], pruned[name][r] = (
                    trace.ratios,
                    trace.costs,
                    trace.pruned,
                )
                if isinstance(sampler, SurfaceSampler):
                    modes.extend(d.mode for d in sampler.decisions_)
    share = sum(m != "surface" for m in modes) / len(modes) if modes else None
    names = [o.name for o, k in zip(objectives, bench.scale.kept, strict=True) if k]
    spent = None
    if cost == "seconds":
        spent = {name: c.cumsum(axis=1) / bench.total_cost for name, c in costs.items()}
    return BenchResult(
        list(objectives),
        ratios,
        len(bench.configs),
        bench.pareto_size,
        names,
        seed,
        share,
        starts,
        spent=spent,
        cost_unit=bench.cost_unit if cost == "seconds" else None,
        total_cost=bench.total_cost if cost == "seconds" else None,
        pruners=pruners,
        pruned=pruned if active else {},
        notes=notes,
        batch=batch,
        configs=configs,
    )


def repeat_streams(seed: int, repeat: int, n_configs: int, budget: int) -> tuple[int, np.ndarray]:
    """Repeat `repeat`'s sampler seed and replicate draws (`(n_configs, budget)`: which
    replicate answers each visit), the same for every sampler.

    The draws are made visit by visit (all configurations' k-th visit, then the next), so the
    first k columns do not depend on `budget`: a checkpoint's value is the same whatever
    `--budget` the benchmark runs to.
    """
    run_seed = int(np.random.SeedSequence([seed, repeat]).generate_state(1)[0])
    rng = np.random.default_rng([seed, repeat, 1])
    draws = rng.integers(0, 2**31, size=(budget, n_configs)).T
    return run_seed, draws


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence Optuna's per-trial logging and experimental warnings during a benchmark."""
    verbosity = optuna.logging.get_verbosity()
    steering = logging.getLogger("advisor.steering")
    level = steering.level
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    steering.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        steering.setLevel(level)
        optuna.logging.set_verbosity(verbosity)


def plot_benchmark(result: BenchResult, path: str, title: str | None = None) -> None:
    """Hypervolume ratio against trials, mean line and +-1 sd band per sampler, as a PNG."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(7, 4.5))  # no pyplot: no global backend or figure state
    ax = fig.subplots()
    trials = np.arange(1, result.budget + 1)
    for name, ratios in result.ratios.items():
        mean = ratios.mean(axis=0)
        sd = ratios.std(axis=0, ddof=1) if ratios.shape[0] > 1 else np.zeros_like(mean)
        (line,) = ax.plot(trials, mean, label=name, lw=2 if name == "surface" else 1.3)
        low, high = np.clip(mean - sd, 0, 1), np.clip(mean + sd, 0, 1)
        ax.fill_between(trials, low, high, color=line.get_color(), alpha=0.15, lw=0)
    for t in THRESHOLDS:
        ax.axhline(t, color="grey", lw=0.6, ls=":")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(
        xlabel="trials",
        ylabel="hypervolume / true Pareto hypervolume",
        ylim=(0, 1.02),
        title=title
        or f"{','.join(o.name for o in result.objectives)}: {result.n_configs} configurations,"
        f" {result.repeats} repeats (mean, band: ±1 sd)",
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
