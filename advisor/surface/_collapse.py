"""Collapsed runs: which runs predicted a single class, and the probability that a run collapses.

A collapsed run (an under-trained model that predicts one class for every input) sits on a
plateau: F1 = 0 or the one-class F1, accuracy = the majority share. A polynomial through the
plateau and the trained runs fits neither, so surfaces are two-part models: the probability of
collapse by a Firth-penalised logistic regression on the coded factors (main effects; Firth's
penalty keeps the estimates finite under the complete or quasi-separation that is the normal
case: every run below some learning rate collapses), and the response surfaces on the runs
that trained. Pure math: arrays and plain data in, plain data out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from advisor.surface._terms import Factor

# |F1 - one-class F1| within this is the one-class signature: 0.02 also catches runs that put
# all but a few percent of the inputs in one class (on the SST-2 tables, F1 - 2a/(1+a) runs
# from -0.02 on such runs to below -0.07 on runs that trained)
ONE_CLASS_TOLERANCE = 0.02
ONE_CLASS_MAX_ACCURACY = 0.9  # above this the one-class F1 is too close to a trained model's
FIRTH_MAX_ITER = 100
FIRTH_TOL = 1e-8


def collapsed_rule(accuracy: np.ndarray, f1: np.ndarray) -> np.ndarray:
    """The documented rule for a binary table without a `collapsed` column.

    A binary classifier that predicts only the negative class has F1 = 0; one that predicts
    only the positive class has accuracy = the positive share a and F1 = 2a / (1 + a). A run
    is collapsed when F1 <= ONE_CLASS_TOLERANCE, or when F1 is within ONE_CLASS_TOLERANCE of
    2a / (1 + a) and a <= ONE_CLASS_MAX_ACCURACY. Rows missing either metric are not collapsed.
    """
    a = np.asarray(accuracy, dtype=float)
    f = np.asarray(f1, dtype=float)
    with np.errstate(invalid="ignore"):
        negative = f <= ONE_CLASS_TOLERANCE
        positive = (np.abs(f - 2.0 * a / (1.0 + a)) <= ONE_CLASS_TOLERANCE) & (
            a <= ONE_CLASS_MAX_ACCURACY
        )
    return np.asarray((negative | positive) & np.isfinite(a) & np.isfinite(f), dtype=bool)


def collapsed_mask(rows: pd.DataFrame) -> tuple[np.ndarray, str]:
    """Per row: collapsed or not, and where that came from (`column`, `rule`)."""
    if "collapsed" in rows.columns:
        column = rows["collapsed"]
        known = column.notna().to_numpy()
        values = np.zeros(len(rows), dtype=bool)
        values[known] = [_truthy(v) for v in column[known]]
        return values, "column"
    if {"accuracy", "f1"} <= set(rows.columns):
        accuracy = pd.to_numeric(rows["accuracy"], errors="coerce").to_numpy(dtype=float)
        f1 = pd.to_numeric(rows["f1"], errors="coerce").to_numpy(dtype=float)
        return collapsed_rule(accuracy, f1), "rule"
    return np.zeros(len(rows), dtype=bool), "rule"


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


@dataclass(frozen=True, eq=False)
class CollapseModel:
    """P(collapse) = logistic(design @ coef), design = [1, x_1, ..., x_k] on `factors`' coding.

    Attributes:
        factors: the factors (transform and coding) the logistic regression was fitted on.
        active: indices of the factors that vary (the others are constant in the data).
        coef, cov: Firth estimates and their covariance (inverse Fisher information).
        n, n_collapsed: runs fitted on, and how many of them collapsed.
        plateau: the metric's mean over the collapsed runs (the value a collapsed run gives).
        source: `column` (recorded) or `rule` (read off the metrics, see `collapsed_rule`).
    """

    factors: tuple[Factor, ...]
    active: tuple[int, ...]
    coef: np.ndarray
    cov: np.ndarray
    n: int
    n_collapsed: int
    plateau: float
    source: str

    def design(self, frame: pd.DataFrame) -> np.ndarray:
        """[1, coded active factors] for raw learning_rate, batch_size, epochs."""
        columns = [self.factors[i].encode(frame[self.factors[i].param]) for i in self.active]
        return np.column_stack([np.ones(len(frame)), *columns])

    def probability(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(P(collapse), its delta-method standard error) at each row of `frame`."""
        design = self.design(frame)
        eta = design @ self.coef
        p = _sigmoid(eta)
        eta_se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", design, self.cov, design), 0.0))
        return p, p * (1.0 - p) * eta_se

    def sample_probability(
        self, frame: pd.DataFrame, rng: np.random.Generator, n_draws: int
    ) -> np.ndarray:
        """(n_draws, n_rows) probabilities under coefficients ~ N(coef, cov)."""
        coefs = rng.multivariate_normal(self.coef, self.cov, size=n_draws, method="eigh")
        return _sigmoid(coefs @ self.design(frame).T)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (its factors cover every run, collapsed ones included)."""
        return {
            "factors": [vars(f).copy() for f in self.factors],
            "active": list(self.active),
            "coef": self.coef.tolist(),
            "cov": self.cov.tolist(),
            "n": self.n,
            "n_collapsed": self.n_collapsed,
            "plateau": self.plateau,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollapseModel:
        """Rebuild from `to_dict`."""
        coef = np.asarray(data["coef"], dtype=float)
        return cls(
            factors=tuple(Factor(**f) for f in data["factors"]),
            active=tuple(int(i) for i in data["active"]),
            coef=coef,
            cov=np.asarray(data["cov"], dtype=float).reshape(coef.size, coef.size),
            n=int(data["n"]),
            n_collapsed=int(data["n_collapsed"]),
            plateau=float(data["plateau"]),
            source=str(data["source"]),
        )


def _sigmoid(eta: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(eta, -500, 500))), dtype=float)


def firth_logistic(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Firth-penalised logistic regression (Jeffreys prior): coefficients and covariance.

    Newton steps on the modified score X'(y - p + h (1/2 - p)), h the hat diagonal of the
    weighted design, halving a step that lowers the penalised likelihood (Heinze & Schemper
    2002). Finite under complete separation, where plain maximum likelihood diverges.
    """
    x = np.asarray(design, dtype=float)
    y = np.asarray(y, dtype=float)
    beta = np.zeros(x.shape[1])
    current = _penalised_loglik(x, y, beta)
    for _ in range(FIRTH_MAX_ITER):
        p = _sigmoid(x @ beta)
        w = p * (1.0 - p)
        info = x.T @ (x * w[:, None])
        cov = np.linalg.pinv(info)
        hat = np.einsum("ij,jk,ik->i", x * np.sqrt(w)[:, None], cov, x * np.sqrt(w)[:, None])
        step = cov @ (x.T @ (y - p + hat * (0.5 - p)))
        for _halving in range(30):
            candidate = _penalised_loglik(x, y, beta + step)
            if candidate >= current - 1e-12:
                break
            step = step / 2.0
        beta = beta + step
        current = _penalised_loglik(x, y, beta)
        if np.max(np.abs(step)) < FIRTH_TOL:
            break
    p = _sigmoid(x @ beta)
    info = x.T @ (x * (p * (1.0 - p))[:, None])
    return beta, np.linalg.pinv(info)


def _penalised_loglik(x: np.ndarray, y: np.ndarray, beta: np.ndarray) -> float:
    eta = x @ beta
    loglik = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    p = _sigmoid(eta)
    info = x.T @ (x * (p * (1.0 - p))[:, None])
    sign, logdet = np.linalg.slogdet(info)
    return loglik + 0.5 * logdet if sign > 0 else -np.inf


def fit_collapse(
    factors: Sequence[Factor],
    frame: pd.DataFrame,
    collapsed: np.ndarray,
    plateau: float,
    source: str,
) -> CollapseModel:
    """The collapse model on main effects of the factors that vary in `frame`."""
    factors = tuple(factors)
    active = tuple(i for i, f in enumerate(factors) if f.high > f.low)
    columns = [factors[i].encode(frame[factors[i].param]) for i in active]
    design = np.column_stack([np.ones(len(frame)), *columns])
    coef, cov = firth_logistic(design, np.asarray(collapsed, dtype=float))
    return CollapseModel(
        factors=factors,
        active=active,
        coef=coef,
        cov=cov,
        n=len(frame),
        n_collapsed=int(np.sum(collapsed)),
        plateau=float(plateau),
        source=source,
    )
