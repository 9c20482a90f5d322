"""A trust region around the incumbent (TuRBO-style), rebuilt from the history on every ask.

TuRBO (Eriksson et al., 2019, "Scalable global optimization via local Bayesian
optimization") maximizes the acquisition only inside a box around the best point. The box's
side length doubles after ``success_tol`` consecutive improvements, halves after
``failure_tol`` consecutive non-improvements, and is reset when it falls below ``min_length``;
per dimension it is stretched in proportion to the GP's length scale (a long length scale,
a flat direction, gets a wide side), at equal volume.

TuRBO keeps that counter state in memory. Here it is *replayed* from the completed trials'
values in trial-number order (:func:`replay_length`), so the box is a pure function of the
history: a resumed study or a second worker computes the same box.

Why it exists (benchmarks/README.md, "GP robustness"): with the whole cube as search space
the EI maximizer follows near-linear trends of the posterior mean in long-length-scale
dimensions to a face of the cube; inside a box around the incumbent it refines the basin it
is in. It does not find other basins (it is local by design), so it is opt-in
(``GPSampler(trust_region=True)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hpo.samplers.gp.optimize import OptimizeResult, maximize

__all__ = ["TrustRegion", "replay_length", "trust_region_box", "maximize_in_box"]

INIT_LENGTH = 0.8  # TuRBO's defaults (unit cube)
MIN_LENGTH = 0.5**7
MAX_LENGTH = 1.6
SUCCESS_TOL = 3
IMPROVEMENT = 1e-3  # an improvement must beat the best by this many standard deviations of y


@dataclass(frozen=True)
class TrustRegion:
    """Side length of the box (geometric mean over dimensions) and how often it was reset."""

    length: float
    n_restarts: int


def replay_length(
    y: Sequence[float] | NDArray[np.float64],
    n_startup: int,
    d: int,
    *,
    init: float = INIT_LENGTH,
    min_length: float = MIN_LENGTH,
    max_length: float = MAX_LENGTH,
    success_tol: int = SUCCESS_TOL,
    failure_tol: int | None = None,
) -> TrustRegion:
    """Replay TuRBO's length schedule over the values ``y`` (larger is better, trial order).

    The first ``n_startup`` values only set the initial best; each later one is a success
    when it beats the best so far by more than ``IMPROVEMENT`` (in units of ``y``, which the
    sampler standardizes), else a failure. ``failure_tol`` defaults to TuRBO's ``max(4, d)``.
    """
    failure_tol = max(4, d) if failure_tol is None else failure_tol
    y = np.asarray(y, dtype=float)
    best = float(np.max(y[:n_startup])) if n_startup > 0 and len(y) else -math.inf
    length, succ, fail, restarts = init, 0, 0, 0
    for v in y[max(n_startup, 0) :]:
        if v > best + IMPROVEMENT:
            succ, fail = succ + 1, 0
        else:
            succ, fail = 0, fail + 1
        best = max(best, float(v))
        if succ == success_tol:
            length, succ = min(2.0 * length, max_length), 0
        elif fail == failure_tol:
            length, fail = length / 2.0, 0
        if length < min_length:
            length, restarts = init, restarts + 1
    return TrustRegion(length, restarts)


def trust_region_box(
    center: NDArray[np.float64],
    length_scales: NDArray[np.float64],
    length: float,
    boxed: NDArray[np.bool_],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(lo, hi)``, each ``(d,)``: the box of side ``length * w_k`` around ``center``.

    ``w_k = l_k / geomean(l)`` over the ``boxed`` dimensions (TuRBO's weights: the box has
    the volume of a cube of side ``length``); other dimensions (discrete ones, or a NaN
    centre coordinate) keep the whole range ``[0, 1]``. The box is clipped to the unit cube
    and always contains the (clipped) centre.
    """
    d = len(center)
    lo, hi = np.zeros(d), np.ones(d)
    use = np.asarray(boxed, dtype=bool) & np.isfinite(center)
    if not use.any():
        return lo, hi
    ls = np.asarray(length_scales, dtype=float)[use]
    w = ls / math.exp(float(np.mean(np.log(ls))))
    c = np.clip(center[use], 0.0, 1.0)
    lo[use] = np.clip(c - 0.5 * length * w, 0.0, 1.0)
    hi[use] = np.clip(c + 0.5 * length * w, 0.0, 1.0)
    return lo, hi


ScoreFn = Callable[[NDArray[np.float64]], NDArray[np.float64]]
GradFn = Callable[[NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.float64]]]


def maximize_in_box(
    score: ScoreFn,
    grids: Sequence[NDArray[np.float64] | None],
    rng: np.random.Generator,
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    *,
    canonicalize: ScoreFn,
    score_grad: GradFn | None = None,
    starts: NDArray[np.float64] | None = None,
    is_new: Callable[[NDArray[np.float64]], bool] | None = None,
    n_candidates: int = 1024,
    scales: NDArray[np.float64] | None = None,
) -> OptimizeResult:
    """:func:`hpo.samplers.gp.optimize.maximize` restricted to the box ``[lo, hi]``.

    The optimizer runs in box coordinates ``u`` in ``[0, 1]^d`` with ``x = lo + u (hi - lo)``
    (its candidates, local searches and fallbacks then all stay in the box); ``score``,
    ``is_new`` and the returned point are in the caller's coordinates. Dimensions with
    ``grids[k]`` set must have the whole range (``lo = 0, hi = 1``): their values are passed
    through unchanged.
    """
    span = np.asarray(hi, dtype=float) - np.asarray(lo, dtype=float)
    for k, g in enumerate(grids):
        if g is not None and (lo[k] != 0.0 or hi[k] != 1.0):
            raise ValueError(f"discrete dimension {k} must keep the whole range")
    safe = np.where(span > 0, span, 1.0)

    def to_x(U: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(lo + U * span, dtype=float)

    def canon_u(U: NDArray[np.float64]) -> NDArray[np.float64]:
        return canonicalize(to_x(U))

    def grad_u(U: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if score_grad is not None:
            v, g = score_grad(to_x(U))
            return v, g * span
        # central differences of the score in box coordinates (the optimizer's own fallback
        # would pass box coordinates to a score that expects the caller's)
        h = 1e-6
        U = np.asarray(U, dtype=float)
        m, d = U.shape
        steps = np.repeat(U[None], 2 * d, 0)
        for k in range(d):
            steps[k, :, k] += h
            steps[d + k, :, k] -= h
        s = score(to_x(np.vstack([U, steps.reshape(-1, d)]))).reshape(2 * d + 1, m)
        return s[0], ((s[1 : d + 1] - s[d + 1 :]) / (2 * h)).T

    starts_u = None
    if starts is not None and len(starts):
        starts_u = np.clip((np.asarray(starts, dtype=float) - lo) / safe, 0.0, 1.0)
    scales_u = None if scales is None else np.minimum(np.asarray(scales) / safe, 1.0)
    return maximize(
        score,
        grids,
        rng,
        canonicalize=canon_u,
        score_grad=grad_u,
        starts=starts_u,
        is_new=is_new,
        n_candidates=n_candidates,
        scales=scales_u,
    )
