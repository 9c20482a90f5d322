"""The acquisition optimizer: independent local searches advanced together in numpy."""

from __future__ import annotations

import numpy as np
import scipy.optimize

from hpo.samplers.gp import optimize as opt
from hpo.samplers.gp.batch_lbfgs import LINE_BATCH, MEMORY, _Curvature, _direction, minimize_batch


def _bumps(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Negated sum of two Gaussian bumps (minima near 0.2 and 0.8 in every coordinate)."""
    a, b = np.exp(-20 * ((Z - 0.2) ** 2).sum(1)), 2 * np.exp(-20 * ((Z - 0.8) ** 2).sum(1))
    grad = -(a[:, None] * -40 * (Z - 0.2) + b[:, None] * -40 * (Z - 0.8))
    return -(a + b), grad


def test_batched_runs_reach_the_minima_of_separate_scipy_runs_with_shared_calls() -> None:
    Z0 = np.array([[0.1, 0.3], [0.9, 0.7], [0.25, 0.15], [0.6, 0.9], [0.55, 0.45]])
    calls: list[int] = []

    def fun(idx: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(idx))
        return _bumps(Z)

    got = minimize_batch(fun, Z0, np.ones(2), maxiter=100, gtol=1e-6)
    for z0, z in zip(Z0, got, strict=True):
        ref = scipy.optimize.minimize(
            lambda x: tuple(v[0] for v in _bumps(x[None])),
            z0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(0, 1)] * 2,
            options={"maxiter": 100, "gtol": 1e-6},
        )
        np.testing.assert_allclose(z, ref.x, atol=1e-4)  # each start converges on its own
        assert _bumps(z[None])[0][0] <= ref.fun + 1e-9
    assert np.allclose(got[[0, 2]], 0.2, atol=0.01) and np.allclose(got[1], 0.8, atol=0.01)
    # evaluations were shared (a backtracking run sends up to LINE_BATCH step lengths at once)
    assert max(calls) <= len(Z0) * LINE_BATCH and len(calls) < sum(calls)


def test_batched_backtracking_takes_the_steps_of_one_at_a_time_halving_in_fewer_calls() -> None:
    Z0 = np.array([[0.1, 0.3], [0.9, 0.7], [0.25, 0.15], [0.6, 0.9], [0.55, 0.45]])
    ends, n_calls = [], []
    for line_batch in (1, LINE_BATCH):
        calls: list[int] = []

        def fun(
            idx: np.ndarray, Z: np.ndarray, calls: list[int] = calls
        ) -> tuple[np.ndarray, np.ndarray]:
            calls.append(len(idx))
            v, g = _bumps(Z)
            return 40.0 * v, 40.0 * g  # steep: the first steps overshoot and backtrack

        ends.append(
            minimize_batch(fun, Z0, np.ones(2), maxiter=100, gtol=1e-6, line_batch=line_batch)
        )
        n_calls.append(len(calls))
    np.testing.assert_array_equal(ends[0], ends[1])
    assert n_calls[1] < n_calls[0]


def test_bounds_hold_and_fixed_variables_never_move() -> None:
    c = np.array([[1.5, -0.3, 0.4], [0.2, 0.9, 2.0]])  # minima partly outside the box

    def fun(idx: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        D = Z - c[idx]
        return (D * D).sum(1), 2 * D

    upper = np.array([1.0, 1.0, 0.5])
    Z0 = np.array([[0.5, 0.5, 0.25], [0.3, 0.3, 0.3]])
    fixed = np.array([[False, False, True], [False, True, False]])
    got = minimize_batch(fun, Z0, upper, maxiter=50, fixed=fixed, gtol=1e-8)
    assert np.all((got >= 0) & (got <= upper))
    assert got[0, 2] == 0.25 and got[1, 1] == 0.3
    np.testing.assert_allclose(got[0, :2], [1.0, 0.0], atol=1e-8)  # pinned at the bounds
    np.testing.assert_allclose(got[1, [0, 2]], [0.2, 0.5], atol=1e-8)


def test_a_run_with_non_finite_values_stops_where_it_was() -> None:
    def fun(idx: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v, g = _bumps(Z)
        return np.where(Z[:, 0] > 0.15, np.nan, v), g  # everything right of 0.15 fails

    Z0 = np.array([[0.1, 0.3]])
    got = minimize_batch(fun, Z0, np.ones(2), maxiter=30)
    assert got[0, 0] <= 0.15 and np.all(np.isfinite(got))


def test_preconditioned_local_search_stays_in_the_unit_cube_and_improves() -> None:
    P0 = np.array([[0.1, 0.3], [0.9, 0.7]])
    mask = np.ones_like(P0, dtype=bool)

    def score_grad(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v, g = _bumps(P)
        return -v, -g

    P = opt._lbfgs_batch(
        P0, mask, lambda P: -_bumps(P)[0], score_grad, 50, scales=np.array([0.05, 1.0])
    )
    assert np.all((P >= 0) & (P <= 1))
    assert np.all(-_bumps(P)[0] > -_bumps(P0)[0])


def _sweep_row_by_row(
    X: np.ndarray, best: np.ndarray, score, canonicalize, grids: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """The reference: one row at a time, each discrete dimension in turn (the old loop)."""
    X, best = X.copy(), best.copy()
    for _ in range(3):
        improved = False
        for i in range(len(X)):
            for k, g in enumerate(grids):
                if np.isnan(canonicalize(X[i][None])[0, k]):
                    continue
                trial = np.repeat(X[i][None], len(g), 0)
                trial[:, k] = g
                scores = score(canonicalize(trial))
                j = int(np.argmax(scores))
                if scores[j] > best[i] + 1e-12 * max(1.0, abs(best[i])):
                    X[i], best[i], improved = trial[j], scores[j], True
        if not improved:
            break
    return X, best


def test_discrete_sweep_over_all_starts_at_once_walks_as_row_by_row() -> None:
    rng = np.random.default_rng(3)
    grids = [np.array([0.125, 0.375, 0.625, 0.875]), np.array([1 / 6, 0.5, 5 / 6])] * 2
    a, b = rng.normal(size=4) * 6, rng.normal(size=3) * 6

    def canonicalize(R: np.ndarray) -> np.ndarray:
        C = opt.snap_to_grids(R, grids)
        C[C[:, 0] < 0.25, 3] = np.nan  # dimension 3 is inactive when dimension 0 is lowest
        return C

    def score(C: np.ndarray) -> np.ndarray:  # bumpy, with interactions, row by row exact
        Z = np.nan_to_num(C, nan=0.5)
        return np.sin(Z * a).sum(1) + np.cos(Z[:, :1] * Z[:, 1:] * b).sum(1)

    X = rng.random((12, 4))
    s = score(canonicalize(X))
    got_X, got_s = opt._refine(X, s, score, None, canonicalize, grids, maxiter=10)
    want_X, want_s = _sweep_row_by_row(X, s, score, canonicalize, grids)
    np.testing.assert_array_equal(canonicalize(got_X), canonicalize(want_X))
    np.testing.assert_array_equal(got_s, want_s)
    assert (got_s > s).any()  # the sweep did move some starts


def test_shifted_sobol_candidates_put_one_point_in_every_bin_of_each_coordinate() -> None:
    n, d = 256, 5
    a = opt._sobol(d, n, np.random.default_rng(0))
    b = opt._sobol(d, n, np.random.default_rng(1))
    again = opt._sobol(d, n, np.random.default_rng(0))
    assert a.shape == (n, d) and np.all((a >= 0) & (a < 1))
    for R in (a, b):  # each 1-d projection is stratified: one point per interval of 1/n
        for k in range(d):
            assert np.array_equal(np.sort(np.floor(R[:, k] * n)), np.arange(n))
    np.testing.assert_array_equal(a, again)  # a function of the generator's state
    assert not np.allclose(a, b)  # and a different draw for a different state
    assert not opt._sobol_base(d, n).flags.writeable  # the cached base cannot be altered


def test_dense_inverse_hessian_is_the_compact_form_until_a_pair_drops() -> None:
    """_Curvature's gamma A + B is the L-BFGS matrix of the pairs (up to rounding); once a
    run has more than MEMORY pairs, the direction comes from its newest MEMORY pairs."""
    rng = np.random.default_rng(3)
    k, p = 5, 4
    H = _Curvature(k, p, capacity=MEMORY + 4)
    free = rng.random((k, p)) > 0.2
    live = np.ones(k, bool)
    S, Y = np.zeros((k, 0, p)), np.zeros((k, 0, p))  # the pairs, oldest first
    for step in range(MEMORY + 4):
        g = rng.normal(size=(k, p))
        P = min(step, MEMORY)
        compact = _direction(g, free, S[:, step - P :], Y[:, step - P :], np.ones((k, P), bool))
        got = H.direction(g, free, live)
        if step <= MEMORY:
            np.testing.assert_allclose(got, compact, rtol=1e-9, atol=1e-12)
        else:
            assert np.array_equal(got, compact)
        assert np.all(got[~free] == 0.0)
        if step == MEMORY + 3:
            break
        s = rng.normal(size=(k, p))
        M = rng.normal(size=(k, p, p))
        y = ((M @ M.transpose(0, 2, 1) + np.eye(p)) @ s[..., None])[..., 0]  # s'y > 0
        H.push(np.ones(k, bool), s, y, (s * y).sum(1), (y * y).sum(1))
        S, Y = np.concatenate([S, s[:, None]], 1), np.concatenate([Y, y[:, None]], 1)
    first = np.eye(k, dtype=bool)[0]
    H.reset(first)  # forgets the pairs: H = I again, and the dense form holds it
    assert H.n[0] == 0
    got = H.direction(g, free, first)[0]
    np.testing.assert_array_equal(got, -np.where(free[0], g[0], 0.0))
    second = np.eye(k, dtype=bool)[1]  # pushing one run leaves the others' pairs alone
    before = H.direction(g, free, ~second)
    H.push(second, s, y, (s * y).sum(1), (y * y).sum(1))
    assert H.n[1] == MEMORY + 4 and H.n[2] == MEMORY + 3
    np.testing.assert_array_equal(H.direction(g, free, ~second)[2:], before[2:])


def test_the_callers_starts_are_refined_even_where_no_candidate_sees_the_peak() -> None:
    # A peak so narrow that every Sobol candidate scores exactly 0 (flat, no gradient): only
    # a local search from the caller's start (the sampler passes its best observed points),
    # 2 peak widths away, can climb it. Optuna likewise always refines its best observed point.
    peak, width = np.array([0.3137, 0.7071, 0.5123, 0.1414]), 1e-3

    def score_grad(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = np.exp(-((C - peak) ** 2).sum(1) / (2 * width**2))
        return s, s[:, None] * -(C - peak) / width**2

    def score(C: np.ndarray) -> np.ndarray:
        return score_grad(C)[0]

    grids = [None] * 4
    start = peak + np.array([1e-3, -1e-3, 1e-3, -1e-3])
    rng = np.random.default_rng(0)
    without = opt.maximize(score, grids, rng, score_grad=score_grad, n_candidates=256)
    assert without.score < 1e-6  # the candidates alone never find it
    got = opt.maximize(
        score,
        grids,
        np.random.default_rng(0),
        score_grad=score_grad,
        starts=start[None],
        n_candidates=256,
    )
    assert got.score > 0.999 and np.abs(got.x - peak).max() < 1e-4
