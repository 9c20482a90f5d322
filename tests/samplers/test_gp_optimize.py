"""The acquisition optimizer: independent local searches that share vectorized evaluations."""

from __future__ import annotations

import numpy as np
import scipy.optimize

from hpo.samplers.gp import optimize as opt


def _bumps(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Negated sum of two Gaussian bumps (minima near 0.2 and 0.8 in every coordinate)."""
    a, b = np.exp(-20 * ((Z - 0.2) ** 2).sum(1)), 2 * np.exp(-20 * ((Z - 0.8) ** 2).sum(1))
    grad = -(a[:, None] * -40 * (Z - 0.2) + b[:, None] * -40 * (Z - 0.8))
    return -(a + b), grad


def test_batched_runs_equal_separate_scipy_runs_with_fewer_calls() -> None:
    Z0 = np.array([[0.1, 0.3], [0.9, 0.7], [0.25, 0.15], [0.6, 0.9]])
    calls: list[int] = []

    def fun(idx: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(idx))
        return _bumps(Z)

    got = opt._batched_lbfgsb(fun, Z0, np.ones(2), maxiter=100)
    for z0, z in zip(Z0, got, strict=True):
        ref = scipy.optimize.minimize(
            lambda x: tuple(v[0] for v in _bumps(x[None])),
            z0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(0, 1)] * 2,
            options={"maxiter": 100, "gtol": opt.GTOL},
        )
        np.testing.assert_allclose(z, ref.x, atol=1e-9)  # each start converges on its own
    assert np.allclose(got[[0, 2]], 0.2, atol=0.01) and np.allclose(
        got[1], 0.8, atol=0.01
    )  # own basins
    assert max(calls) == len(Z0) and len(calls) < sum(calls)  # evaluations were shared


def test_sequential_fallback_without_greenlet_gives_the_same_points(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    Z0 = np.array([[0.1, 0.3], [0.9, 0.7]])
    batched = opt._batched_lbfgsb(lambda i, Z: _bumps(Z), Z0, np.ones(2), maxiter=100)
    monkeypatch.setattr(opt, "greenlet", None)
    sequential = opt._batched_lbfgsb(lambda i, Z: _bumps(Z), Z0, np.ones(2), maxiter=100)
    np.testing.assert_allclose(batched, sequential, atol=1e-12)


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
