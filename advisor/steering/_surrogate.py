"""Bayesian ridge quadratic surfaces: closed-form Gaussian posterior, O(n) in the trials.

Model per objective: `y = b0 + phi(x) @ beta + noise`, `phi` the linear, squared and two-way
interaction terms of inputs scaled to [-1, 1], `beta_j ~ N(mu_j, w_j / lam)` (second-order terms
get the smaller prior weight `w = hierarchy`: the effect-hierarchy principle of experimental
design; `mu_j` is 0, or `bowl` for square terms), `noise ~ N(0, 1 / alpha)`. `lam` and `alpha`
maximise the evidence under weak Gamma hyperpriors (MacKay's fixed point), which keeps them
finite with fewer trials than terms. With them fixed the posterior of `beta` is Gaussian, so
predictive intervals and Thompson draws are exact.

Optionally (`residual=D`) a smooth discrepancy term is added: `D` random Fourier features of a
squared-exponential kernel (length scale `lengthscale` in the scaled inputs) with their own prior
precision, i.e. a Gaussian-process residual around the quadratic trend (universal kriging), still
a Bayesian linear model: closed form, O(n), exact Gaussian draws.
"""

from __future__ import annotations

import numpy as np

from advisor.errors import FitError, NotFittedError


def quadratic_features(x: np.ndarray, degree: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Terms of the surface (no intercept) and their order (1 or 2).

    Args:
        x: `(n, d)` inputs, already scaled.
        degree: 1 (main effects) or 2 (plus squares and two-way interactions).
    """
    n, d = x.shape
    columns, orders = [x], [np.ones(d)]
    if degree >= 2:
        first, second = _second_order_pairs(d)
        columns.append(x[:, first] * x[:, second])
        orders.append(np.full(first.size, 2.0))
    return np.hstack(columns), np.concatenate(orders)


def term_names(names: list[str], degree: int = 2) -> list[str]:
    """Names of the columns of `quadratic_features` for inputs called `names`: `a`, `a^2`,
    `a*b` (the two names in alphabetical order, so a term's name does not depend on the column
    order of the inputs)."""
    terms = list(names)
    if degree >= 2:
        first, second = _second_order_pairs(len(names))
        for i, j in zip(first, second, strict=True):
            a, b = sorted((names[i], names[j]))
            terms.append(f"{a}^2" if i == j else f"{a}*{b}")
    return terms


def square_columns(d: int) -> np.ndarray:
    """Columns of `quadratic_features(x, 2)` that hold the squares `x_i^2`."""
    first, second = _second_order_pairs(d)
    return d + np.flatnonzero(first == second)


def _second_order_pairs(d: int) -> tuple[np.ndarray, np.ndarray]:
    """The factor pairs `(i, j)`, `i <= j`, of the second-order terms, in column order."""
    first, second = np.triu_indices(d)
    return first, second


class BayesianQuadratic:
    """Independent Bayesian ridge surfaces for several objectives on shared quadratic terms.

    Args:
        degree: 1 or 2.
        hierarchy: prior variance of second-order terms relative to main effects.
        lambda_prior: (shape, rate) of the Gamma hyperprior on the coefficient precision.
        alpha_prior: (shape, rate) of the Gamma hyperprior on the noise precision, in units of
            the standardised objective.
        max_iter: evidence fixed-point iterations.
        residual: random Fourier features of the Gaussian-process residual (0: none).
        lengthscale: the residual's length scale, in units of the [-1, 1] scaled inputs.
        bowl: prior mean of every square term's coefficient, in standard deviations of the
            objective (0: the usual zero-mean prior). Positive values say "lowest in the middle
            of the box, rising towards its faces": for objectives being minimised, the
            response-surface assumption that the ranges searched bracket the optimum. The
            linear terms keep a zero-mean prior, so the data move the bowl's centre freely.
    """

    def __init__(
        self,
        degree: int = 2,
        hierarchy: float = 0.5,
        lambda_prior: tuple[float, float] = (2.0, 1.0),
        alpha_prior: tuple[float, float] = (2.0, 0.1),
        max_iter: int = 200,
        residual: int = 0,
        lengthscale: float = 1.0,
        bowl: float = 0.0,
    ) -> None:
        self.degree = degree
        self.hierarchy = hierarchy
        self.lambda_prior = lambda_prior
        self.alpha_prior = alpha_prior
        self.max_iter = max_iter
        self.residual = residual
        self.lengthscale = lengthscale
        self.bowl = bowl

    def fit(
        self, x: np.ndarray, y: np.ndarray, prior_mean: np.ndarray | None = None
    ) -> BayesianQuadratic:
        """Fit one surface per column of `y` on inputs `x` (`(n, d)`, scaled to about [-1, 1]).

        Args:
            prior_mean: optional `(n_objectives, n_terms)` prior means of the quadratic terms'
                coefficients (per unit of each term of `quadratic_features`, in standard
                deviations of the objective), e.g. from a `SurfacePrior`; NaN entries keep
                the default (`bowl` on square terms, 0 elsewhere).
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float).reshape(x.shape[0], -1)
        if x.ndim != 2 or x.shape[0] < 2:
            raise FitError(f"a surface needs at least 2 trials, got {x.shape[0]}")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise FitError("inputs and objective values must be finite")
        if self.residual:
            rng = np.random.default_rng(0)  # fixed features: the fit is deterministic
            self.omega_ = rng.standard_normal((x.shape[1], self.residual)) / self.lengthscale
            self.phase_ = rng.uniform(0.0, 2.0 * np.pi, self.residual)
        phi, orders = self._features(x)
        self._dims_ = x.shape[1]
        self.weights_ = np.where(orders == 2, self.hierarchy, 1.0)
        self.groups_ = (orders == 0).astype(int)  # 0: quadratic terms, 1: residual features
        self.n_terms_ = int(np.sum(orders > 0))  # quadratic terms, without the intercept
        self.feature_mean_ = phi.mean(axis=0)
        self.y_mean_ = y.mean(axis=0)
        scale = y.std(axis=0)
        # An objective every trial gave the same value has no scale to learn: its surface is
        # the prior's shape in raw units (1.0 per standard deviation), not a prediction.
        self.constant_ = ~(scale > 0)
        self.y_scale_ = np.where(scale > 0, scale, 1.0)
        z = (phi - self.feature_mean_) * np.sqrt(self.weights_)
        t = (y - self.y_mean_) / self.y_scale_
        # A prior mean is fitted as a zero-mean prior on the deviation from it.
        self.prior_mean_ = self._prior_mean(x.shape[1], phi.shape[1], y.shape[1], prior_mean)
        deviation = t - z @ self.prior_mean_.T
        self.n_ = x.shape[0]
        gram = z.T @ z
        k, p = y.shape[1], z.shape[1]
        self.coef_ = np.zeros((k, p))  # in the scaled-term coordinates
        self.cov_ = np.zeros((k, p, p))
        self.noise_var_ = np.zeros(k)
        self.prior_precision_ = np.zeros((k, 2))
        for j in range(k):
            d = deviation[:, j]
            if self.residual:
                fitted = self._evidence_groups(gram, z.T @ d, float(d @ d))
            else:
                fitted = self._evidence_isotropic(gram, z.T @ d, float(d @ d))
            self.coef_[j], self.cov_[j], self.noise_var_[j], self.prior_precision_[j] = fitted
        self.coef_ += self.prior_mean_
        self.loo_r2_ = self._loo_r2(z, t)
        self._z, self._t = z, t
        self.log_evidence_ = self.log_evidence()
        return self

    def log_evidence(
        self, prior_mean: np.ndarray | None = None, fixed: tuple[float, float] | None = None
    ) -> np.ndarray:
        """Per objective, the log marginal likelihood of the fitted trials with the
        coefficients' prior mean set to `prior_mean` (as in `fit`; None: this fit's own).

        Args:
            fixed: None: under this fit's hyperparameters (prior and noise precision, residual
                included). `(coefficient_sd, noise_sd)`: under the quadratic terms alone with
                those fixed standard deviations (in standardised units; second-order terms
                scaled by `hierarchy` as in the fit), a predictive check of the prior mean's
                surface that the residual's flexibility cannot blur.
        """
        if not hasattr(self, "_z"):
            raise NotFittedError("BayesianQuadratic is not fitted; call fit(x, y) first")
        z, k = self._z, self._t.shape[1]
        mean = self.prior_mean_
        if prior_mean is not None:
            mean = self._prior_mean(self._dims_, z.shape[1], k, prior_mean)
        deviation = self._t - z @ mean.T
        if fixed is not None:
            q = self.n_terms_
            precision = np.full(q, 1.0 / fixed[0] ** 2)
            return np.array(
                [
                    _log_evidence(z[:, :q], deviation[:, j], precision, fixed[1] ** 2)
                    for j in range(k)
                ]
            )
        return np.array(
            [
                _log_evidence(
                    z, deviation[:, j], self.prior_precision_[j][self.groups_], self.noise_var_[j]
                )
                for j in range(k)
            ]
        )

    def _prior_mean(self, d: int, p: int, k: int, given: np.ndarray | None = None) -> np.ndarray:
        """`(k, p)` prior means of the coefficients in the scaled-term coordinates: `given`
        where it is set, else `bowl` (in units of the standardised objective) on each square
        term and 0 elsewhere; residual features always 0."""
        per_term = np.zeros((k, self.n_terms_))
        if self.bowl and self.degree >= 2:
            per_term[:, square_columns(d)] = self.bowl
        if given is not None:
            given = np.asarray(given, dtype=float)
            if given.shape != per_term.shape:
                raise ValueError(
                    f"prior_mean must have shape {per_term.shape} (objectives, quadratic terms),"
                    f" got {given.shape}"
                )
            per_term = np.where(np.isnan(given), per_term, given)
        mean = np.zeros((k, p))
        # Terms enter the fit as (phi - mean) * sqrt(weight): a coefficient per unit of the
        # term is one of coefficient * sqrt(weight) there.
        mean[:, : self.n_terms_] = per_term / np.sqrt(self.weights_[: self.n_terms_])
        return mean

    def _features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Quadratic terms (order 1, 2) and residual features (order 0)."""
        phi, orders = quadratic_features(x, self.degree)
        if not self.residual:
            return phi, orders
        waves = np.sqrt(2.0 / self.residual) * np.cos(x @ self.omega_ + self.phase_)
        return np.hstack([phi, waves]), np.concatenate([orders, np.zeros(self.residual)])

    def _evidence_isotropic(
        self, gram: np.ndarray, zt: np.ndarray, yy: float
    ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        """Posterior with one prior precision, via the eigenvectors of the Gram matrix."""
        s, v = np.linalg.eigh(gram)
        s = np.clip(s, 0.0, None)
        lam, alpha = self._evidence(s, v.T @ zt, yy)
        d = 1.0 / (lam + alpha * s)
        return v @ (alpha * d * (v.T @ zt)), (v * d) @ v.T, 1.0 / alpha, np.array([lam, lam])

    def _evidence_groups(
        self, gram: np.ndarray, zt: np.ndarray, yy: float
    ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        """Posterior with one prior precision per group (quadratic, residual): MacKay updates."""
        (a_lam, b_lam), (a_alp, b_alp) = self.lambda_prior, self.alpha_prior
        lam, alpha = np.ones(2), 10.0
        for _ in range(self.max_iter):
            cov = np.linalg.inv(np.diag(lam[self.groups_]) + alpha * gram)
            m = alpha * cov @ zt
            used = 1.0 - lam[self.groups_] * np.diag(cov)  # effective parameters per term
            rss = max(yy - 2.0 * m @ zt + m @ gram @ m, 0.0)
            new = np.array(
                [
                    (used[self.groups_ == g].sum() + 2.0 * (a_lam - 1.0))
                    / (m[self.groups_ == g] @ m[self.groups_ == g] + 2.0 * b_lam)
                    for g in (0, 1)
                ]
            )
            new_alpha = (self.n_ - 1 - used.sum() + 2.0 * (a_alp - 1.0)) / (rss + 2.0 * b_alp)
            new, new_alpha = np.maximum(new, 1e-8), max(new_alpha, 1e-8)
            done = (
                np.allclose(new, lam, rtol=1e-6, atol=0) and abs(new_alpha - alpha) <= 1e-6 * alpha
            )
            lam, alpha = new, new_alpha
            if done:
                break
        cov = np.linalg.inv(np.diag(lam[self.groups_]) + alpha * gram)
        return alpha * cov @ zt, cov, 1.0 / alpha, lam

    def _evidence(self, s: np.ndarray, q: np.ndarray, yy: float) -> tuple[float, float]:
        """MAP of (coefficient precision, noise precision) by MacKay's fixed point."""
        (a_lam, b_lam), (a_alp, b_alp) = self.lambda_prior, self.alpha_prior
        n_eff = self.n_ - 1  # one degree of freedom goes to the intercept
        lam, alpha = 1.0, 1.0 / max(0.1 * yy / max(n_eff, 1), 1e-6) if yy > 0 else 1.0
        for _ in range(self.max_iter):
            d = 1.0 / (lam + alpha * s)
            m = alpha * d * q
            gamma = float(np.sum(alpha * s * d))
            rss = max(yy - 2.0 * m @ q + np.sum(s * m**2), 0.0)
            new_lam = (gamma + 2.0 * (a_lam - 1.0)) / (m @ m + 2.0 * b_lam)
            new_alpha = (n_eff - gamma + 2.0 * (a_alp - 1.0)) / (rss + 2.0 * b_alp)
            new_lam, new_alpha = max(new_lam, 1e-8), max(new_alpha, 1e-8)
            converged = abs(new_lam - lam) <= 1e-6 * lam and abs(new_alpha - alpha) <= 1e-6 * alpha
            lam, alpha = new_lam, new_alpha
            if converged:
                break
        return lam, alpha

    def _loo_r2(self, z: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Leave-one-out R^2 of each surface's posterior mean (hyperparameters held fixed)."""
        out = np.full(t.shape[1], np.nan)
        for j in range(t.shape[1]):
            total = np.sum(t[:, j] ** 2)
            if total <= 0 or self.n_ < 3:
                continue
            hat = np.einsum("ij,jk,ik->i", z, self.cov_[j], z) / self.noise_var_[j]
            leverage = 1.0 / self.n_ + hat
            residual = t[:, j] - z @ self.coef_[j]
            press = np.sum((residual / np.clip(1.0 - leverage, 1e-9, None)) ** 2)
            out[j] = 1.0 - press / total
        return out

    def _terms(self, x: np.ndarray) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise NotFittedError("BayesianQuadratic is not fitted; call fit(x, y) first")
        phi, _ = self._features(np.asarray(x, dtype=float))
        return (phi - self.feature_mean_) * np.sqrt(self.weights_)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of each surface (not of a new observation).

        Returns:
            `(mean, std)`, each `(n_points, n_objectives)` in the objectives' units.
        """
        z = self._terms(x)
        mean = z @ self.coef_.T
        var = np.einsum("ip,kpq,iq->ik", z, self.cov_, z) + self.noise_var_ / self.n_
        return self._unscale(mean), np.sqrt(np.clip(var, 0.0, None)) * self.y_scale_

    def sample(
        self, x: np.ndarray, rng: np.random.Generator, n_draws: int = 1, spread: float = 1.0
    ) -> np.ndarray:
        """Joint posterior draws of the surfaces at `x`: `(n_draws, n_points, n_objectives)`.

        `spread` scales every draw's deviation from the posterior mean (1: exact posterior
        draws; below 1: a tempered posterior, whose draws stay closer to the mean).
        """
        z = self._terms(x)
        k, p = self.coef_.shape
        draws = np.empty((n_draws, z.shape[0], k))
        for j in range(k):
            root = spread * _root(self.cov_[j])
            beta = self.coef_[j] + rng.standard_normal((n_draws, p)) @ root.T
            offset = spread * rng.standard_normal(n_draws) * np.sqrt(self.noise_var_[j] / self.n_)
            draws[:, :, j] = beta @ z.T + offset[:, None]
        return draws * self.y_scale_ + self.y_mean_

    def _unscale(self, t: np.ndarray) -> np.ndarray:
        return t * self.y_scale_ + self.y_mean_


def _log_evidence(z: np.ndarray, d: np.ndarray, precision: np.ndarray, noise: float) -> float:
    """Log marginal likelihood of the deviations `d` from the prior mean's surface under
    `d = z @ beta + e`, `beta_i ~ N(0, 1 / precision_i)`, `e ~ N(0, noise)`: how well a prior
    mean predicted the data, at the fitted hyperparameters (comparable between prior means
    fitted to the same `z` and standardised objective)."""
    n = d.size
    cov = noise * np.eye(n) + (z / precision) @ z.T
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        return -np.inf
    return float(-0.5 * (d @ np.linalg.solve(cov, d) + logdet + n * np.log(2.0 * np.pi)))


def _root(cov: np.ndarray) -> np.ndarray:
    """A matrix `r` with `r @ r.T == cov`: Cholesky, or eigenvalues when rounding breaks it."""
    try:
        return np.linalg.cholesky(cov + 1e-12 * np.eye(cov.shape[0]))
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(0.5 * (cov + cov.T))
        return vectors * np.sqrt(np.clip(values, 0.0, None))
