"""hpo's Gaussian-process sampler inside Optuna: change one line of an Optuna script.

    study = optuna.create_study(sampler=hpo.integrations.optuna.GPSampler(acquisition="ei"))

The adapter follows Optuna's conventions for relative samplers (like Optuna's own
``GPSampler``): the first ``n_startup_trials`` completed trials come from the independent
sampler (random by default); afterwards the parameters of the *intersection* search space
(those every completed trial has, with the same distribution) are proposed together by
hpo's GP, and any other parameter (a dynamic, conditional one) falls back to the
independent sampler. RUNNING trials are passed to hpo's GP as pending, so parallel
``optimize(n_jobs=...)`` workers spread out.

The GP is used only through its public interface, ``hpo.samplers.GPSampler.ask(space,
history, pending, rng, direction)``: each call converts Optuna's trials into hpo's
:class:`~hpo.trial.FrozenTrial` and Optuna's distributions into an hpo search space
(categorical choices become their indices, so any Optuna choice works).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.samplers.base import Direction
from hpo.samplers.gp.sampler import GPSampler as _HPOGPSampler
from hpo.space import Categorical, Float, Int, SearchSpace
from hpo.trial import FrozenTrial as HPOFrozenTrial
from hpo.trial import TrialState as HPOTrialState

try:
    import optuna
    from optuna.distributions import (
        BaseDistribution,
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )
    from optuna.samplers import BaseSampler, RandomSampler
    from optuna.search_space import IntersectionSearchSpace
    from optuna.trial import FrozenTrial, TrialState
except ImportError as e:  # pragma: no cover - exercised only without optuna
    raise ConfigError(
        "hpo.integrations.optuna needs the 'optuna' package, which is not installed. "
        "Install it with `pip install 'hpo[optuna]'`."
    ) from e

__all__ = ["GPSampler", "to_hpo_space"]

_STATES = {
    TrialState.COMPLETE: HPOTrialState.COMPLETE,
    TrialState.PRUNED: HPOTrialState.PRUNED,
    TrialState.FAIL: HPOTrialState.FAILED,
    TrialState.RUNNING: HPOTrialState.RUNNING,
    TrialState.WAITING: HPOTrialState.WAITING,
}


def to_hpo_space(distributions: dict[str, BaseDistribution]) -> SearchSpace:
    """An hpo search space for Optuna distributions (categorical choices -> their indices)."""
    params: dict[str, Any] = {}
    for name, d in distributions.items():
        if isinstance(d, FloatDistribution):
            params[name] = Float(d.low, d.high, log=d.log, step=d.step)
        elif isinstance(d, IntDistribution):
            params[name] = Int(d.low, d.high, log=d.log, step=d.step)
        elif isinstance(d, CategoricalDistribution):
            params[name] = Categorical(list(range(len(d.choices))))
        else:
            raise ConfigError(
                f"Parameter {name!r} has an Optuna distribution hpo cannot model: "
                f"{type(d).__name__}. Use Float/Int/CategoricalDistribution."
            )
    return SearchSpace(params)


class GPSampler(BaseSampler):
    """An ``optuna.samplers.BaseSampler`` that proposes with hpo's Gaussian process.

    Args:
        acquisition: ``"ei"``, ``"ucb"``, ``"pi"`` or a full class name of hpo's acquisitions.
        n_startup_trials: completed trials sampled by ``independent_sampler`` before the GP
            takes over (Optuna's convention; default 10 as in Optuna's GPSampler).
        independent_sampler: samples the startup trials and parameters outside the
            intersection search space (default ``optuna.samplers.RandomSampler(seed)``).
        seed: seeds this sampler's proposals and the default independent sampler.
        **gp_options: passed to :class:`hpo.samplers.GPSampler` (``xi``, ``beta``,
            ``pending``, ``n_candidates``, ``max_fit_points``).

    Raises:
        ConfigError: bad acquisition or option (from hpo's GPSampler, named), or a
            multi-objective study (hpo's GP models one objective).
    """

    def __init__(
        self,
        acquisition: str = "ei",
        *,
        n_startup_trials: int = 10,
        independent_sampler: BaseSampler | None = None,
        seed: int | None = None,
        **gp_options: Any,
    ) -> None:
        if (
            isinstance(n_startup_trials, bool)
            or not isinstance(n_startup_trials, int)
            or n_startup_trials < 0
        ):
            raise ConfigError(
                f"The 'n_startup_trials' parameter of GPSampler must be an int >= 0. "
                f"Got {n_startup_trials!r} instead."
            )
        if "n_startup_trials" in gp_options or "seed" in gp_options:
            raise ConfigError("Give GPSampler's n_startup_trials and seed as its own arguments.")
        # the GP itself starts at once: Optuna's startup is done by the independent sampler
        self._gp = _HPOGPSampler(acquisition, n_startup_trials=0, **gp_options)
        self._n_startup_trials = n_startup_trials
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._rng = np.random.RandomState(seed)
        self._search_space = IntersectionSearchSpace()

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._independent_sampler.reseed_rng()

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {
            name: d for name, d in self._search_space.calculate(study).items() if not d.single()
        }

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        if len(study.directions) > 1:
            raise ConfigError(
                "hpo.integrations.optuna.GPSampler supports single-objective studies; "
                f"this study has {len(study.directions)} objectives."
            )
        trials = study.get_trials(deepcopy=False)
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        if len(complete) < self._n_startup_trials:
            return {}
        space = to_hpo_space(search_space)
        history = [h for t in trials if t.state.is_finished() and (h := _to_hpo(t, search_space))]
        pending = [
            h
            for t in trials
            if t.state == TrialState.RUNNING
            and t.number != trial.number
            and (h := _to_hpo(t, search_space))
        ]
        if not any(h.state == HPOTrialState.COMPLETE for h in history):
            return {}
        direction: Direction = (
            "maximize" if study.direction == optuna.study.StudyDirection.MAXIMIZE else "minimize"
        )
        rng = np.random.default_rng(self._rng.randint(2**31 - 1))
        proposal = self._gp.ask(space, history, pending, rng, direction)
        params = proposal.params
        return {name: _from_hpo(search_space[name], params[name]) for name in search_space}

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._independent_sampler.sample_independent(
            study, trial, param_name, param_distribution
        )

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._independent_sampler.before_trial(study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._independent_sampler.after_trial(study, trial, state, values)


def _to_hpo(t: FrozenTrial, space: dict[str, BaseDistribution]) -> HPOFrozenTrial | None:
    """hpo's view of an Optuna trial over ``space``; None when it lacks a parameter of it."""
    params: dict[str, Any] = {}
    for name, d in space.items():
        if name not in t.params or t.distributions.get(name) != d:
            return None
        value = t.params[name]
        params[name] = (
            int(d.to_internal_repr(value)) if isinstance(d, CategoricalDistribution) else value
        )
    value = t.value if t.state == TrialState.COMPLETE else None
    if value is not None and not math.isfinite(value):
        return HPOFrozenTrial(number=t.number, state=HPOTrialState.FAILED, params=params)
    return HPOFrozenTrial(number=t.number, state=_STATES[t.state], params=params, value=value)


def _from_hpo(d: BaseDistribution, value: Any) -> Any:
    if isinstance(d, CategoricalDistribution):
        return d.choices[int(value)]
    if isinstance(d, IntDistribution):
        return int(value)
    return float(value)
