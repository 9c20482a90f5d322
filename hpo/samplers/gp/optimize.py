"""Maximize a black-box score over a mixed unit cube (knows nothing about GPs).

Shapes: ``d`` dimensions; raw points ``R: (m, d)`` lie in ``[0, 1]^d``; ``canonicalize(R)``
maps them to *representable* points ``C: (m, d)`` (discrete coordinates snapped to their
allowed values, NaN where a coordinate does not apply, e.g. an inactive parameter);
``score(C) -> (m,)`` is what we maximize. ``grids[k]`` is ``None`` for a continuous
dimension, else the sorted ``(v_k,)`` allowed values of a discrete one.

Strategy:

1. Score many (digitally shifted) Sobol candidates (every combination of the discrete dimensions
   when there are few, so none is missed) plus the caller's starting points (incumbents).
2. From the best candidate, a few more drawn with probability ``exp(score - best)`` (diverse
   starts, as Optuna does) and the caller's starts, refine each: a box-constrained L-BFGS
   run per start over the continuous dimensions (and ordinal ones with many values, relaxed
   then rounded), preconditioned by the caller's ``scales``, with the caller's gradient or
   central differences, holding the discrete ones (and inactive ones) fixed. The runs are
   independent (own curvature pairs, line search and stopping test) but advance together as
   rows of one array, one vectorized evaluation per round
   (:mod:`hpo.samplers.gp.batch_lbfgs`). Then a coordinate sweep over each small discrete
   dimension trying all its values, for all starts at once; repeat while it improves.
3. Return the best point for which ``is_new(C_row)`` holds (a never-evaluated, non-pending
   configuration), falling back to fresh random points; if nothing new is found the space
   is treated as exhausted and the best point is returned with ``exhausted=True``.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import qmc

from hpo.samplers.gp.batch_lbfgs import minimize_batch

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


_SOBOL_BITS = 30  # scipy's default resolution


@functools.lru_cache(maxsize=8)
def _sobol_base(d: int, n: int) -> NDArray[np.uint64]:
    """``(n, d)`` unscrambled Sobol points as ``_SOBOL_BITS``-bit integers (cached, read-only)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n a power of two: no balance warning applies anyway
        pts = qmc.Sobol(d, scramble=False, bits=_SOBOL_BITS).random(n)
    out = np.round(pts * 2.0**_SOBOL_BITS).astype(np.uint64)
    out.flags.writeable = False
    return out


def _sobol(d: int, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """``(n, d)`` digitally shifted Sobol points (``n`` a power of two): each coordinate's
    bits XORed with one random word per dimension, so every point is uniform on the cube and
    the set keeps its net structure. scipy's scrambled Sobol (a random linear matrix scramble
    plus the shift) cost 0.45 ms per ask, a twentieth of a 100-trial ask, for candidates
    that are refined locally anyway."""
    shift = rng.integers(0, 1 << _SOBOL_BITS, size=d, dtype=np.uint64)
    return ((_sobol_base(d, n) ^ shift) * 2.0**-_SOBOL_BITS).astype(np.float64, copy=False)


def _candidates(
    d: int, grids: Sequence[NDArray[np.float64] | None], n: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """``(n, d)`` shifted Sobol points; small discrete subspaces are fully enumerated."""
    R = _sobol(d, n, rng)
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


def _lbfgs_batch(
    P0: NDArray[np.float64],
    mask: NDArray[np.bool_],
    score: ScoreFn,
    score_grad: GradFn | None,
    maxiter: int,
    scales: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Maximize the score from each row of ``P0: (k, d)`` over its ``mask`` coordinates.

    The rows are independent local searches advanced together, one vectorized evaluation
    per round (:func:`hpo.samplers.gp.batch_lbfgs.minimize_batch`); a row's unmasked
    coordinates (inactive conditional parameters, discrete ones) stay where they are. With
    ``scales (d,)`` (e.g. a GP's length scales) the search runs on ``x / scales``, which makes
    the problem about equally curved in every coordinate (Optuna's preconditioning).
    """
    scales = np.ones(P0.shape[1]) if scales is None else np.asarray(scales, dtype=float)
    if not mask.any():
        return P0.copy()

    every = bool(mask.all())  # all coordinates searched (a continuous space): no masking
    minus_scales = -scales

    def neg(
        idx: NDArray[np.intp], Z: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if every and score_grad is not None:
            s, g = score_grad(Z * scales)
            if np.count_nonzero(np.isfinite(s)) == len(s):  # .all(), without its wrapper
                return -s, g * minus_scales
            m = mask[idx]
        else:
            m = mask[idx]
            Q = Z * scales if every else np.where(m, Z * scales, P0[idx])
            s, g = score_grad(Q) if score_grad is not None else _fd_grad(score, Q, m)
        ok = np.isfinite(s)
        return -np.where(ok, s, -1e10), -np.where(ok[:, None] & m, g, 0.0) * scales

    Z0 = np.where(mask, P0, 0.0) / scales
    Z = minimize_batch(neg, Z0, 1.0 / scales, maxiter, fixed=~mask, gtol=GTOL)
    return np.where(mask, np.clip(Z * scales, 0.0, 1.0), P0)


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
        # Coordinate sweep: each row tries every value of each small discrete dimension in
        # turn. Rows are independent, so dimension by dimension over all rows at once is the
        # same walk as row by row, with one canonicalization and one score call per dimension.
        for k in sweep:
            rows = np.flatnonzero(~np.isnan(canonicalize(X)[:, k]))
            if not len(rows):
                continue
            g = grids[k]
            assert g is not None
            trial = np.repeat(X[rows], len(g), 0)
            trial[:, k] = np.tile(g, len(rows))
            scores = score(canonicalize(trial)).reshape(len(rows), len(g))
            j = np.argmax(scores, axis=1)
            top = scores[np.arange(len(rows)), j]
            up = top > best[rows] + 1e-12 * np.maximum(1.0, np.abs(best[rows]))
            if up.any():
                X[rows[up]] = trial.reshape(len(rows), len(g), -1)[np.flatnonzero(up), j[up]]
                best[rows[up]] = top[up]
                improved = True
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
        maxiter: L-BFGS iterations per refinement. Fewer would save optimizer rounds (the
            runs advance together, so the slowest sets the count) but cost search quality:
            ``2 d`` (10 at 4 dimensions) lost Rosenbrock-4 EI's normalized score 86.7 ->
            73-75 over 10 seeds (benchmarks/README.md, "Latency").
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
