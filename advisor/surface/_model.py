"""A fitted response surface as plain data: enough to predict, draw and report without refitting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from advisor.errors import DataError, FitError
from advisor.surface._collapse import CollapseModel
from advisor.surface._terms import Factor, Term, design_matrix, encode, formula

PREDICTION_COLUMNS: tuple[str, ...] = (
    "mean",
    "mean_se",
    "mean_lower",
    "mean_upper",
    "obs_lower",
    "obs_upper",
    "extrapolated",
)


@dataclass(frozen=True)
class DroppedTerm:
    """A candidate term left out of the model, and why."""

    term: str
    reason: str


@dataclass(frozen=True)
class TermStats:
    """One coefficient with its inference (p_holm: Holm-adjusted over the non-intercept terms)."""

    term: str
    formula: str
    coef: float
    se: float
    t: float
    p: float
    p_holm: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class LackOfFit:
    """Lack-of-fit F-test of the model against pure error from replicated configurations."""

    f: float
    p: float
    df_lack: int
    df_pure: int
    ss_lack: float
    ss_pure: float


@dataclass(frozen=True)
class FitStats:
    """Whole-model statistics.

    cv_r2 is the leave-one-configuration-out predictive R² (all replicates of a configuration are
    held out together); None when a fold cannot be fitted, with the reason in cv_note.
    """

    n: int
    n_configs: int
    df_model: float
    df_resid: float
    r2: float
    adj_r2: float
    f_stat: float
    f_pvalue: float
    aic: float
    bic: float
    sigma: float
    condition_number: float
    cv_r2: float | None
    lack_of_fit: LackOfFit | None
    cv_note: str | None = None


@dataclass(frozen=True)
class Diagnostics:
    """What the design can support, shown before any p-value.

    Configurations are dicts of learning_rate, batch_size, epochs. `leverage_one`: configurations
    the fit passes through exactly; `drivers`: configurations with a large Cook's distance or
    studentized residual (`{"config": .., "cooks": .., "studentized": ..}`); `influential`:
    configurations whose removal changes which terms survive Holm's correction, with
    `influence_notes` saying how. `inference` is `ols`, `cluster` (by configuration) or `hc3`.
    """

    rows: int
    configs: int
    terms: int
    saturated: bool
    levels: dict[str, int]
    top_config: dict[str, float]
    top_rows: int
    condition_number: float
    vif: dict[str, float]
    max_leverage: float
    leverage_one: tuple[dict[str, float], ...]
    drivers: tuple[dict[str, Any], ...]
    influential: tuple[dict[str, float], ...]
    influence_notes: tuple[str, ...]
    cv_r2: float | None
    cv_note: str | None
    seed_sd: float | None
    resid_sd: float
    inference: str
    inference_note: str


@dataclass(frozen=True, eq=False)
class FittedSurface:
    """A fitted polynomial surface of one metric (absolute, or relative to the baseline).

    `coef` and `cov` are in the order of `terms`; `cov` is the coefficient covariance actually
    used for inference (HC3 when `cov_type == "HC3"`), `scale` the residual variance. Use
    `predict` for means and intervals and `sample_means` for Thompson draws.
    """

    metric: str
    mode: str
    baseline: float | None
    degree: int
    coding: str
    cov_type: str
    select: str | None
    alpha: float
    factors: tuple[Factor, ...]
    terms: tuple[Term, ...]
    coef: np.ndarray
    cov: np.ndarray
    scale: float
    stats: FitStats
    term_stats: tuple[TermStats, ...]
    dropped: tuple[DroppedTerm, ...] = ()
    warnings: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # the verdict and what the design supports (issue 13: findings are empty when untrustworthy)
    trustworthy: bool = True
    reasons: tuple[str, ...] = ()
    diagnostics: Diagnostics | None = None
    inference_df: float | None = None  # t degrees of freedom (configurations - 1 when clustered)
    xtx_inv: np.ndarray | None = None  # (X'X)^-1 of the fitted design: leverage of new points
    # relative framework and collapsed runs (issue 13, items 5 and 6)
    relative_kind: str | None = None  # relative only: "incremental" or "shift"
    baseline_params: dict[str, float] | None = None  # the baseline's configuration
    baseline_sd: float | None = None  # SD of the baseline's mean added to the intercept
    collapse: CollapseModel | None = None  # P(collapse); the surface fits trained runs

    @property
    def target(self) -> str:
        """The modelled quantity's name: `f1` (absolute) or `f1_rel` (relative)."""
        return self.metric if self.mode == "absolute" else f"{self.metric}_rel"

    @property
    def t_df(self) -> float:
        """Degrees of freedom of the t reference distribution used for every p and interval."""
        return self.stats.df_resid if self.inference_df is None else self.inference_df

    @property
    def term_names(self) -> list[str]:
        """Readable names of the model's terms, in coefficient order."""
        return [t.name(self.factors) for t in self.terms]

    @property
    def formula(self) -> str:
        """The statsmodels formula over the coded factor columns (`y ~ lr + batch + ...`)."""
        return formula(self.terms, self.factors)

    def design(self, frame: pd.DataFrame) -> np.ndarray:
        """The design matrix (rows of `frame` x terms) for raw learning_rate/batch_size/epochs."""
        try:
            x = encode(self.factors, frame)
        except FitError as exc:
            raise DataError(f"cannot predict: {exc}") from exc
        return design_matrix(self.terms, x)

    def predict(self, frame: pd.DataFrame, alpha: float | None = None) -> pd.DataFrame:
        """Predicted means with confidence (mean) and prediction (new observation) intervals.

        Args:
            frame: columns learning_rate, batch_size, epochs (raw values).
            alpha: 1 - interval level; defaults to the surface's alpha.

        Returns:
            DataFrame indexed like `frame` with columns mean, mean_se, mean_lower, mean_upper,
            obs_lower, obs_upper (NaN without residual degrees of freedom) and extrapolated
            (outside the fitted range, or a prediction variance above that of every tried
            configuration: see `leverage`).
        """
        alpha = self.alpha if alpha is None else alpha
        design = self.design(frame)
        mean = design @ self.coef
        mean_se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", design, self.cov, design), 0.0))
        df = self.t_df
        crit = float(stats.t.ppf(1.0 - alpha / 2.0, df)) if df > 0 else float("nan")
        obs_se = np.sqrt(mean_se**2 + self.scale)
        return pd.DataFrame(
            {
                "mean": mean,
                "mean_se": mean_se,
                "mean_lower": mean - crit * mean_se,
                "mean_upper": mean + crit * mean_se,
                "obs_lower": mean - crit * obs_se,
                "obs_upper": mean + crit * obs_se,
                "extrapolated": self.extrapolated(frame, design),
            },
            index=frame.index,
        )

    def leverage(self, frame: pd.DataFrame, design: np.ndarray | None = None) -> np.ndarray:
        """Per row: x'(X'X)^-1 x, the prediction variance in units of the noise variance.

        NaN when the surface was stored without (X'X)^-1.
        """
        if self.xtx_inv is None:
            return np.full(len(frame), np.nan)
        design = self.design(frame) if design is None else design
        return np.einsum("ij,jk,ik->i", design, self.xtx_inv, design)

    def extrapolated(self, frame: pd.DataFrame, design: np.ndarray | None = None) -> np.ndarray:
        """Per row: outside the fitted range, or inside it with more leverage than any tried
        configuration (a hidden extrapolation into a corner the design does not cover)."""
        out = self.outside_range(frame)
        limit = None if self.diagnostics is None else self.diagnostics.max_leverage
        if limit is None or self.xtx_inv is None or not np.isfinite(limit):
            return out
        return out | (self.leverage(frame, design) > limit * (1 + 1e-6) + 1e-9)

    def outside_range(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row: True when any parameter lies outside the fitted data's range."""
        out = np.zeros(len(frame), dtype=bool)
        for f in self.factors:
            t = f.transformed(frame[f.param])
            span = 1e-9 * max(1.0, abs(f.high - f.low))
            out |= (t < f.low - span) | (t > f.high + span)
        return out

    def sample_means(
        self, frame: pd.DataFrame, rng: np.random.Generator, n_draws: int = 1
    ) -> np.ndarray:
        """Thompson draws: means at `frame` under coefficients ~ N(coef, cov); (n_draws, n_rows)."""
        if not np.isfinite(self.cov).all():
            raise FitError(
                f"the {self.target} surface has no usable coefficient covariance (no residual "
                "degrees of freedom or undefined robust errors); refit with more trials"
            )
        coefs = rng.multivariate_normal(self.coef, self.cov, size=n_draws, method="eigh")
        return coefs @ self.design(frame).T
