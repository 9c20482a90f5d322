"""Many independent box-constrained L-BFGS minimizations, advanced together in numpy.

An acquisition optimizer refines ~8 starting points, each an independent local search over
a few coordinates. Running each as its own ``scipy.optimize.minimize(method="L-BFGS-B")``
(even with the evaluations shared, as Optuna's greenlet-based ``batched_lbfgsb`` does) spends
most of a proposal in the wrapper's per-iteration Python overhead, not in the objective.
Here every run is a row of one array: one call of the objective per round evaluates every
run still going, and the direction, projection, line search and stopping tests are array
operations over all runs at once.

Each run is a projected L-BFGS (Kelley's projected quasi-Newton on a box, as in L-BFGS-B
without its generalized Cauchy point): variables held at a bound with the gradient pushing
outwards (and variables the caller fixes) are left out of the two-loop recursion; the step
is projected back into the box; a backtracking Armijo search on the projected path accepts
it. Runs stop on their own, on the same tests as scipy's L-BFGS-B: projected gradient
(inf-norm) ``<= gtol``, relative decrease ``<= ftol``, or ``maxiter`` iterations.

Shapes: ``k`` runs, ``p`` variables; ``Z: (k, p)``; the box is ``[0, upper]`` with
``upper: (p,)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["minimize_batch", "BatchFn"]

BatchFn = Callable[
    [NDArray[np.intp], NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.float64]]
]
MEMORY = 10  # curvature pairs per run (scipy's default maxcor)
FTOL = 2.220446049250313e-09  # scipy's default: factr 1e7 times machine epsilon
C1 = 1e-4  # Armijo's sufficient-decrease constant (scipy's line search uses the same)
MAX_BACKTRACK = 20
# After a run's full step fails, its next LINE_BATCH halvings are evaluated in one call:
# the same step is accepted (the longest that passes, as one at a time), but a round where
# one run backtracks no longer costs the whole batch another call (per-call overhead is most
# of a call at a few rows): ~16 -> ~12 calls per acquisition search at 100 trials.
LINE_BATCH = 4


def _any(a: NDArray[Any]) -> bool:
    """``a.any()``: ``count_nonzero`` is a C call, ``ndarray.any`` a Python-level reduction
    that costs ~5x as much on these few-element arrays (~150 tests per acquisition search)."""
    return bool(np.count_nonzero(a))


def _all(a: NDArray[Any]) -> bool:
    """``a.all()``, as :func:`_any`."""
    return bool(np.count_nonzero(a) == a.size)


def _clip(a: NDArray[np.float64], upper: NDArray[np.float64]) -> NDArray[np.float64]:
    """``np.clip(a, 0, upper)`` as two ufunc calls: the same values without ``np.clip``'s
    Python-level dispatch, which costs more than the arithmetic on these few-row arrays."""
    return np.minimum(np.maximum(a, 0.0), upper)


def _projected_grad(
    x: NDArray[np.float64], g: NDArray[np.float64], upper: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``x - clip(x - g)``: zero where a bound stops the descent (scipy's pgtol measure)."""
    return x - _clip(x - g, upper)


@functools.lru_cache(maxsize=16)
def _upper_triangle(P: int) -> NDArray[np.bool_]:
    """``(P, P)`` mask of the upper triangle with the diagonal (cached, read-only)."""
    mask = np.triu(np.ones((P, P), bool))
    mask.flags.writeable = False
    return mask


def _direction(
    g: NDArray[np.float64],
    free: NDArray[np.bool_],
    S: NDArray[np.float64],
    Y: NDArray[np.float64],
    used: NDArray[np.bool_],
) -> NDArray[np.float64]:
    """``-H g`` on the free variables, ``H`` each run's L-BFGS inverse Hessian, batched.

    ``S, Y: (k, P, p)`` hold each run's curvature pairs, oldest first; ``used: (k, P)`` marks
    the slots that hold one (unused slots are zero). ``H`` is applied in the compact form of
    Byrd, Nocedal and Schnabel (1994): ``H = gamma I + [S gamma Y] W [S gamma Y]'`` with a
    ``2P x 2P`` middle matrix from ``R = triu(S'Y)``, ``D = diag(S'Y)`` and ``Y'Y``, so a
    round costs a few batched small solves rather than ``4P`` operations per pair (the
    two-loop recursion). ``gamma = s'y / y'y`` of the newest pair (1 without pairs).
    """
    q = np.where(free, g, 0.0)
    k, P = S.shape[:2]
    if P == 0:
        return -q
    SY = S @ Y.transpose(0, 2, 1)  # (k, P, P): s_i' y_j
    YY = Y @ Y.transpose(0, 2, 1)
    sy_last, yy_last = SY[:, -1, -1], YY[:, -1, -1]
    # unused slots are zero, so a run without pairs has yy_last == 0 and gamma 1
    gamma = np.ones(k)
    np.divide(sy_last, yy_last, out=gamma, where=yy_last > 0)
    R = np.where(_upper_triangle(P), SY, 0.0)
    R.reshape(k, P * P)[:, :: P + 1] += ~used  # unused slots (s'y = 0): identity rows
    a = (S @ q[:, :, None])[..., 0]  # (k, P)
    b = gamma[:, None] * (Y @ q[:, :, None])[..., 0]
    u = np.linalg.solve(R, a[..., None])[..., 0]  # R^-1 S'q
    Dsy = SY.reshape(k, P * P)[:, :: P + 1]  # s_i'y_i; zero in unused slots
    inner = Dsy * u + gamma[:, None] * (YY @ u[..., None])[..., 0] - b
    top = np.linalg.solve(R.transpose(0, 2, 1), inner[..., None])[..., 0]
    r = (
        gamma[:, None] * q
        + (top[:, None, :] @ S)[:, 0]
        - gamma[:, None] * (u[:, None, :] @ Y)[:, 0]
    )
    return -np.where(free, r, 0.0)


class _Curvature:
    """Each run's L-BFGS inverse Hessian ``H`` (its last ``MEMORY`` curvature pairs), kept as
    ``gamma A + B`` while no pair has been dropped.

    ``H q`` from the pairs (:func:`_direction`) costs two batched triangular solves and a
    dozen small products per round; most runs end within ``MEMORY`` iterations, and until
    then ``H`` is the BFGS recursion from ``gamma I`` over all its pairs:
    ``A <- V' A V``, ``B <- V' B V + rho s s'`` with ``V = I - rho y s'``, ``rho = 1 / s'y``,
    kept as one ``(k, 2, p, p)`` array, so ``H q`` is one batched matrix-vector product (the
    same matrix up to rounding). Once a run has more than ``MEMORY`` pairs, the rounds use
    the newest ``MEMORY`` pairs of each run again. ``capacity``: most pairs a run can get.
    """

    def __init__(self, k: int, p: int, capacity: int) -> None:
        self.S = np.zeros((k, capacity, p))  # every pair since the run's last reset, in order
        self.Y = np.zeros((k, capacity, p))
        self.n = np.zeros(k, int)  # pairs since the last reset
        self.AB = np.zeros((k, 2, p, p))
        self.AB[:, 0] = np.eye(p)
        self.gamma = np.ones(k)  # s'y / y'y of the newest pair
        self._window = np.arange(MEMORY) - MEMORY  # offsets of the newest MEMORY pairs
        self._rows, self._eye = np.arange(k), np.eye(p)
        self.pushes = 0  # calls of push: no run has more pairs than this
        # pairs not yet written into S and Y: (rows, slots, s, y) per push, in order; only
        # the compact form reads S and Y, and most searches never get there
        self._unwritten: list[tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]] = []

    def direction(
        self, g: NDArray[np.float64], free: NDArray[np.bool_] | None, live: NDArray[np.bool_]
    ) -> NDArray[np.float64]:
        """``-H g`` on the free variables of every run (see :func:`_direction`); ``free``
        None: every variable is free (no masking)."""
        if self.pushes <= MEMORY or _all(self.n[live] <= MEMORY):
            q = g if free is None else np.where(free, g, 0.0)
            r = (self.AB @ q[:, None, :, None])[..., 0]  # (k, 2, p): A q and B q
            d = self.gamma[:, None] * r[:, 0] + r[:, 1]
            return -d if free is None else -np.where(free, d, 0.0)
        if free is None:
            free = np.ones(g.shape, bool)
        for i, slots, s, y in self._unwritten:
            self.S[i, slots], self.Y[i, slots] = s, y
        self._unwritten.clear()
        npair = np.minimum(self.n, MEMORY)
        P = int(npair[live].max())
        idx = self.n[:, None] + self._window[MEMORY - P :]  # (k, P), oldest first
        used = idx >= 0
        at = np.maximum(idx, 0)[..., None]
        S = np.where(used[..., None], np.take_along_axis(self.S, at, axis=1), 0.0)
        Y = np.where(used[..., None], np.take_along_axis(self.Y, at, axis=1), 0.0)
        return _direction(g, free, S, Y, used)

    def reset(self, rows: NDArray[np.bool_]) -> None:
        """Forget the pairs of ``rows`` (``H = I``)."""
        self.n[rows], self.gamma[rows] = 0, 1.0
        self.AB[rows, 0], self.AB[rows, 1] = np.eye(self.AB.shape[-1]), 0.0

    def push(
        self,
        rows: NDArray[np.bool_],
        s: NDArray[np.float64],
        y: NDArray[np.float64],
        sy: NDArray[np.float64],
        yy: NDArray[np.float64],
    ) -> None:
        """Add the pair ``(s, y)`` (with ``s'y > 0``) to each run in ``rows``; ``s`` and ``y``
        are kept by reference until the compact form needs them: do not modify them."""
        self.pushes += 1
        # all runs at once (the usual case) through slices, else through the row indices
        at: slice | NDArray[np.intp]
        if _all(rows):
            i, at = self._rows, slice(None)
            sr, yr, syr, yyr = s, y, sy, yy
        else:
            i = at = np.nonzero(rows)[0]
            sr, yr, syr, yyr = s[i], y[i], sy[i], yy[i]
        self._unwritten.append((i, self.n[i], sr, yr))  # n[i]: a copy
        self.n[at] += 1
        self.gamma[at] = syr / yyr
        rho = (1.0 / syr)[:, None, None]
        V = self._eye - rho * yr[:, :, None] * sr[:, None, :]
        AB = V.transpose(0, 2, 1)[:, None] @ self.AB[at] @ V[:, None]
        AB[:, 1] += rho * sr[:, :, None] * sr[:, None, :]
        self.AB[at] = AB


@functools.lru_cache(maxsize=4)
def _halvings(line_batch: int) -> NDArray[np.intp]:
    """``arange(line_batch)`` (cached, read-only)."""
    h = np.arange(line_batch)
    h.flags.writeable = False
    return h


def _try_once(
    fun: BatchFn,
    j: NDArray[np.intp],
    x: NDArray[np.float64],
    f: NDArray[np.float64],
    g: NDArray[np.float64],
    d: NDArray[np.float64],
    t: NDArray[np.float64],
    hold: NDArray[np.bool_] | None,
    upper: NDArray[np.float64],
    x_new: NDArray[np.float64],
    f_new: NDArray[np.float64],
    g_new: NDArray[np.float64],
    accepted: NDArray[np.bool_],
    searching: NDArray[np.bool_],
) -> None:
    """One try ``x + t d`` for each run ``j`` (see :func:`_line_search`), updating its arrays.

    The usual round (every run's step descends and passes) skips the masked copies, and
    when every run tries, indexes by slices (views) instead of ``j`` (copies)."""
    at: slice | NDArray[np.intp] = slice(None) if len(j) == len(x) else j
    xj = x[at]
    xt = _clip(xj + t[at, None] * d[at], upper)
    if hold is not None:
        xt = np.where(hold[at], xj, xt)
    decrease = (g[at] * (xt - xj)).sum(1)
    moves = decrease < 0  # a projected step that does not descend ends the run's search
    if not _all(moves):
        searching[j[~moves]] = False
        j, xt, decrease = j[moves], xt[moves], decrease[moves]
        if not len(j):
            return
        at = j
    ft, gt = fun(j, xt)
    ok = np.isfinite(ft) & (ft <= f[at] + C1 * decrease)
    if not _all(ok):
        at = j = j[ok]
        xt, ft, gt = xt[ok], ft[ok], gt[ok]
    x_new[at], f_new[at], g_new[at] = xt, ft, gt
    accepted[at] = True
    searching[at] = False


def _line_search(
    fun: BatchFn,
    x: NDArray[np.float64],
    f: NDArray[np.float64],
    g: NDArray[np.float64],
    d: NDArray[np.float64],
    t: NDArray[np.float64],
    live: NDArray[np.bool_],
    fresh: NDArray[np.bool_],
    hold: NDArray[np.bool_] | None,
    upper: NDArray[np.float64],
    line_batch: int,
    x_new: NDArray[np.float64],
    f_new: NDArray[np.float64],
    g_new: NDArray[np.float64],
) -> NDArray[np.bool_]:
    """Backtracking Armijo search along each live run's projected path ``x + t d``.

    A run tries ``t, t/2, t/4, ...`` (at most ``MAX_BACKTRACK``) and takes the first that
    decreases enough (a non-finite value fails); it gives up when a projected step no longer
    descends. A run's first call tries ``t`` alone, or ``line_batch`` halvings at once when
    it is ``fresh`` (no curvature pairs: its step length is a guess that often fails); every
    later call tries its next ``line_batch`` halvings together. Of the tries in one call the
    longest passing one is taken, which is the step one-at-a-time halving would take.
    Writes accepted points, values and gradients into ``x_new, f_new, g_new`` (in place);
    returns which runs moved. ``hold``: variables that stay put, or None when there are none.
    """
    k, p = x.shape
    accepted = np.zeros(k, bool)
    searching = live.copy()
    tries = np.zeros(k, int)
    halvings = _halvings(line_batch)
    j = np.nonzero(live)[0]  # the first call: no run has tried yet
    several = fresh[j]
    while True:
        if not len(j):
            return accepted
        one = not _any(several)
        if not one:
            q = np.minimum(np.where(several, line_batch, 1), MAX_BACKTRACK - tries[j])
            one = q.max() == 1
        if one:
            # one try per run (most calls): the same arithmetic in 2-d arrays
            _try_once(fun, j, x, f, g, d, t, hold, upper, x_new, f_new, g_new, accepted, searching)
            if not _any(searching):
                return accepted
            t[j] *= 0.5
            tries[j] += 1
            j = np.nonzero(searching & (tries < MAX_BACKTRACK))[0]
            several = (tries[j] > 0) | fresh[j]
            continue
        want = halvings[None, : q.max()] < q[:, None]  # (len(j), Q): the tries of each run
        steps = t[j, None] * 0.5 ** halvings[None, : want.shape[1]]
        xj = x[j, None, :]
        xt = _clip(xj + steps[..., None] * d[j, None, :], upper)
        if hold is not None:
            xt = np.where(hold[j, None, :], xj, xt)
        decrease = (g[j, None, :] * (xt - xj)).sum(2)  # (len(j), Q)
        # a projected step that does not descend ends the run's search; tries past it are moot
        moves = np.cumprod((decrease < 0) | ~want, axis=1).astype(bool) & want
        rows, cols = np.nonzero(moves)
        hit = np.zeros(len(j), bool)
        if len(rows):
            ft, gt = fun(j[rows], xt[rows, cols])
            ok = np.isfinite(ft) & (ft <= f[j[rows]] + C1 * decrease[rows, cols])
            # the first passing try of each run (rows ascend, and cols within a row)
            r_ok = rows[ok]
            first = np.ones(len(r_ok), bool)
            first[1:] = r_ok[1:] != r_ok[:-1]
            pick = np.flatnonzero(ok)[first]
            rh = rows[pick]
            jh = j[rh]
            x_new[jh], f_new[jh], g_new[jh] = xt[rh, cols[pick]], ft[pick], gt[pick]
            accepted[jh] = True
            hit[rh] = True
        stop = hit | (moves.sum(1) < q)  # accepted, or a try did not descend
        searching[j[stop]] = False
        t[j] *= 0.5**q
        tries[j] += q
        j = np.nonzero(searching & (tries < MAX_BACKTRACK))[0]
        several = (tries[j] > 0) | fresh[j]


def minimize_batch(
    fun: BatchFn,
    Z0: NDArray[np.float64],
    upper: NDArray[np.float64],
    maxiter: int,
    *,
    fixed: NDArray[np.bool_] | None = None,
    gtol: float = 1e-2,
    ftol: float = FTOL,
    line_batch: int = LINE_BATCH,
) -> NDArray[np.float64]:
    """Minimize from each row of ``Z0: (k, p)`` over ``[0, upper]``; returns the ``(k, p)`` ends.

    ``fun(idx: (j,), Z: (j, p)) -> (values (j,), gradients (j, p))`` evaluates runs ``idx``
    at ``Z`` in one call. ``fixed: (k, p)`` marks variables a run must not move (they keep
    their ``Z0`` value; their gradient is ignored). Values should be finite: a non-finite
    value is treated as a failed step. ``line_batch``: step lengths a backtracking run tries
    per call after its first (see :func:`_line_search`); the iterates do not depend on it.
    """
    upper = np.asarray(upper, dtype=float)
    k, p = Z0.shape
    hold = np.zeros((k, p), bool) if fixed is None else np.asarray(fixed, dtype=bool)
    held = hold if _any(hold) else None  # None: skip every masking by ``hold``
    x = np.where(hold, Z0, _clip(Z0, upper))
    f, g = fun(np.arange(k), x)
    f, g = np.asarray(f, dtype=float).copy(), np.where(hold, 0.0, g)
    H = _Curvature(k, p, maxiter)
    iters = np.zeros(k, int)
    live = np.isfinite(f)
    eps = np.finfo(float).eps
    # Every array below covers all k runs (k is small: masking is cheaper than subsetting);
    # only the objective is called on the runs that need a value.
    while True:
        pg = _projected_grad(x, g, upper)
        if held is not None:
            pg = np.where(held, 0.0, pg)
        live &= (iters < maxiter) & (np.abs(pg).max(1) > gtol)
        if not _any(live):
            return x
        blocked = ((x <= 0.0) & (g > 0.0)) | ((x >= upper) & (g < 0.0))
        free = ~(blocked | held) if held is not None else ~blocked if _any(blocked) else None
        d = H.direction(g, free, live)
        bad = live & ~((g * d).sum(1) < 0)  # not a descent direction: forget the pairs, use -g
        if _any(bad):
            H.reset(bad)
            d[bad] = -g[bad] if free is None else -np.where(free[bad], g[bad], 0.0)
        # a run without pairs starts with a step of length 1 (as scipy's L-BFGS-B does)
        t = np.ones(k)
        if not _all(H.n):
            norm = np.sqrt((d * d).sum(1))
            t = np.where((H.n == 0) & (norm > 1.0), 1.0 / np.maximum(norm, 1.0), 1.0)
        x_new, f_new, g_new = x.copy(), f.copy(), g.copy()
        accepted = _line_search(
            fun, x, f, g, d, t, live, H.n < 4, held, upper, line_batch, x_new, f_new, g_new
        )
        iters += live
        live &= accepted  # a failed line search: the run has gone as far as it can
        if held is not None:
            g_new = np.where(held, 0.0, g_new)
        s, yv = x_new - x, g_new - g
        sy, yy = (s * yv).sum(1), (yv * yv).sum(1)
        push = accepted & (sy > eps * yy)
        if _any(push):
            H.push(push, s, yv, sy, yy)
        # relative decrease; a live run here was accepted, so its values are finite
        rel = (f - f_new) / np.maximum(np.maximum(np.abs(f), np.abs(f_new)), 1.0)
        live &= rel > ftol
        x, f, g = x_new, f_new, g_new
