"""The GP posterior against scikit-learn's, and the hyperparameter fit's gradients and fallbacks."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from hpo.samplers.gp import model
from hpo.samplers.gp.model import (
    GaussianProcess,
    KernelParams,
    fit_gp,
    fit_kernel_params,
    log_marginal_likelihood,
    matern52,
)


def _data(n: int = 25, d: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.sin(6 * X[:, 0]) + X[:, 1] ** 2 + 0.05 * rng.standard_normal(n)
    return X, (y - y.mean()) / y.std()


PARAMS = KernelParams(inv_sq_ls=np.array([4.0, 1.5, 0.3]), kernel_scale=1.7, noise_var=0.02)


def _sklearn(X: np.ndarray, y: np.ndarray, p: KernelParams) -> GaussianProcessRegressor:
    kernel = ConstantKernel(p.kernel_scale, "fixed") * Matern(
        length_scale=p.inv_sq_ls**-0.5, nu=2.5, length_scale_bounds="fixed"
    ) + WhiteKernel(p.noise_var, "fixed")
    return GaussianProcessRegressor(kernel, alpha=0.0, optimizer=None).fit(X, y)


def test_posterior_matches_sklearn_with_the_same_fixed_kernel() -> None:
    X, y = _data()
    Xq = np.random.default_rng(1).random((40, 3))
    ref = _sklearn(X, y, PARAMS)
    mean_ref, std_ref = ref.predict(Xq, return_std=True)
    mean, var = GaussianProcess(X, y, PARAMS, np.zeros(3, bool)).posterior(Xq)
    np.testing.assert_allclose(mean, mean_ref, rtol=1e-7, atol=1e-9)
    # sklearn's predictive variance includes the WhiteKernel noise; ours is the latent f's.
    np.testing.assert_allclose(var + PARAMS.noise_var, std_ref**2, rtol=1e-7, atol=1e-9)


def test_log_marginal_likelihood_matches_sklearn() -> None:
    X, y = _data()
    lml, _ = log_marginal_likelihood(PARAMS.to_theta(), X, y, np.zeros(3, bool))
    assert lml == pytest.approx(_sklearn(X, y, PARAMS).log_marginal_likelihood_value_, rel=1e-9)


def test_analytic_gradient_matches_finite_differences_with_a_categorical_dimension() -> None:
    X, y = _data(d=4)
    X[:, 3] = (np.floor(X[:, 3] * 3) + 0.5) / 3  # three categories
    is_cat = np.array([False, False, False, True])
    theta = np.log([3.0, 0.7, 2.0, 1.3, 1.2, 0.01])
    _, grad = log_marginal_likelihood(theta, X, y, is_cat)
    eps = 1e-6
    numeric = [
        (
            log_marginal_likelihood(theta + e, X, y, is_cat)[0]
            - log_marginal_likelihood(theta - e, X, y, is_cat)[0]
        )
        / (2 * eps)
        for e in np.eye(6) * eps
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_categorical_dimension_uses_hamming_distance() -> None:
    p = KernelParams(np.array([2.0]), 1.0, 1e-6)
    X = np.array([[1 / 6], [5 / 6]])  # categories 0 and 2 of three: distance 1, not 2/3
    gp = GaussianProcess(X[:1], np.array([1.0]), p, np.array([True]))
    mean, _ = gp.posterior(X[1:])
    assert mean[0] == pytest.approx(float(matern52(np.array(2.0))), rel=1e-5)


def test_inactive_nan_dimensions_are_imputed() -> None:
    X, y = _data()
    X[::3, 2] = np.nan
    gp = GaussianProcess(X, y, PARAMS, np.zeros(3, bool))
    filled = np.where(np.isnan(X), 0.5, X)
    mean, var = gp.posterior(X[:5])
    ref_mean, ref_var = GaussianProcess(filled, y, PARAMS, np.zeros(3, bool)).posterior(filled[:5])
    np.testing.assert_allclose(mean, ref_mean)
    np.testing.assert_allclose(var, ref_var)


def test_fit_improves_the_objective_and_finds_the_irrelevant_dimension() -> None:
    X, y = _data(n=40)
    fitted = fit_kernel_params(X, y, np.zeros(3, bool))
    default = KernelParams.default(3)
    assert (
        log_marginal_likelihood(fitted.to_theta(), X, y, np.zeros(3, bool))[0]
        > log_marginal_likelihood(default.to_theta(), X, y, np.zeros(3, bool))[0]
    )
    assert fitted.inv_sq_ls[2] < fitted.inv_sq_ls[0]  # y ignores x2: a longer length scale


def test_fit_survives_degenerate_data() -> None:
    X = np.full((6, 2), 0.5)
    gp = fit_gp(X, np.zeros(6), np.zeros(2, bool))
    mean, var = gp.posterior(np.array([[0.1, 0.9]]))
    assert np.isfinite(mean).all() and np.isfinite(var).all()


def test_fit_on_a_subset_conditions_on_every_point() -> None:
    X, y = _data(n=30)
    gp = fit_gp(X, y, np.zeros(3, bool), fit_idx=np.arange(0, 30, 2))
    mean, _ = gp.posterior(X)
    assert len(gp.y_) == 30
    np.testing.assert_allclose(mean, y, atol=0.3)  # interpolates its data up to noise


def _gradients(gp: GaussianProcess, Xq: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mean, variance and their gradients in ``Xq``, through ``posterior_vjp``."""
    mean, var, vjp = gp.posterior_vjp(Xq)
    one, zero = np.ones(len(Xq)), np.zeros(len(Xq))
    return mean, var, vjp(one, zero), vjp(zero, one)


def test_posterior_gradients_match_finite_differences() -> None:
    X, y = _data(d=4)
    X[:, 3] = (np.floor(X[:, 3] * 3) + 0.5) / 3
    is_cat = np.array([False, False, False, True])
    p = KernelParams(np.array([3.0, 0.7, 2.0, 1.3]), 1.2, 0.01)
    gp = GaussianProcess(X, y, p, is_cat)
    Xq = X[:5] + 0.01
    mean, var, dmean, dvar = _gradients(gp, Xq)
    np.testing.assert_allclose(np.c_[mean, var], np.c_[gp.posterior(Xq)], rtol=1e-9, atol=1e-12)
    for k in range(3):
        e = np.zeros(4)
        e[k] = 1e-6
        (mp, vp), (mm, vm) = gp.posterior(Xq + e), gp.posterior(Xq - e)
        np.testing.assert_allclose(dmean[:, k], (mp - mm) / 2e-6, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(dvar[:, k], (vp - vm) / 2e-6, rtol=1e-4, atol=1e-6)
    assert (dmean[:, 3] == 0).all() and (dvar[:, 3] == 0).all()


def test_posterior_vjp_weights_each_row_by_its_own_partial_derivatives() -> None:
    X, y = _data(d=4)
    X[:, 3] = (np.floor(X[:, 3] * 3) + 0.5) / 3
    gp = GaussianProcess(
        X, y, KernelParams(np.array([3.0, 0.7, 2.0, 1.3]), 1.2, 0.01), np.array([0, 0, 0, 1], bool)
    )
    Xq = np.random.default_rng(5).random((7, 4))
    wm, wv = np.linspace(-2.0, 3.0, 7), np.linspace(5.0, -1.0, 7)
    _, _, vjp = gp.posterior_vjp(Xq)
    got = vjp(wm, wv)
    for k in range(3):  # d/dx_k of wm * mean + wv * var, row by row, by central differences
        e = np.zeros(4)
        e[k] = 1e-6
        (mp, vp), (mm, vm) = gp.posterior(Xq + e), gp.posterior(Xq - e)
        want = (wm * (mp - mm) + wv * (vp - vm)) / 2e-6
        np.testing.assert_allclose(got[:, k], want, rtol=1e-4, atol=1e-5)
    assert (got[:, 3] == 0).all()


def test_inverse_and_triangular_solve_paths_give_the_same_posterior(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, y = _data(d=4)
    X[:, 3] = (np.floor(X[:, 3] * 3) + 0.5) / 3
    is_cat = np.array([False, False, False, True])
    p = KernelParams(np.array([3.0, 0.7, 2.0, 1.3]), 1.2, 0.01)
    Xq = np.random.default_rng(2).random((30, 4))
    assert len(y) <= model.KINV_MAX_N  # K^-1 path
    with_inverse = GaussianProcess(X, y, p, is_cat)
    got = [with_inverse.posterior(Xq), _gradients(with_inverse, Xq)]
    monkeypatch.setattr(model, "KINV_MAX_N", 0)  # triangular-solve path
    with_solves = GaussianProcess(X, y, p, is_cat)
    ref = [with_solves.posterior(Xq), _gradients(with_solves, Xq)]
    for a, b in zip([*got[0], *got[1]], [*ref[0], *ref[1]], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_fit_gp_reuses_the_last_factorization_only_at_the_returned_parameters() -> None:
    X, y = _data(n=40)
    is_cat = np.zeros(3, bool)
    gp = fit_gp(X, y, is_cat)
    fresh = GaussianProcess(X, y, gp.params_, is_cat)
    np.testing.assert_allclose(gp.L_, fresh.L_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gp.alpha_, fresh.alpha_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(gp.Kinv_, fresh.Kinv_, rtol=1e-8, atol=1e-10)
    Xq = np.random.default_rng(3).random((10, 3))
    for a, b in zip(gp.posterior(Xq), fresh.posterior(Xq), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("n", [7, 40, 130])
def test_inverse_and_inverse_factor_are_potri_and_trtri_bit_for_bit(n: int) -> None:
    """K^-1 as trtri + lauum (keeping L^-1 for the posterior) is LAPACK's potri, mirrored."""
    X, _ = _data(n=n)
    K = matern52(model._sq_dist(X, X, PARAMS.inv_sq_ls, np.zeros(3, bool)))
    K.flat[:: n + 1] += 1e-3
    L = np.linalg.cholesky(K)
    Kinv, Linv = model._cho_inverse_and_linv(L)
    low = np.tril(scipy.linalg.lapack.dpotri(L, lower=1)[0])
    np.testing.assert_array_equal(Kinv, low + np.tril(low, -1).T)
    np.testing.assert_array_equal(Linv, scipy.linalg.lapack.dtrtri(L, lower=1)[0])
    assert Kinv.flags.c_contiguous
    y = np.arange(n, dtype=float)
    np.testing.assert_array_equal(
        model._cho_solve(L, y), scipy.linalg.cho_solve((L, True), y, check_finite=False)
    )
    gp = fit_gp(X, np.sin(X[:, 0]), np.zeros(3, bool))  # the fit's factor carries L^-1 too
    np.testing.assert_array_equal(gp.Linv_, scipy.linalg.lapack.dtrtri(gp.L_, lower=1)[0])


def test_a_looser_relative_tolerance_stops_a_warm_fit_sooner_never_below_its_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, y = _data(n=40)
    is_cat = np.zeros(3, bool)
    full = fit_kernel_params(X, y, is_cat)
    warm = KernelParams(full.inv_sq_ls * 1.1, full.kernel_scale, full.noise_var)  # near

    def objective(p: KernelParams) -> float:  # what the fit maximizes: lml + log prior
        theta = p.to_theta()
        return log_marginal_likelihood(theta, X, y, is_cat)[0] + model._log_prior(theta, 3)[0]

    calls: list[int] = []
    real = model._lml_terms

    def counting(*args: object) -> object:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(model, "_lml_terms", counting)
    tight = fit_kernel_params(X, y, is_cat, init=warm, maxiter=5)
    n_tight = len(calls)
    calls.clear()
    loose = fit_kernel_params(X, y, is_cat, init=warm, maxiter=5, ftol=1e-4)
    assert len(calls) < n_tight
    assert objective(warm) < objective(loose) <= objective(tight)


def test_likelihood_without_stored_pair_distances_matches_the_stored_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, y = _data(d=4)
    X[:, 3] = (np.floor(X[:, 3] * 3) + 0.5) / 3
    is_cat = np.array([False, False, False, True])
    theta = np.log([3.0, 0.7, 2.0, 1.3, 1.2, 0.01])
    stored = log_marginal_likelihood(theta, X, y, is_cat)
    monkeypatch.setattr(model, "MAX_PAIR_ELEMENTS", 0)  # large fits: distances per evaluation
    recomputed = log_marginal_likelihood(theta, X, y, is_cat)
    assert recomputed[0] == pytest.approx(stored[0], rel=1e-12)
    np.testing.assert_allclose(recomputed[1], stored[1], rtol=1e-9, atol=1e-12)


def test_short_fits_skip_the_pair_table_and_fit_the_same_kernel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, y = _data(n=60, d=4)
    is_cat = np.zeros(4, bool)
    warm = fit_kernel_params(X[:-1], y[:-1], is_cat)
    built: list[bool] = []
    pairs_init = model._Pairs.__init__

    def spy(self: model._Pairs, *args: object, **kwargs: object) -> None:
        pairs_init(self, *args, **kwargs)  # type: ignore[arg-type]
        built.append(self.D is not None)

    monkeypatch.setattr(model._Pairs, "__init__", spy)
    short = fit_kernel_params(X, y, is_cat, init=warm, maxiter=5, ftol=1e-4)
    monkeypatch.setattr(model, "PAIR_TABLE_MIN_ITER", 0)
    with_table = fit_kernel_params(X, y, is_cat, init=warm, maxiter=5, ftol=1e-4)
    assert built == [False, True]
    np.testing.assert_allclose(short.to_theta(), with_table.to_theta(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("maxiter", [1, 5, 200])
def test_hand_driven_lbfgsb_takes_scipy_minimizes_iterates_bit_for_bit(
    maxiter: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fit's L-BFGS-B loop (scipy's routine without minimize's wrapper) is minimize's."""
    X, y = _data(n=30)
    is_cat = np.array([False, False, True])
    Xc = X.copy()
    Xc[:, 2] = np.floor(3 * X[:, 2])
    pairs = model._Pairs(Xc, is_cat)

    def neg(theta: np.ndarray, log: list[np.ndarray]) -> tuple[float, np.ndarray]:
        log.append(theta.copy())
        lml, g, _ = model._lml_terms(theta, pairs, y, True)
        return -lml / 30, -g / 30

    bounds = [(-3.0, 3.0)] * 3 + [(-2.0, 2.0), (-9.0, 0.5)]  # the noise bound ends up active
    start = np.array([2.0, -1.0, 0.5, 1.0, 0.4])
    for gtol, ftol in ((1e-3, model.FTOL), (1e-9, 1e-4)):
        seen: list[np.ndarray] = []  # the points each run evaluates, in order
        mine: list[np.ndarray] = []
        ref = scipy.optimize.minimize(
            functools.partial(neg, log=seen),
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": maxiter, "gtol": gtol, "ftol": ftol},
        )
        x, fx = model._lbfgsb(functools.partial(neg, log=mine), start, bounds, maxiter, gtol, ftol)
        np.testing.assert_array_equal(x, ref.x)
        assert fx == ref.fun
        assert len(seen) == len(mine) > 1
        for a, b in zip(seen, mine, strict=True):
            np.testing.assert_array_equal(a, b)
        monkeypatch.setattr(model, "_SETULB_DIRECT", False)  # the fallback: minimize itself
        x2, _ = model._lbfgsb(functools.partial(neg, log=[]), start, bounds, maxiter, gtol, ftol)
        np.testing.assert_array_equal(x2, ref.x)
        monkeypatch.setattr(model, "_SETULB_DIRECT", True)
