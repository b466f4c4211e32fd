"""Final values of a planned run given its values part-way through: pure NumPy.

A fine-tune planned for `E` epochs under a linear learning-rate decay is not a `K`-epoch run when
it is stopped after epoch `K`: its learning rate is still high and the decay has `E - K` epochs
to go. So the partial point is never treated as a shorter run; instead, from finished runs'
curves, this module learns how a run goes on from where it is. For an objective (minimised) with
value `v` after a share `f = K / E` of its planned epochs and final value `y`,

    (y - v) / (1 - f) = a + b * v_std [+ c * f] + e,    e ~ N(0, s^2),

an ordinary least-squares fit over every (run, epoch K < E) pair of the finished runs (`v_std`:
`v` standardised over the pairs; the `f` term once the pairs hold two or more shares). The
change still to come shrinks to nothing at the final epoch and so does its spread, which is
`(1 - f)` times the residual spread `s` widened by the fit's own leverage. Draws are Student-t
(the fit's degrees of freedom), correlated across objectives as the residuals are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CurvePairs:
    """Training pairs from finished runs: the value after epoch K, K / E, and the final value.

    Attributes:
        partial: `(n_pairs, n_objectives)` values after epoch K (minimised).
        share: `(n_pairs,)` K / E of each pair (below 1).
        final: `(n_pairs, n_objectives)` the run's final values (minimised).
    """

    partial: np.ndarray
    share: np.ndarray
    final: np.ndarray

    @classmethod
    def from_curves(cls, curves: list[np.ndarray]) -> CurvePairs:
        """Pairs from finished curves, each `(E, n_objectives)` (row K-1: after epoch K;
        the last row is the final value). Rows with a missing value are skipped."""
        partial, share, final = [], [], []
        for curve in curves:
            epochs = curve.shape[0]
            if epochs < 2 or not np.isfinite(curve[-1]).all():
                continue
            for k in range(epochs - 1):
                if np.isfinite(curve[k]).all():
                    partial.append(curve[k])
                    share.append((k + 1) / epochs)
                    final.append(curve[-1])
        m = curves[0].shape[1] if curves else 0
        return cls(
            np.array(partial, dtype=float).reshape(-1, m),
            np.array(share, dtype=float),
            np.array(final, dtype=float).reshape(-1, m),
        )


@dataclass(frozen=True)
class FinalModel:
    """The fitted model of final values given partial ones (see the module docstring).

    Attributes:
        coef: `(n_objectives, n_terms)` least-squares coefficients.
        gram_inv: per objective, `(n_terms, n_terms)` inverse of the design's Gram matrix.
        center, scale: per objective, the standardisation of the partial values.
        sigma: `(n_objectives,)` residual standard deviation.
        df: residual degrees of freedom.
        correlation: `(n_objectives, n_objectives)` correlation of the residuals.
        uses_share: whether the `f` term is in the model.
    """

    coef: np.ndarray
    gram_inv: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    sigma: np.ndarray
    df: int
    correlation: np.ndarray
    uses_share: bool


def _design(v_std: np.ndarray, share: np.ndarray, uses_share: bool) -> np.ndarray:
    columns = [np.ones_like(v_std), v_std] + ([share] if uses_share else [])
    return np.column_stack(columns)


def fit_final_model(pairs: CurvePairs) -> FinalModel | None:
    """Fit the model; None when the pairs are too few to leave a residual degree of freedom."""
    n, m = pairs.partial.shape
    uses_share = np.unique(pairs.share).size >= 2 and n >= 5
    terms = 3 if uses_share else 2
    if n <= terms:
        return None
    target = (pairs.final - pairs.partial) / (1.0 - pairs.share)[:, None]
    center = pairs.partial.mean(axis=0)
    scale = pairs.partial.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    coef = np.zeros((m, terms))
    gram_inv = np.zeros((m, terms, terms))
    residuals = np.zeros((n, m))
    for j in range(m):
        x = _design((pairs.partial[:, j] - center[j]) / scale[j], pairs.share, uses_share)
        # a whisker of ridge keeps a constant column (every run at one value) solvable
        gram = x.T @ x + 1e-9 * n * np.eye(terms)
        gram_inv[j] = np.linalg.inv(gram)
        coef[j] = gram_inv[j] @ x.T @ target[:, j]
        residuals[:, j] = target[:, j] - x @ coef[j]
    df = n - terms
    sigma = np.sqrt((residuals**2).sum(axis=0) / df)
    correlation = _correlation(residuals)
    return FinalModel(coef, gram_inv, center, scale, sigma, df, correlation, uses_share)


def _correlation(residuals: np.ndarray) -> np.ndarray:
    m = residuals.shape[1]
    sd = residuals.std(axis=0)
    if m == 1 or (sd <= 1e-12).any():
        return np.eye(m)
    corr = np.corrcoef(residuals, rowvar=False)
    return 0.98 * corr + 0.02 * np.eye(m)  # stays positive definite with few pairs


def draw_finals(
    model: FinalModel, partial: np.ndarray, share: float, n_draws: int, rng: np.random.Generator
) -> np.ndarray:
    """`(n_draws, n_objectives)` draws of the final values of a run at `partial` after a share
    `share` (< 1) of its planned epochs (all minimised)."""
    partial = np.asarray(partial, dtype=float)
    m = partial.size
    mean = np.zeros(m)
    sd = np.zeros(m)
    for j in range(m):
        x0 = _design(
            np.array([(partial[j] - model.center[j]) / model.scale[j]]),
            np.array([share]),
            model.uses_share,
        )[0]
        mean[j] = x0 @ model.coef[j]
        sd[j] = model.sigma[j] * np.sqrt(1.0 + x0 @ model.gram_inv[j] @ x0)
    normal = rng.standard_normal((n_draws, m)) @ np.linalg.cholesky(model.correlation).T
    t_scale = np.sqrt(model.df / rng.chisquare(model.df, size=(n_draws, 1)))
    rate = mean + normal * t_scale * sd
    return partial + (1.0 - share) * rate


def join_probability(draws: np.ndarray, front: np.ndarray) -> float:
    """Share of `draws` (`(n_draws, m)`) that no point of `front` (`(n_front, m)`) dominates
    (all minimised): the probability that the run joins the front."""
    front = np.asarray(front, dtype=float).reshape(-1, draws.shape[1])
    if front.shape[0] == 0:
        return 1.0
    no_worse = np.all(front[None, :, :] <= draws[:, None, :], axis=2)
    better = np.any(front[None, :, :] < draws[:, None, :], axis=2)
    dominated = np.any(no_worse & better, axis=1)
    return float(1.0 - dominated.mean())
