"""Learning-curve-aware Bayesian optimization: a GP on the largest budget with enough data.

Hyperband (:class:`hpo.pruning.HyperbandPruner`) stops most trials after a few epochs, so
a GP that learns only from completed trials starves. This sampler follows BOHB's rule
(Falkner et al., 2018) with a GP instead of a TPE: it models the values reported at the
largest step (budget) ``b`` that at least ``min_points`` trials have reached, counting
completed, pruned *and running* trials, and asks :class:`GPSampler` for the next
configuration on that data.

Trials that stopped short of ``b`` (pruned, or still running) are not thrown away: their
partial curve is carried to ``b`` by the median shift ``v(b) - v(s)`` that the trials which
reached both steps showed (``impute="shift"``), a learning-curve model simple enough to be
a pure function of the stored curves. A pruned configuration therefore still tells the GP
that its region is poor, which per-budget models alone forget once the budget moves up.
Both rules, and BOHB's share of random proposals (``random_fraction``), were compared on the
tabular replay of real learning curves (benchmarks/time_to_quality.py; results and what they
do and do not show in benchmarks/README.md). Over 5 seeds on 4 tasks, 1/3 random proposals
gave a final median at least as good as none on every task (better on 3) and reached the best
peer's final median on 2 tasks where none did not, so it is the default; carrying curves
(``impute="shift"``) against the plain BOHB rule was within the seed-to-seed spread.
A single GP over configuration x budget (FABOLAS/BOCA style) was not built: it needs its own
acquisition optimization at a fixed budget, inside the GP package another change owns.

The GP's kernel is fitted from the prior's mode on every ask (``warm_start=False``), not
from the kernel stored with the latest proposal as :class:`GPSampler` does. That warm start
assumes the data are the previous fit's plus one trial and runs 5 L-BFGS-B steps; here the
targets change wholesale from ask to ask (the budget moves up, every carried curve moves with
the median shift, all are re-standardized). Measured on the replay (issue 11,
benchmarks/README.md "Time to quality"): 5 steps left the fit up to 7.7 nats of log marginal
likelihood (plus prior) short of a full fit, by more than 1 nat on 57 of 289 warm fits.
Over 30 seeds x 4 tasks the cold fit ended ahead of the warm one on 27 (task, seed) pairs
and behind on 18 (sign test p = 0.23); against the code of the original tables it was
behind on 23 pairs and ahead on 14, the warm start behind on 34 and ahead on 17. It costs
7-16% more CPU per ask (0.03-0.05 s).

Without a bound on its asks (branch ttqdefault, benchmarks/README.md "Choosing the default by
measurement"), with Hyperband or ASHA, this sampler ended behind the plain GP + ASHA on small
networks (0.01-0.03 s per pruned network). Its cost is not its own: under ASHA ten trials reach
epoch 1 at once, so nearly every ask after the first ten fits and optimizes the GP (0.02-0.03 s
CPU; about 80% of it :class:`GPSampler`'s acquisition optimization, 15% the kernel fit,
``budget_data`` negligible), while the plain GP waits for 10 *completed* trials and proposes a
Sobol design until then.

**Ask budget** (``model_cpu_fraction``, default 0.1; branch ``costaware``). The cost above is
bounded: the GP (kernel fit + acquisition optimization) makes a proposal only while the CPU
seconds all of the study's model proposals took so far are *below* ``model_cpu_fraction``
times the training time its finished trials took (``FrozenTrial.duration``, complete, pruned
and failed: the time from claim to finish, i.e. training and pruning checks). Otherwise the
proposal is the next point of the same scrambled Sobol design as the start-up phase (indexed by
the trial count, skipping configurations already tried), phase ``"design"``. Each model
proposal stores its own CPU cost (``time.process_time`` around fit + optimization) in its
trial's ``user_attrs`` (``MODEL_CPU_ATTR``), so the decision reads nothing but the database.
0.1 follows issue 14's overhead target, everything but training under 10% of a study's time.
Running trials' elapsed time is not counted: it depends on the clock at the ask, not on what
the database holds. ``None`` switches the budget off (every proposal after start-up and the
random share is the GP's, the behaviour before). With the budget and ASHA it became the
recommended network strategy: live over 10 seeds it reached Optuna TPE + Hyperband's final
median on 3 of 4 tasks against 1 for the plain GP + ASHA, 18% of its proposals from the GP
(benchmarks/README.md, "Cost-aware mf-gp"); the charged replay and a later 8-seed run beside
every peer went the other way (2 against 4, 1 against 2), so on small networks the two are
level, and this one is recommended because its model uses the curves. Its asks still cost
more in all than the plain GP's (10-21% of those runs' CPU against 3-10%, after the non-GP
asks were made cheaper): ``budget_data`` and the design run on every ask, GP or not, and
are outside the budget.

The budget keeps every decision a pure function of the database, but it makes the *sequence*
of a seeded study depend on measured times: two runs with the same seed propose the same
points only while the model is not used or the budget is off (``model_cpu_fraction=None``).

Every proposal is a pure function of ``(space, history with curves, pending, rng)`` and the
constructor arguments, like every sampler here, so parallel workers and resumed studies
need nothing but the database.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.samplers.base import Direction, Proposal, Sampler
from hpo.samplers.gp.sampler import KERNEL_ATTR, GPSampler
from hpo.samplers.sobol import sobol_points
from hpo.space import SearchSpace
from hpo.trial import FrozenTrial, TrialState

__all__ = ["MultiFidelityGPSampler", "BudgetData", "budget_data", "model_spend", "MODEL_CPU_ATTR"]

IMPUTE = ("shift", "none")
MODEL_CPU_ATTR = "model_cpu_s"  # user_attrs key: CPU seconds of this proposal's fit + optimization


@dataclass(frozen=True)
class BudgetData:
    """What the GP sees at one budget.

    Attributes:
        budget: the step whose values are modelled (None: no step has enough trials yet).
        observed: trials with a value at ``budget`` (value = that value), as COMPLETE trials.
        imputed: trials whose partial curve was carried to ``budget``, as COMPLETE trials.
        pending: running or waiting trials with nothing to carry (the GP's believers).
    """

    budget: int | None
    observed: list[FrozenTrial]
    imputed: list[FrozenTrial]
    pending: list[FrozenTrial]


def _finite_curve(trial: FrozenTrial) -> dict[int, float]:
    return {
        int(s): float(v)
        for s, v in trial.intermediate.items()
        if v is not None and math.isfinite(v)
    }


def _value_at(trial: FrozenTrial, curve: dict[int, float], step: int) -> float | None:
    """The trial's value at ``step``: reported there, or its final value if it completed earlier."""
    if step in curve:
        return curve[step]
    if (
        trial.state == TrialState.COMPLETE
        and trial.value is not None
        and math.isfinite(trial.value)
        and (not curve or max(curve) < step)
    ):
        return float(trial.value)  # finished (e.g. early-stopped) before this step: it stays there
    return None


def _as_complete(trial: FrozenTrial, value: float) -> FrozenTrial:
    """The trial as a COMPLETE one with ``value``; its user_attrs carry the GP's stored kernel."""
    return FrozenTrial(
        number=trial.number,
        state=TrialState.COMPLETE,
        params=dict(trial.params),
        value=value,
        user_attrs=trial.user_attrs,
    )


def _without_kernel(trial: FrozenTrial) -> FrozenTrial:
    """The trial without the GP kernel stored in its user_attrs (the GP then fits from scratch)."""
    if not trial.user_attrs or KERNEL_ATTR not in trial.user_attrs:
        return trial
    attrs = {k: v for k, v in trial.user_attrs.items() if k != KERNEL_ATTR}
    return dataclasses.replace(trial, user_attrs=attrs)


def budget_data(
    history: Sequence[FrozenTrial],
    pending: Sequence[FrozenTrial],
    *,
    min_points: int,
    impute: str = "shift",
) -> BudgetData:
    """Split trials into what the GP sees at the largest budget reached by ``min_points`` trials.

    Args:
        history: finished trials with their curves (``FrozenTrial.intermediate``).
        pending: RUNNING / WAITING trials with their curves so far.
        min_points: trials that must have a value at a budget for it to be modelled.
        impute: ``"shift"`` carries partial curves to the budget; ``"none"`` leaves them out
            (running trials then enter as pending).
    """
    trials = [t for t in (*history, *pending) if t.state != TrialState.FAILED]
    curves = {t.number: _finite_curve(t) for t in trials}
    steps = sorted({s for c in curves.values() for s in c})
    budget = None
    at: dict[int, float] = {}
    for step in reversed(steps):
        values = {
            t.number: v for t in trials if (v := _value_at(t, curves[t.number], step)) is not None
        }
        if len(values) >= min_points:
            budget, at = step, values
            break
    if budget is None:  # no curves (an objective that does not report) or too few trials
        done = [
            t
            for t in history
            if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)
        ]
        return BudgetData(None, done, [], [t for t in pending if t.state != TrialState.FAILED])
    observed = [_as_complete(t, at[t.number]) for t in trials if t.number in at]
    imputed: list[FrozenTrial] = []
    waiting: list[FrozenTrial] = []
    shifts: dict[int, float | None] = {}  # step -> median shift to the budget, once per step
    for t in trials:
        if t.number in at:
            continue
        curve = curves[t.number]
        carried = _carry(curve, budget, curves, at, shifts) if impute == "shift" and curve else None
        if carried is not None:
            imputed.append(_as_complete(t, carried))
        elif t.state in (TrialState.RUNNING, TrialState.WAITING):
            waiting.append(t)
    return BudgetData(budget, observed, imputed, waiting)


def _carry(
    curve: dict[int, float],
    budget: int,
    curves: dict[int, dict[int, float]],
    at: dict[int, float],
    memo: dict[int, float | None],
) -> float | None:
    """``v(s) + median(v'(budget) - v'(s))`` over trials with both; s = last step below budget.

    ``memo`` keeps each step's median shift for the other curves of the same call.
    """
    below = [s for s in curve if s < budget]
    if not below:
        return None
    s = max(below)
    if s not in memo:
        shifts = [at[n] - c[s] for n, c in curves.items() if n in at and s in c]
        memo[s] = float(np.median(shifts)) if len(shifts) >= 3 else None
    shift = memo[s]
    return None if shift is None else curve[s] + shift


def _model_cpu(trial: FrozenTrial) -> float:
    cost = trial.user_attrs.get(MODEL_CPU_ATTR) if trial.user_attrs else None
    if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not math.isfinite(cost):
        return 0.0
    return max(0.0, float(cost))


def model_spend(
    history: Sequence[FrozenTrial], pending: Sequence[FrozenTrial]
) -> tuple[float, float]:
    """``(model CPU s, training s)`` a study has spent, as its database holds them.

    Model CPU: the ``MODEL_CPU_ATTR`` of every trial, finished or not (a running trial's
    proposal has been paid for). Training: the duration of every finished trial that has one.
    """
    spent = sum(_model_cpu(t) for t in (*history, *pending))
    trained = sum(d for t in history if (d := t.duration) is not None and d > 0)
    return spent, trained


class MultiFidelityGPSampler(Sampler):
    """BOHB with a GP: learn from every trial's learning curve, pruned and running ones too.

    Pair it with ``pruner="asha"`` (or ``"hyperband"``): the pruner decides how many epochs a
    trial gets, this sampler decides which configuration to try next. With its default ask
    budget and ASHA it is the recommended strategy for network studies; see README
    ("Searching networks").

    Args:
        acquisition: as :class:`GPSampler` (``"ei"``, ``"ucb"``, ``"pi"``, ...).
        min_points: trials needed at a budget before the GP models it; before any budget has
            them, proposals are points of a scrambled Sobol sequence.
        impute: ``"shift"`` (default) or ``"none"`` (plain BOHB rule).
        random_fraction: share of proposals drawn uniformly at random instead (BOHB's default
            1/3, measured better than 0 here: see the module docstring); which trials are random
            is decided by the trial's ``rng``, so it stays a pure function of the trial number.
        warm_start: start each kernel fit from the kernel stored with the latest GP proposal
            (5 L-BFGS-B steps, :class:`GPSampler`'s rule) instead of a full fit from the prior's
            mode. Off by default: measured worse here, see the module docstring.
        model_cpu_fraction: the ask budget: the GP proposes only while the CPU its proposals
            took so far is below this fraction of the finished trials' training time; other
            proposals come from the Sobol design (see the module docstring). 0.1 is issue 14's
            target for everything but training; ``None`` switches the budget off.
        xi, beta, n_candidates: passed to :class:`GPSampler`.
        seed: scrambles the initial design.
    """

    name = "mf-gp"

    def __init__(
        self,
        acquisition: str = "ei",
        *,
        min_points: int = 10,
        impute: str = "shift",
        random_fraction: float = 1 / 3,
        warm_start: bool = False,
        model_cpu_fraction: float | None = 0.1,
        xi: float = 0.0,
        beta: float = 1.0,
        n_candidates: int = 1024,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed=seed)
        if isinstance(min_points, bool) or not isinstance(min_points, int) or min_points < 2:
            raise ConfigError(
                "The 'min_points' parameter of MultiFidelityGPSampler must be an int >= 2. "
                f"Got {min_points!r} instead."
            )
        if impute not in IMPUTE:
            raise ConfigError(
                f"The 'impute' parameter of MultiFidelityGPSampler must be one of {list(IMPUTE)}. "
                f"Got {impute!r} instead."
            )
        if (
            isinstance(random_fraction, bool)
            or not isinstance(random_fraction, (int, float))
            or not 0 <= random_fraction <= 1
        ):
            raise ConfigError(
                "The 'random_fraction' parameter of MultiFidelityGPSampler must be a number in "
                f"[0, 1]. Got {random_fraction!r} instead."
            )
        if not isinstance(warm_start, bool):
            raise ConfigError(
                "The 'warm_start' parameter of MultiFidelityGPSampler must be True or False. "
                f"Got {warm_start!r} instead."
            )
        if model_cpu_fraction is not None and (
            isinstance(model_cpu_fraction, bool)
            or not isinstance(model_cpu_fraction, (int, float))
            or not 0 <= model_cpu_fraction < math.inf
        ):
            raise ConfigError(
                "The 'model_cpu_fraction' parameter of MultiFidelityGPSampler must be a finite "
                f"number >= 0 or None (no budget). Got {model_cpu_fraction!r} instead."
            )
        self.acquisition = acquisition
        self.model_cpu_fraction = model_cpu_fraction
        self.random_fraction = random_fraction
        self.warm_start = warm_start
        self.min_points = min_points
        self.impute = impute
        self.xi = xi
        self.beta = beta
        self.n_candidates = n_candidates
        self._gp()  # validates the arguments it shares with GPSampler

    def _gp(self) -> GPSampler:
        # The prior mean stays at the values' mean whatever the acquisition (GPSampler's
        # "auto" makes it pessimistic for PI): that was measured on single-fidelity
        # problems only, and this sampler's time-to-quality tables were made without it.
        return GPSampler(
            self.acquisition,
            xi=self.xi,
            beta=self.beta,
            n_startup_trials=self.min_points,
            n_candidates=self.n_candidates,
            seed=self.seed,
            prior_mean_quantile=None,
        )

    def config(self) -> dict[str, Any]:
        return {
            "acquisition": self.acquisition,
            "min_points": self.min_points,
            "impute": self.impute,
            "random_fraction": self.random_fraction,
            "warm_start": self.warm_start,
            "model_cpu_fraction": self.model_cpu_fraction,
            "xi": self.xi,
            "beta": self.beta,
            "n_candidates": self.n_candidates,
            "seed": self.seed,
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
        history = sorted(history, key=lambda t: t.number)
        pending = sorted(pending, key=lambda t: t.number)
        data = budget_data(history, pending, min_points=self.min_points, impute=self.impute)
        model_points = [*data.observed, *data.imputed]
        if len(model_points) < self.min_points:
            return self._startup(space, len(history) + len(pending), (*history, *pending), rng)
        if self.random_fraction and rng.random() < self.random_fraction:
            return Proposal(space.sample(rng), info={"phase": "random", "budget": data.budget})
        if self.model_cpu_fraction is not None:
            spent, trained = model_spend(history, pending)
            if not spent < self.model_cpu_fraction * trained:  # over the ask budget: the design
                number = len(history) + len(pending)
                design = self._startup(space, number, (*history, *pending), rng)
                why = {"model_cpu_s": spent, "train_s": trained}
                return Proposal(
                    design.params, design.grid_id, {"phase": "design", "budget": data.budget, **why}
                )
        pending_points = data.pending
        if not self.warm_start:  # no stored kernel reaches the GP: it fits from scratch
            model_points = [_without_kernel(t) for t in model_points]
            pending_points = [_without_kernel(t) for t in pending_points]
        started = time.process_time()
        proposal = self._gp().ask(space, model_points, pending_points, rng, direction)
        cost = time.process_time() - started
        attrs = {**proposal.info.get("user_attrs", {}), MODEL_CPU_ATTR: round(max(cost, 0.0), 6)}
        info: dict[str, Any] = {
            **proposal.info,
            "phase": "mf-gp",
            "budget": data.budget,
            "n_observed": len(data.observed),
            "n_imputed": len(data.imputed),
            "user_attrs": attrs,
        }
        return Proposal(proposal.params, proposal.grid_id, info)

    def _startup(
        self,
        space: SearchSpace,
        number: int,
        trials: Sequence[FrozenTrial],
        rng: np.random.Generator,
    ) -> Proposal:
        """Point ``number`` of the seeded Sobol design, skipping configurations already tried."""
        if self.seed is None:
            draw = (space.sample(rng) for _ in range(64))
        else:
            seed = int(self.seed) % (2**63)
            draw = (space.decode(u) for u in sobol_points(len(space), seed, number, 64))
        # the first of 64 points not tried yet (else the first), decoded one at a time: most
        # asks take the first point, and decoding all 64 was most of a design ask's CPU
        first = params = next(draw)
        while any(t.params == params for t in trials):
            params = next(draw, first)
            if params is first:
                break
        return Proposal(params, info={"phase": "startup"})
