"""Maximize a black-box score over a mixed unit cube (knows nothing about GPs).

Shapes: ``d`` dimensions; raw points ``R: (m, d)`` lie in ``[0, 1]^d``; ``canonicalize(R)``
maps them to *representable* points ``C: (m, d)`` (discrete coordinates snapped to their
allowed values, NaN where a coordinate does not apply, e.g. an inactive parameter);
``score(C) -> (m,)`` is what we maximize. ``grids[k]`` is ``None`` for a continuous
dimension, else the sorted ``(v_k,)`` allowed values of a discrete one.

Strategy:

1. Score many scrambled-Sobol candidates (every combination of the discrete dimensions
   when there are few, so none is missed) plus the caller's starting points (incumbents).
2. From the best candidate, a few more drawn with probability ``exp(score - best)`` (diverse
   starts, as Optuna does) and the caller's starts, refine each: an L-BFGS-B run per start
   over the continuous dimensions (and ordinal ones with many values, relaxed then rounded),
   preconditioned by the caller's ``scales``, with the caller's gradient or central
   differences, holding the discrete ones fixed. The runs are independent (own curvature,
   line search, stopping test) but share one vectorized evaluation per round. Then a
   coordinate sweep over each small discrete dimension trying all its values; repeat while
   it improves.
3. Return the best point for which ``is_new(C_row)`` holds (a never-evaluated, non-pending
   configuration), falling back to fresh random points; if nothing new is found the space
   is treated as exhausted and the best point is returned with ``exhausted=True``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from numpy.typing import NDArray
from scipy.stats import qmc

try:  # lets independent L-BFGS-B runs share one vectorized evaluation per round
    import greenlet
except ImportError:  # pragma: no cover - a core dependency; sequential runs otherwise
    greenlet = None  # type: ignore[assignment]

__all__ = ["maximize", "OptimizeResult", "snap_to_grids"]

ScoreFn = Callable[[NDArray[np.float64]], NDArray[np.float64]]
GradFn = Callable[[NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.float64]]]
MAX_SWEEP_VALUES = 32  # a discrete dimension with more values is relaxed and rounded instead


@dataclass(frozen=True)
class OptimizeResult:
    """The chosen canonical point ``x: (d,)``, its score, and whether no new point was found."""

    x: NDArray[np.float64]
    score: float
    exhausted: bool = False


def snap_to_grids(
    R: NDArray[np.float64], grids: Sequence[NDArray[np.float64] | None]
) -> NDArray[np.float64]:
    """``(m, d)`` copy of ``R`` with each discrete coordinate moved to its nearest allowed value."""
    C = np.array(R, dtype=float, copy=True)
    for k, g in enumerate(grids):
        if g is None:
            continue
        i = (
            np.clip(np.searchsorted(g, C[:, k]), 1, len(g) - 1)
            if len(g) > 1
            else np.zeros(len(C), int)
        )
        if len(g) > 1:
            i = np.where(np.abs(C[:, k] - g[i - 1]) <= np.abs(g[i] - C[:, k]), i - 1, i)
        C[:, k] = g[i]
    return C


def _candidates(
    d: int, grids: Sequence[NDArray[np.float64] | None], n: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """``(n, d)`` scrambled Sobol points; small discrete subspaces are fully enumerated."""
    R = qmc.Sobol(d, scramble=True, seed=rng).random(n)
    disc = [k for k, g in enumerate(grids) if g is not None]
    sizes = [len(grids[k]) for k in disc]  # type: ignore[arg-type]
    total = math.prod(sizes) if disc else 0
    if disc and total <= n // 2:
        mesh = np.meshgrid(*[grids[k] for k in disc], indexing="ij")
        combos: NDArray[np.float64] = np.stack(mesh, -1).reshape(-1, len(disc))
        R[:, disc] = combos[np.arange(n) % total]
    return R


_H = 1e-6  # central-difference step when no gradient is given
GTOL = 1e-2  # projected-gradient tolerance, in score units per unit of x / scales (Optuna's)


def _fd_grad(
    score: ScoreFn, P: NDArray[np.float64], mask: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Scores ``(k,)`` of ``P: (k, d)`` and central differences ``(k, d)`` on ``mask`` (else 0)."""
    rows, cols = np.nonzero(mask)
    plus, minus = P[rows].copy(), P[rows].copy()
    plus[np.arange(len(rows)), cols] += _H
    minus[np.arange(len(rows)), cols] -= _H
    s = score(np.vstack([P, plus, minus]))
    k, v = len(P), len(rows)
    grad = np.zeros_like(P)
    grad[rows, cols] = (s[k : k + v] - s[k + v :]) / (2 * _H)
    return s[:k], grad


BatchFn = Callable[
    [NDArray[np.intp], NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.float64]]
]


def _batched_lbfgsb(
    fun: BatchFn, Z0: NDArray[np.float64], upper: NDArray[np.float64], maxiter: int
) -> NDArray[np.float64]:
    """Independent L-BFGS-B minimizations from the rows of ``Z0: (k, p)`` over ``[0, upper]``.

    ``fun(idx: (j,), Z: (j, p)) -> (values (j,), gradients (j, p))`` evaluates the runs
    ``idx`` at their points ``Z``, all in one call. Each run is its own scipy L-BFGS-B (own
    curvature pairs, line search and stopping test) inside a greenlet that hands its next
    point back here, as Optuna's ``_gp/batched_lbfgsb.py`` does: starts converge
    independently while the caller pays one vectorized evaluation per round. Without
    greenlet installed the runs go one after another.
    """
    bounds = list(zip(np.zeros(len(upper)), upper, strict=True))
    opts = {"maxiter": maxiter, "gtol": GTOL}
    out = Z0.copy()
    if greenlet is None:
        for i in range(len(Z0)):

            def one_seq(z: NDArray[np.float64], i: int = i) -> tuple[float, NDArray[np.float64]]:
                v, g = fun(np.array([i]), z[None])
                return float(v[0]), g[0]

            out[i] = scipy.optimize.minimize(
                one_seq, Z0[i], jac=True, method="L-BFGS-B", bounds=bounds, options=opts
            ).x
        return out

    def run(i: int) -> None:
        def one(z: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
            v, g = greenlet.getcurrent().parent.switch((i, z))
            return float(v), g

        out[i] = scipy.optimize.minimize(
            one, Z0[i], jac=True, method="L-BFGS-B", bounds=bounds, options=opts
        ).x

    runs = [greenlet.greenlet(run) for _ in range(len(Z0))]
    asks = [g.switch(i) for i, g in enumerate(runs)]  # (index, point), or None once finished
    while True:
        live = [(g, a) for g, a in zip(runs, asks, strict=True) if a is not None]
        if not live:
            return out
        runs = [g for g, _ in live]
        values, grads = fun(np.array([a[0] for _, a in live]), np.array([a[1] for _, a in live]))
        asks = [g.switch((values[j], grads[j].copy())) for j, g in enumerate(runs)]


def _lbfgs_batch(
    P0: NDArray[np.float64],
    mask: NDArray[np.bool_],
    score: ScoreFn,
    score_grad: GradFn | None,
    maxiter: int,
    scales: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Maximize the score from each row of ``P0: (k, d)`` over its ``mask`` coordinates.

    The rows are independent local searches evaluated together (:func:`_batched_lbfgsb`);
    rows with different masks (conditional parameters) form separate groups. With ``scales
    (d,)`` (e.g. a GP's length scales) the search runs on ``x / scales``, which makes the
    problem about equally curved in every coordinate (Optuna's preconditioning).
    """
    scales = np.ones(P0.shape[1]) if scales is None else np.asarray(scales, dtype=float)
    P = P0.copy()
    for m in np.unique(mask, axis=0):
        if not m.any():
            continue
        rows = np.flatnonzero((mask == m).all(1))
        sc = scales[m]

        def neg(
            idx: NDArray[np.intp],
            Z: NDArray[np.float64],
            rows: NDArray[np.intp] = rows,
            m: NDArray[np.bool_] = m,
            sc: NDArray[np.float64] = sc,
        ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
            Q = P0[rows[idx]].copy()
            Q[:, m] = Z * sc
            s, g = (
                score_grad(Q)
                if score_grad is not None
                else _fd_grad(score, Q, np.broadcast_to(m, Q.shape))
            )
            ok = np.isfinite(s)
            return -np.where(ok, s, -1e10), -np.where(ok[:, None], g[:, m], 0.0) * sc

        Z = _batched_lbfgsb(neg, P0[np.ix_(rows, np.flatnonzero(m))] / sc, 1.0 / sc, maxiter)
        P[np.ix_(rows, np.flatnonzero(m))] = np.clip(Z * sc, 0.0, 1.0)
    return P


def _refine(
    X: NDArray[np.float64],
    s: NDArray[np.float64],
    score: ScoreFn,
    score_grad: GradFn | None,
    canonicalize: ScoreFn,
    grids: Sequence[NDArray[np.float64] | None],
    maxiter: int,
    scales: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Local search from raw points ``X: (k, d)`` scoring ``s: (k,)``; returns improved copies."""
    relax = np.array([g is None or len(g) > MAX_SWEEP_VALUES for g in grids])
    sweep = [k for k, g in enumerate(grids) if g is not None and len(g) <= MAX_SWEEP_VALUES]
    X, best = X.copy(), s.copy()
    for _ in range(3):
        improved = False
        C = canonicalize(X)
        mask = relax[None, :] & ~np.isnan(C)
        if mask.any():
            P = _lbfgs_batch(np.where(mask, X, C), mask, score, score_grad, maxiter, scales)
            cand = np.where(mask, P, X)
            sc = score(canonicalize(cand))
            better = sc > best
            X[better], best[better] = cand[better], sc[better]
            improved = bool(better.any())
        for i in range(len(X)) if sweep else ():
            for k in sweep:
                if np.isnan(canonicalize(X[i][None])[0, k]):
                    continue
                trial = np.repeat(X[i][None], len(grids[k]), 0)  # type: ignore[arg-type]
                trial[:, k] = grids[k]
                scores = score(canonicalize(trial))
                j = int(np.argmax(scores))
                if scores[j] > best[i] + 1e-12 * max(1.0, abs(best[i])):
                    X[i], best[i], improved = trial[j], scores[j], True
        if not improved or not sweep:
            break
    return X, best


def _pick_starts(s: NDArray[np.float64], k: int, rng: np.random.Generator) -> list[int]:
    """The best candidate plus ``k - 1`` drawn with probability ``exp(s - max s)`` (diverse)."""
    best = int(np.argmax(s))
    p = np.exp(np.where(np.isfinite(s), s - s[best], -np.inf))
    p[best] = 0.0
    k = min(k - 1, int(np.count_nonzero(p > 0)))
    if k <= 0:
        return [best]
    return [best, *(int(i) for i in rng.choice(len(s), size=k, replace=False, p=p / p.sum()))]


def maximize(
    score: ScoreFn,
    grids: Sequence[NDArray[np.float64] | None],
    rng: np.random.Generator,
    *,
    canonicalize: ScoreFn | None = None,
    score_grad: GradFn | None = None,
    starts: NDArray[np.float64] | None = None,
    is_new: Callable[[NDArray[np.float64]], bool] | None = None,
    n_candidates: int = 1024,
    n_local: int = 6,
    maxiter: int = 30,
    scales: NDArray[np.float64] | None = None,
) -> OptimizeResult:
    """Maximize ``score`` over the mixed unit cube.

    Args:
        score: ``(m, d)`` canonical points -> ``(m,)`` scores (larger is better; NaN inputs
            allowed).
        grids: per dimension, ``None`` (continuous) or the sorted allowed values ``(v_k,)``.
        rng: the only randomness used.
        canonicalize: ``(m, d)`` raw -> canonical points; defaults to snapping to ``grids``.
        score_grad: ``(m, d)`` -> scores ``(m,)`` and their gradients ``(m, d)``; central
            differences of ``score`` when None.
        starts: ``(k, d)`` raw points to refine besides the best candidates (e.g. incumbents).
        is_new: whether a canonical point may be returned (not evaluated, not pending).
        n_candidates: Sobol candidates (rounded up to a power of two).
        n_local: how many of the best candidates to refine locally.
        maxiter: L-BFGS-B iterations per refinement.
        scales: ``(d,)`` positive preconditioning scales of the continuous coordinates (a GP's
            length scales, capped at 1): the local search runs on ``x / scales``.

    Returns:
        The best acceptable canonical point ``(d,)`` and its score.
    """
    d = len(grids)
    canon: ScoreFn = canonicalize or (lambda R: snap_to_grids(R, grids))
    accept = is_new or (lambda c: True)
    n_candidates = 1 << max(1, math.ceil(math.log2(max(2, n_candidates))))
    R = _candidates(d, grids, n_candidates, rng)
    if starts is not None and len(starts):
        R = np.vstack([np.clip(np.nan_to_num(starts, nan=0.5), 0.0, 1.0), R])
    n_starts = 0 if starts is None else len(starts)
    s = score(canon(R))
    s = np.where(np.isfinite(s), s, -np.inf)
    local = np.array(
        list(range(n_starts)) + [i + n_starts for i in _pick_starts(s[n_starts:], n_local, rng)]
    )
    local = local[np.isfinite(s[local])]
    pool_R, pool_s = [R], [s]
    if len(local):
        Xr, sr = _refine(R[local], s[local], score, score_grad, canon, grids, maxiter, scales)
        pool_R.append(Xr)
        pool_s.append(sr)
    allR, alls = np.vstack(pool_R), np.concatenate(pool_s)
    for i in np.argsort(-alls, kind="stable")[:256]:
        c = canon(allR[i][None])[0]
        if accept(c):
            return OptimizeResult(c, float(alls[i]))
    for _ in range(8):  # everything good is taken: look further afield
        C = canon(rng.random((256, d)))
        sc = score(C)
        for i in np.argsort(-sc, kind="stable"):
            if accept(C[i]):
                return OptimizeResult(C[i], float(sc[i]))
    i = int(np.argmax(alls))
    return OptimizeResult(canon(allR[i][None])[0], float(alls[i]), exhausted=True)
