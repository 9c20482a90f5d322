"""Input warping: a Kumaraswamy CDF per continuous dimension, fitted together with the kernel.

A stationary kernel assumes the objective varies equally fast everywhere in a dimension.
Warping each coordinate ``x_k`` through a learned monotone map
``u_k = 1 - (1 - x_k^a_k)^b_k`` (the Kumaraswamy CDF, Snoek et al. 2014; BoTorch's ``Warp``)
stretches the regions where the objective changes fast and squeezes the flat ones, and the
GP of :mod:`hpo.samplers.gp.model` is fitted on ``u``. The concentrations ``a_k, b_k`` are
MAP-fitted with the kernel hyperparameters: their log has a N(0, 0.75) prior (BoTorch's
LogNormal(0, 0.75**0.5) written in the log-parameter), so ``a = b = 1``, the identity, is the
prior mode. Categorical dimensions are not warped.

Shapes follow :mod:`hpo.samplers.gp.model`'s glossary; ``log_a, log_b: (d,)`` (zero in
categorical dimensions), ``phi: (3 d + 2,)`` is ``theta`` followed by ``log_a`` and ``log_b``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.optimize
from numpy.typing import NDArray

from hpo.samplers.gp.model import (
    _LOG_BOUNDS_NOISE,
    _LOG_BOUNDS_S2,
    _LOG_BOUNDS_W,
    FTOL,
    GTOL,
    GaussianProcess,
    KernelParams,
    _lml_terms,
    _log_prior,
    _matern52_and_dr2,
    _Pairs,
    impute_inactive,
)

__all__ = ["WarpedGP", "fit_warped_gp", "kumaraswamy_cdf"]

EPS = 1e-7  # inputs are squeezed into [EPS, 1 - EPS]: the CDF's slope is infinite at 0 or 1
PRIOR_VAR = 0.75  # variance of the normal prior on log a and log b
_LOG_BOUNDS_AB = (math.log(0.2), math.log(5.0))


def kumaraswamy_cdf(
    X: NDArray[np.float64], log_a: NDArray[np.float64], log_b: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``(m, d)`` warped inputs ``1 - (1 - x^a)^b`` per column (``x`` squeezed by ``EPS``)."""
    return _warp(X, log_a, log_b)[0]


def _warp(
    X: NDArray[np.float64], log_a: NDArray[np.float64], log_b: NDArray[np.float64]
) -> tuple[NDArray[np.float64], ...]:
    """Warped ``U (m, d)`` and its derivatives in ``x``, ``log a``, ``log b`` (each ``(m, d)``)."""
    a, b = np.exp(log_a), np.exp(log_b)
    xs = EPS + (1.0 - 2.0 * EPS) * X
    t = xs**a  # in (0, 1)
    one_t = 1.0 - t
    pow_b = one_t**b
    U = 1.0 - pow_b
    dU_dx = (1.0 - 2.0 * EPS) * a * b * xs ** (a - 1.0) * one_t ** (b - 1.0)
    dU_dloga = a * b * one_t ** (b - 1.0) * t * np.log(xs)
    dU_dlogb = -b * pow_b * np.log(one_t)
    return U, dU_dx, dU_dloga, dU_dlogb


class WarpedGP:
    """A :class:`~hpo.samplers.gp.model.GaussianProcess` on warped inputs, queried in the
    original ones: same ``posterior`` / ``posterior_grad`` / ``condition_on`` interface.

    Args:
        X: ``(n, d)`` training inputs (NaN = inactive); y: ``(n,)`` targets.
        params: kernel hyperparameters (of the warped space).
        log_a, log_b: ``(d,)`` log concentrations (zero = no warp).
        is_categorical: ``(d,)`` mask of Hamming-distance dimensions (never warped).
    """

    def __init__(
        self,
        X: NDArray[np.float64],
        y: NDArray[np.float64],
        params: KernelParams,
        log_a: NDArray[np.float64],
        log_b: NDArray[np.float64],
        is_categorical: NDArray[np.bool_],
    ) -> None:
        self.is_categorical = np.asarray(is_categorical, dtype=bool)
        self.log_a_ = np.where(self.is_categorical, 0.0, log_a)
        self.log_b_ = np.where(self.is_categorical, 0.0, log_b)
        self.X_ = impute_inactive(np.asarray(X, dtype=float), self.is_categorical)
        self.gp_ = GaussianProcess(self._u(self.X_), y, params, self.is_categorical)
        self.params_ = params
        self.y_ = self.gp_.y_

    def _u(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Imputed ``X`` with its continuous columns warped."""
        U = X.copy()
        cont = ~self.is_categorical
        U[:, cont] = kumaraswamy_cdf(X[:, cont], self.log_a_[cont], self.log_b_[cont])
        return U

    def posterior(self, Xq: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Latent posterior mean and variance ``(m,)`` at ``Xq: (m, d)``."""
        Xq = impute_inactive(np.atleast_2d(np.asarray(Xq, dtype=float)), self.is_categorical)
        return self.gp_.posterior(self._u(Xq))

    def posterior_grad(self, Xq: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
        """Posterior mean, variance and their gradients ``(m, d)`` in the unwarped ``Xq``."""
        Xq = impute_inactive(np.atleast_2d(np.asarray(Xq, dtype=float)), self.is_categorical)
        mean, var, dmean, dvar = self.gp_.posterior_grad(self._u(Xq))
        cont = ~self.is_categorical
        dU_dx = _warp(Xq[:, cont], self.log_a_[cont], self.log_b_[cont])[1]
        dmean[:, cont] *= dU_dx
        dvar[:, cont] *= dU_dx
        return mean, var, dmean, dvar

    def condition_on(self, Xn: NDArray[np.float64], yn: NDArray[np.float64]) -> WarpedGP:
        """A new warped GP with extra points ``Xn: (k, d)``, ``yn: (k,)``, same parameters."""
        return WarpedGP(
            np.vstack([self.X_, impute_inactive(Xn, self.is_categorical)]),
            np.r_[self.y_, yn],
            self.params_,
            self.log_a_,
            self.log_b_,
            self.is_categorical,
        )


def _neg_log_posterior(
    phi: NDArray[np.float64],
    X: NDArray[np.float64],
    y: NDArray[np.float64],
    is_cat: NDArray[np.bool_],
) -> tuple[float, NDArray[np.float64]]:
    """Per-point negative log marginal likelihood plus log priors, and its gradient in ``phi``.

    The warp's gradient goes through the inputs: with ``B = (alpha alpha' - K^-1) * dM/dr2``,
    ``dLML/du_ik = 2 s2 w_k sum_j B_ij (u_ik - u_jk)``, then times ``du_ik / dlog a_k``.
    """
    n, d = X.shape
    theta, log_a, log_b = phi[: d + 2], phi[d + 2 : 2 * d + 2], phi[2 * d + 2 :]
    cont = ~is_cat
    U = X.copy()
    U[:, cont], _, dU_da, dU_db = _warp(X[:, cont], log_a[cont], log_b[cont])
    pairs = _Pairs(U, is_cat)
    lml, g_theta, factor = _lml_terms(theta, pairs, y, True)
    lp, gp = _log_prior(theta, d)
    p = KernelParams.from_theta(theta)
    assert factor.Kinv is not None
    _, dM = _matern52_and_dr2(pairs.r2(p.inv_sq_ls))
    B = np.outer(factor.alpha, factor.alpha)
    B -= factor.Kinv
    B *= dM
    Uc = U[:, cont]
    dL_dU = (2.0 * p.kernel_scale) * p.inv_sq_ls[cont] * (Uc * B.sum(1)[:, None] - B @ Uc)
    g_a, g_b = np.zeros(d), np.zeros(d)
    g_a[cont] = (dL_dU * dU_da).sum(0) - log_a[cont] / PRIOR_VAR
    g_b[cont] = (dL_dU * dU_db).sum(0) - log_b[cont] / PRIOR_VAR
    lp_warp = -float((log_a[cont] ** 2 + log_b[cont] ** 2).sum()) / (2.0 * PRIOR_VAR)
    value = -(lml + lp + lp_warp) / n
    return value, -np.r_[g_theta + gp, g_a, g_b] / n


def fit_warped_gp(
    X: NDArray[np.float64],
    y: NDArray[np.float64],
    is_categorical: NDArray[np.bool_],
    *,
    fit_idx: NDArray[np.intp] | None = None,
    maxiter: int = 200,
) -> WarpedGP:
    """MAP-fit kernel and warp together (on the rows ``fit_idx``, all when None), by L-BFGS-B
    from the kernel prior's mode and the identity warp; condition on all rows.

    Falls back to the unwarped prior mode when fitting fails.
    """
    is_cat = np.asarray(is_categorical, dtype=bool)
    n, d = X.shape
    Xi = impute_inactive(np.asarray(X, dtype=float), is_cat)
    rows = slice(None) if fit_idx is None else fit_idx
    Xf, yf = Xi[rows], y[rows]
    start = np.r_[KernelParams.default(d).to_theta(), np.zeros(2 * d)]
    ab = [(0.0, 0.0) if c else _LOG_BOUNDS_AB for c in is_cat]
    bounds = [_LOG_BOUNDS_W] * d + [_LOG_BOUNDS_S2, _LOG_BOUNDS_NOISE] + ab + ab

    def objective(phi: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        try:
            return _neg_log_posterior(phi, Xf, yf, is_cat)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(phi)

    phi = start
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = scipy.optimize.minimize(
                objective,
                start,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": maxiter, "gtol": GTOL, "ftol": FTOL},
            )
        if np.all(np.isfinite(res.x)) and np.isfinite(res.fun) and res.fun < 1e9:
            phi = res.x
    except (ValueError, np.linalg.LinAlgError):
        pass
    params = KernelParams.from_theta(phi[: d + 2])
    try:
        return WarpedGP(Xi, y, params, phi[d + 2 : 2 * d + 2], phi[2 * d + 2 :], is_cat)
    except np.linalg.LinAlgError:
        return WarpedGP(Xi, y, KernelParams.default(d), np.zeros(d), np.zeros(d), is_cat)
