"""GPSampler: history -> Gaussian process -> acquisition -> next configuration.

Every proposal is a pure function of ``(space, history, pending, rng, direction)`` and the
constructor arguments: nothing is remembered between calls, so a resumed study or a second
worker proposes exactly what an uninterrupted single worker would.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import ThreadpoolController

from hpo.canonical import Canonicalizer, encode_rows
from hpo.samplers.base import Direction, Proposal, Sampler
from hpo.samplers.gp.acquisition import canonical_name, make_acquisition
from hpo.samplers.gp.model import GaussianProcess, KernelParams, fit_gp, fit_kernel_params
from hpo.samplers.gp.optimize import maximize, snap_to_grids
from hpo.samplers.gp.trust_region import maximize_in_box, replay_length, trust_region_box
from hpo.samplers.sobol import sobol_points
from hpo.space import Categorical, Float, Int, SearchSpace
from hpo.trial import FrozenTrial, TrialState
from hpo.validation import Constraint, Interval, Options, validate

__all__ = ["GPSampler"]

_CONSTRAINTS: dict[str, list[Constraint]] = {
    "n_startup_trials": [Interval(int, 0)],
    "max_fit_points": [Interval(int, 10)],
    "n_candidates": [Interval(int, 2)],
    "xi": [Interval(float, 0)],
    "beta": [Interval(float, 0)],
    "pending": [Options({"believer", "liar"})],
    "trust_region": [bool],
    "prior_mean_quantile": [None, Options({"auto"}), Interval(float, 0, 1)],
}

_COARSE = 64  # fitting sets larger than this start from a fit on this many points
WARM_MAXITER = 5  # L-BFGS-B steps from stored kernel parameters (one more trial each time)
# A warm fit also stops once an iteration gains less than this per point (relative to the
# per-point objective, ~1): 0.01 nats in all at 100 trials. Along a Hartmann-6 run the warm
# fits' later steps gain 1e-3..1e-2 nats in all, well inside the hyperparameters' posterior
# spread, and cost a likelihood evaluation (0.4 ms at 100 trials) plus scipy's overhead each.
WARM_FTOL = 1e-4
AUTO_PRIOR_MEAN_QUANTILE = 0.1  # prior_mean_quantile="auto" for PI
_PI = "ProbabilityOfImprovement"
KERNEL_ATTR = "gp_kernel"  # user_attrs key: log kernel parameters fitted for this proposal
MAX_GRID_VALUES = 4096  # discrete parameters with more values are treated as continuous + rounded
# Candidates are scored in blocks of about this many (row, training point) pairs: the posterior
# makes ~10 temporaries of that shape, and at 1026 x 100 (800 KB each) glibc hands them back
# to the kernel and page-faults them in again on every call; 16384 (128 KB) halves the time
# of scoring 1026 candidates on 100 trials (measured, one thread).
_CHUNK_ELEMENTS = 16384


class GPSampler(Sampler):
    """Bayesian optimization with a Gaussian-process surrogate.

    The first ``n_startup_trials`` proposals are points of a scrambled Sobol sequence
    (indexed by the number of trials that exist, so the design is reproducible). Afterwards
    a GP (Matérn-5/2 ARD, learned noise, :mod:`hpo.samplers.gp.model`) is fitted to the
    completed trials and the acquisition is maximized over the space
    (:mod:`hpo.samplers.gp.optimize`). Pending trials enter as *kriging believers* (the GP's
    own mean at them), so parallel workers spread out. Failed and pruned trials are left
    out of the GP, and no configuration already evaluated or pending is proposed again.

    Args:
        acquisition: ``"ei"``, ``"ucb"``, ``"pi"`` or a full class name
            (``"ExpectedImprovement"``, ``"LogExpectedImprovement"``, ...).
        xi: improvement margin of EI and PI, in standard deviations of the observed values
            (PI uses at least 0.01: with a noise-free fit a tiny step from the best point
            looks like a certain improvement, and PI would keep taking such steps).
        beta: exploration weight of UCB (``mean + sqrt(beta) * std``, in standard deviations).
        n_startup_trials: Sobol points before the GP takes over.
        pending: how RUNNING/WAITING trials enter the GP: ``"believer"`` (the GP's own
            mean, the default; measured better) or ``"liar"`` (the worst value seen).
        max_fit_points: above this many completed trials, kernel hyperparameters are fitted
            on a subset (the best quarter plus a random rest); the posterior uses them all.
        n_candidates: Sobol candidates scored per proposal before local refinement.
        seed: scrambles the initial design; ``None`` draws it from ``rng`` instead.
        trust_region: maximize the acquisition only inside a TuRBO-style box around the
            incumbent whose size is replayed from the history
            (:mod:`hpo.samplers.gp.trust_region`). Off by default: it converges faster in
            the basin the search is in (better mean rank with EI on the bo_suite problems,
            fewer proposals at a bound), but it is local and finds Hartmann-6's global
            optimum about as often (17 vs 15 of 30 seeds with EI), it is mixed with UCB,
            and the real-task tables were not re-run with it (benchmarks/README.md, "GP
            robustness").
        prior_mean_quantile: the GP's constant prior mean, as this quantile of the observed
            values counted from the worst (0 = the worst value seen); ``None`` puts it at
            their mean. ``"auto"`` (the default) is 0.1 for PI and ``None`` for EI and UCB.
            A pessimistic prior mean keeps the acquisition from exploring where nothing has
            been observed only because the prior's variance is largest there: on
            Hartmann-6 no EI proposal lands in a corner any more (146 of 500 did), and the
            synthetic suite's mean score rose 6-8 points for EI, UCB and PI; on the MLP
            tuning tasks it helped PI and not EI, hence "auto" (benchmarks/README.md,
            "Hartmann-6 and the MLP tasks again").
    """

    name = "gp"

    def __init__(
        self,
        acquisition: str = "ei",
        *,
        xi: float = 0.0,
        beta: float = 1.0,
        n_startup_trials: int = 10,
        pending: str = "believer",
        max_fit_points: int = 200,
        n_candidates: int = 1024,
        seed: int | None = None,
        trust_region: bool = False,
        prior_mean_quantile: float | str | None = "auto",
    ) -> None:
        super().__init__(seed=seed)
        canonical_name(acquisition)
        validate(_CONSTRAINTS, locals(), owner="GPSampler")
        self.acquisition = acquisition
        self.pending = pending
        self.xi = xi
        self.beta = beta
        self.n_startup_trials = n_startup_trials
        self.max_fit_points = max_fit_points
        self.n_candidates = n_candidates
        self.trust_region = trust_region
        self.prior_mean_quantile = prior_mean_quantile

    def config(self) -> dict[str, Any]:
        return {
            "acquisition": self.acquisition,
            "xi": self.xi,
            "beta": self.beta,
            "n_startup_trials": self.n_startup_trials,
            "pending": self.pending,
            "max_fit_points": self.max_fit_points,
            "n_candidates": self.n_candidates,
            "seed": self.seed,
            "trust_region": self.trust_region,
            "prior_mean_quantile": self.prior_mean_quantile,
        }

    def ask(
        self,
        space: SearchSpace,
        history: Sequence[FrozenTrial],
        pending: Sequence[FrozenTrial],
        rng: np.random.Generator,
        direction: Direction = "minimize",
    ) -> Proposal:
        """Propose the next configuration (see :meth:`hpo.samplers.base.Sampler.ask`)."""
        # Our matrices are small: multithreaded BLAS only adds overhead (20x measured on a
        # loaded 2-core box), so one thread, whatever the process was started with.
        with _blas_controller().limit(limits=1, user_api="blas"):
            return self._ask(space, history, pending, rng, direction)

    def _ask(
        self,
        space: SearchSpace,
        history: Sequence[FrozenTrial],
        pending: Sequence[FrozenTrial],
        rng: np.random.Generator,
        direction: Direction,
    ) -> Proposal:
        history = sorted(history, key=lambda t: t.number)
        pending = sorted(pending, key=lambda t: t.number)
        done = [
            t
            for t in history
            if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)
        ]
        encoded = _encode_trials(space, (*history, *pending))
        taken = {
            e.tobytes() if isinstance(e, np.ndarray) else e for e in encoded.values()
        }  # each configuration's _key, from its one encoding
        if len(done) < max(1, self.n_startup_trials):
            return self._startup(space, len(history) + len(pending), taken, rng)

        sign = 1.0 if direction == "maximize" else -1.0
        X = np.array([_row(space, t, encoded) for t in done])
        raw = sign * np.array([t.value for t in done], dtype=float)
        y = _standardize(raw)
        q = _resolve_prior_mean_quantile(self.prior_mean_quantile, self.acquisition)
        if q is not None:
            y = _shift_prior_mean(y, q)
        is_cat = np.array([isinstance(p, Categorical) for p in space.values()])
        fit_idx = None
        if len(y) > self.max_fit_points:
            top = np.argsort(-y, kind="stable")[: self.max_fit_points // 4]
            rest = np.setdiff1d(np.arange(len(y)), top)
            fit_idx = np.sort(
                np.r_[top, rng.choice(rest, self.max_fit_points - len(top), replace=False)]
            )
        stored = _stored_kernel((*history, *pending), len(space))
        gp = self._fit(X, y, is_cat, fit_idx, rng, stored)
        best = float(y.max())
        if pending:  # believer: each pending trial returns the GP's mean; liar: the worst value
            Xp = np.array([_row(space, t, encoded) for t in pending])
            believed = (
                gp.posterior(Xp)[0] if self.pending == "believer" else np.full(len(Xp), y.min())
            )
            gp = gp.condition_on(Xp, believed)
            best = max(best, float(believed.max()))

        acq = make_acquisition(self.acquisition, xi=self.xi, beta=self.beta, for_optimizer=True)

        n_train = len(gp.y_)

        def score(C: NDArray[np.float64]) -> NDArray[np.float64]:
            # the posterior in row blocks whose (rows, n) temporaries stay small (see
            # _CHUNK_ELEMENTS); the acquisition, elementwise, in one call over all rows
            step = max(1, _CHUNK_ELEMENTS // n_train)
            if len(C) <= step:
                mean, var = gp.posterior(C)
            else:
                blocks = [gp.posterior(C[i : i + step]) for i in range(0, len(C), step)]
                mean = np.concatenate([m for m, _ in blocks])
                var = np.concatenate([v for _, v in blocks])
            return acq(mean, np.sqrt(var), best)

        def score_grad(C: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
            # chain rule: GP gradients analytic (as a vector-Jacobian product); the
            # acquisition's partial derivatives in (mean, std) from its value_and_grad, or
            # central differences for a plain callable
            mean, var, vjp = gp.posterior_vjp(C)
            std = np.sqrt(var)
            if hasattr(acq, "value_and_grad"):
                value, a_m, a_s = acq.value_and_grad(mean, std, best)
            else:
                hm, hs = 1e-6, 1e-6 * std
                value = acq(mean, std, best)
                a_m = (acq(mean + hm, std, best) - acq(mean - hm, std, best)) / (2 * hm)
                a_s = (acq(mean, std + hs, best) - acq(mean, std - hs, best)) / (2 * hs)
            return value, vjp(a_m, a_s / (2 * std))  # d std = d var / (2 std)

        grids = _grids(space)
        # conditional: encode(decode(r)) per row, in numpy, bit for bit the same; the
        # conditional structure is worked out here, once per ask
        canonical = Canonicalizer(space) if any(p.conditions for p in space.values()) else None

        def canonicalize(R: NDArray[np.float64]) -> NDArray[np.float64]:
            return canonical(R) if canonical is not None else _snap(space, R, grids)

        starts = X[np.argsort(-y, kind="stable")[:2]]
        kwargs: dict[str, Any] = {
            "canonicalize": canonicalize,
            "score_grad": score_grad,
            "starts": starts,
            "is_new": lambda c: _key(space, space.decode(c)) not in taken,
            "n_candidates": self.n_candidates,
            "scales": np.minimum(1.0 / np.sqrt(gp.params_.inv_sq_ls), 1.0),
        }
        extra: dict[str, Any] = {}
        if self.trust_region:
            # replayed over the completed values in trial order (``done`` is sorted by number)
            region = replay_length(y, max(1, self.n_startup_trials), len(space))
            lo, hi = trust_region_box(
                X[int(np.argmax(y))],
                1.0 / np.sqrt(gp.params_.inv_sq_ls),
                region.length,
                np.array([g is None for g in grids]),
            )
            res = maximize_in_box(score, grids, rng, lo, hi, **kwargs)
            extra = {
                "trust_region_length": region.length,
                "trust_region_restarts": region.n_restarts,
            }
        else:
            res = maximize(score, grids, rng, **kwargs)
        info = {
            "phase": "gp",
            "acquisition": canonical_name(self.acquisition),
            "n_fit": len(y) if fit_idx is None else len(fit_idx),
            "exhausted": res.exhausted,
            "warm_start": stored is not None,
            **extra,
            "user_attrs": {KERNEL_ATTR: [round(float(v), 12) for v in gp.params_.to_theta()]},
        }
        return Proposal(space.decode(res.x), info=info)

    @staticmethod
    def _fit(
        X: NDArray[np.float64],
        y: NDArray[np.float64],
        is_cat: NDArray[np.bool_],
        fit_idx: NDArray[np.intp] | None,
        rng: np.random.Generator,
        stored: KernelParams | None = None,
    ) -> GaussianProcess:
        """Fit the GP: from ``stored`` parameters when a trial carries them, else from scratch.

        A warm start (the kernel fitted for the latest trial, read back from its
        ``user_attrs``) needs a few L-BFGS-B steps instead of a full fit. From scratch, above
        ``_COARSE`` fitting points the fit starts from a fit on a random subset: measured on
        400 Hartmann-6 points, fit on 200, that reaches a log marginal likelihood within 2
        nats of the direct fit in half the time.
        """
        if stored is not None:
            return fit_gp(
                X, y, is_cat, fit_idx=fit_idx, init=stored, maxiter=WARM_MAXITER, ftol=WARM_FTOL
            )
        rows = np.arange(len(y)) if fit_idx is None else fit_idx
        if len(rows) <= _COARSE:
            return fit_gp(X, y, is_cat, fit_idx=fit_idx)
        sub = np.sort(rng.choice(rows, _COARSE, replace=False))
        init = fit_kernel_params(X[sub], y[sub], is_cat)
        return fit_gp(X, y, is_cat, fit_idx=fit_idx, init=init, maxiter=10)

    def _startup(
        self, space: SearchSpace, number: int, taken: set[bytes], rng: np.random.Generator
    ) -> Proposal:
        """Point ``number`` of the seeded Sobol design (uniform from ``rng`` when unseeded)."""
        d = len(space)
        if self.seed is None:
            for _ in range(64):
                params = space.sample(rng)
                if _key(space, params) not in taken:
                    break
            return Proposal(params, info={"phase": "startup"})
        for u in sobol_points(d, int(self.seed) % (2**63), number, 64):  # skip points taken
            params = space.decode(u)
            if _key(space, params) not in taken:
                break
        return Proposal(params, info={"phase": "startup"})


def _standardize(raw: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(n,)`` values (larger is better) -> zero mean, unit standard deviation."""
    sd = raw.std()
    return (raw - raw.mean()) / (sd if sd > 0 else 1.0)


def _resolve_prior_mean_quantile(value: float | str | None, acquisition: str) -> float | None:
    """The quantile ``prior_mean_quantile`` stands for: ``"auto"`` is 0.1 for PI (measured
    better on every benchmark here) and ``None`` for EI and UCB (worse or level on the MLP
    tuning tasks); a number or ``None`` is itself."""
    if value != "auto":
        return None if value is None else float(value)
    return AUTO_PRIOR_MEAN_QUANTILE if canonical_name(acquisition) == _PI else None


def _shift_prior_mean(y: NDArray[np.float64], q: float) -> NDArray[np.float64]:
    """``y`` minus its ``q``-quantile: the zero-mean GP fitted to the result is a GP whose
    constant prior mean is that quantile of the observed values (``q = 0``: the worst).

    A pessimistic prior mean makes the regions far from every observation look as bad as
    the worse observations instead of average, so the acquisition stops spending
    evaluations on the cube's corners (where the zero-mean prior leaves the most variance).
    EI, PI and UCB only compare the posterior with ``best``, which moves with ``y``, so the
    shift changes the fit and nothing else.
    """
    return y - np.quantile(y, q)


@functools.lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def _stored_kernel(trials: Sequence[FrozenTrial], d: int) -> KernelParams | None:
    """Kernel parameters stored by this sampler on the highest-numbered trial that has them.

    Reading them from the trials (not from memory) keeps a proposal a pure function of the
    history: a resumed study or another worker sees the same stored values.
    """
    for t in sorted(trials, key=lambda t: t.number, reverse=True):
        theta = t.user_attrs.get(KERNEL_ATTR) if t.user_attrs else None
        if theta is None:
            continue
        try:
            arr = np.asarray(theta, dtype=float)
        except (TypeError, ValueError):
            continue
        if arr.shape == (d + 2,) and np.all(np.isfinite(arr)):
            return KernelParams.from_theta(arr)
    return None


def _encode(space: SearchSpace, params: dict[str, Any]) -> NDArray[np.float64] | bytes:
    """A configuration's encoding, or (params outside the space) the bytes of its repr."""
    try:
        return space.encode(params)
    except (ValueError, TypeError, KeyError):
        return repr(sorted(params.items())).encode()


def _encode_trials(
    space: SearchSpace, trials: Sequence[FrozenTrial]
) -> dict[int, NDArray[np.float64] | bytes]:
    """Each trial's :func:`_encode`, by trial number: all in one pass over the columns
    (:func:`hpo.canonical.encode_rows`, the same values), or trial by trial when some
    trial's params lie outside the space."""
    try:
        rows = encode_rows(space, [t.params for t in trials])
    except (ValueError, TypeError, KeyError):
        return {t.number: _encode(space, t.params) for t in trials}
    return {t.number: row for t, row in zip(trials, rows, strict=True)}


def _row(
    space: SearchSpace, trial: FrozenTrial, encoded: dict[int, NDArray[np.float64] | bytes]
) -> NDArray[np.float64]:
    """The trial's encoding computed once in ``_ask`` (encoding again raises if it failed)."""
    e = encoded[trial.number]
    return e if isinstance(e, np.ndarray) else space.encode(trial.params)


def _key(space: SearchSpace, params: dict[str, Any]) -> bytes:
    """Identity of a configuration: the bytes of its encoding (NaN for inactive parameters)."""
    e = _encode(space, params)
    return e.tobytes() if isinstance(e, np.ndarray) else e


def _grids(space: SearchSpace) -> list[NDArray[np.float64] | None]:
    """Allowed unit-cube values per parameter; ``None`` for continuous (or huge) ones."""
    grids: list[NDArray[np.float64] | None] = []
    for p in space.values():
        if isinstance(p, Categorical):
            grids.append(np.array([p.encode(c) for c in p.choices]))
        elif isinstance(p, Int) or (isinstance(p, Float) and p.step is not None):
            n = round((p.high - p.low) / p.step) + 1 if p.step else 0
            grids.append(
                np.array(sorted({p.encode(v) for v in p.grid_values()}))
                if 0 < n <= MAX_GRID_VALUES
                else None
            )
        else:
            grids.append(None)
    return grids


def _snap(
    space: SearchSpace, R: NDArray[np.float64], grids: Sequence[NDArray[np.float64] | None]
) -> NDArray[np.float64]:
    """Vectorized ``encode(decode(r))`` for spaces without conditions: ``(m, d)`` -> ``(m, d)``."""
    C = snap_to_grids(np.clip(R, 0.0, 1.0), grids)
    for k, p in enumerate(space.values()):
        if grids[k] is not None or isinstance(p, Float) and p.step is None:
            continue
        C[:, k] = [p.encode(p.decode(u)) for u in C[:, k]]  # huge discrete ranges: exact rounding
    return C
