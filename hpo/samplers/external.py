"""Adapters to other libraries' samplers, kept stateless like ours.

:class:`OptunaSampler` rebuilds an in-memory Optuna study from ``history`` and ``pending`` on
every call, asks it for one trial and returns its params. Nothing survives between calls,
so resume and parallel workers behave as with any hpo sampler. A sampler that keeps state
in its trials' system attrs (CMA-ES: the generation, and the pickled optimizer once a
generation is told) gets them back: they are stored in the hpo trial's user attr
``optuna_system_attrs`` and handed to the rebuilt Optuna trials. Optuna is an optional
dependency, imported on first use.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.samplers.base import Direction, Proposal, Sampler
from hpo.space import Categorical, Float, Int, SearchSpace
from hpo.trial import FrozenTrial, TrialState

__all__ = ["OptunaSampler"]

SYSTEM_ATTRS = "optuna_system_attrs"  # user attr holding the Optuna sampler's per-trial state
_ALGORITHMS = {
    "tpe": "TPESampler",
    "cmaes": "CmaEsSampler",
    "gp": "GPSampler",
    "random": "RandomSampler",
}
_NEEDS = {"cmaes": "cmaes", "gp": "torch"}


def _import_optuna() -> Any:
    try:
        optuna = importlib.import_module("optuna")
    except ImportError as e:
        raise ConfigError(
            "OptunaSampler needs the 'optuna' package, which is not installed. "
            "Install it with `pip install optuna` (or hpo[bench])."
        ) from e
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna


class OptunaSampler(Sampler):
    """Optuna's TPE (or CMA-ES, GP, random) behind hpo's stateless sampler interface.

    Categorical choices are passed to Optuna as their indices, so any hpo choice (tuples
    included) works; conditional parameters are suggested only when active.

    Args:
        algorithm: ``"tpe"``, ``"cmaes"`` (needs the ``cmaes`` package), ``"gp"`` (needs
            ``torch``) or ``"random"``.
        seed: stored with the study; each call seeds Optuna from the ``rng`` it is given.
        **options: passed to the Optuna sampler's constructor (e.g. ``n_startup_trials=5``,
            ``multivariate=True``); must be JSON-able so the study can store them.

    Raises:
        ConfigError: unknown algorithm, missing optional package, or bad options.
    """

    name = "optuna"

    def __init__(self, algorithm: str = "tpe", *, seed: int | None = None, **options: Any) -> None:
        super().__init__(seed=seed)
        if algorithm not in _ALGORITHMS:
            raise ConfigError(
                f"The 'algorithm' parameter of OptunaSampler must be one of {sorted(_ALGORITHMS)}. "
                f"Got {algorithm!r} instead."
            )
        need = _NEEDS.get(algorithm)
        if need and importlib.util.find_spec(need) is None:
            raise ConfigError(
                f"OptunaSampler(algorithm={algorithm!r}) needs the '{need}' package, which is not "
                f"installed. Install it with `pip install {need}` or use algorithm='tpe'."
            )
        self.algorithm = algorithm
        self.options = dict(options)
        if "seed" in self.options:
            raise ConfigError("Give OptunaSampler's seed as seed=, not inside the options.")
        self._make(0)  # fail fast on bad options

    def config(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "seed": self.seed, **self.options}

    def _make(self, seed: int) -> Any:
        optuna = _import_optuna()
        cls = getattr(optuna.samplers, _ALGORITHMS[self.algorithm])
        try:
            return cls(seed=seed, **self.options)
        except TypeError as e:
            raise ConfigError(
                f"OptunaSampler(algorithm={self.algorithm!r}): bad option(s) "
                f"{sorted(self.options)}: {e}"
            ) from e

    def ask(
        self,
        space: SearchSpace,
        history: Sequence[FrozenTrial],
        pending: Sequence[FrozenTrial],
        rng: np.random.Generator,
        direction: Direction = "minimize",
    ) -> Proposal:
        """Rebuild an Optuna study from the trials and ask it for one trial."""
        optuna = _import_optuna()
        study = optuna.create_study(
            direction=direction, sampler=self._make(int(rng.integers(2**31 - 1)))
        )
        trials = [
            _to_optuna(optuna, space, t)
            for t in sorted((*history, *pending), key=lambda t: t.number)
        ]
        study.add_trials([t for t in trials if t is not None])
        trial = study.ask()
        params: dict[str, Any] = {}
        for name, p in space.items():
            if not p.is_active(params):
                continue
            if isinstance(p, Float):
                params[name] = trial.suggest_float(name, p.low, p.high, log=p.log, step=p.step)
            elif isinstance(p, Int):
                params[name] = trial.suggest_int(name, p.low, p.high, log=p.log, step=p.step)
            elif isinstance(p, Categorical):
                params[name] = p.choices[
                    trial.suggest_categorical(name, list(range(len(p.choices))))
                ]
        info: dict[str, Any] = {"phase": f"optuna-{self.algorithm}"}
        state = study.get_trials(deepcopy=False)[-1].system_attrs
        if state:  # CMA-ES keeps its generation and optimizer here: stored with our trial
            info["user_attrs"] = {SYSTEM_ATTRS: dict(state)}
        return Proposal(params, info=info)


def _distribution(optuna: Any, p: Any) -> Any:
    d = optuna.distributions
    if isinstance(p, Float):
        return d.FloatDistribution(p.low, p.high, log=p.log, step=p.step)
    if isinstance(p, Int):
        return d.IntDistribution(p.low, p.high, log=p.log, step=p.step)
    return d.CategoricalDistribution(list(range(len(p.choices))))


def _to_optuna(optuna: Any, space: SearchSpace, t: FrozenTrial) -> Any:
    """An ``optuna.trial.FrozenTrial`` for one of our trials (None when it cannot be mapped)."""
    states = optuna.trial.TrialState
    params, dists = {}, {}
    for name, value in t.params.items():
        if name not in space:
            return None
        p = space[name]
        params[name] = p.index(value) if isinstance(p, Categorical) else value
        dists[name] = _distribution(optuna, p)
    kwargs: dict[str, Any] = {
        "params": params,
        "distributions": dists,
        "system_attrs": t.user_attrs.get(SYSTEM_ATTRS),
    }
    if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value):
        kwargs.update(state=states.COMPLETE, value=float(t.value))
    elif t.state == TrialState.PRUNED:
        kwargs.update(
            state=states.PRUNED,
            intermediate_values={
                int(k): float(v) for k, v in t.intermediate.items() if math.isfinite(v)
            },
        )
    elif t.state in (TrialState.RUNNING, TrialState.WAITING):
        kwargs.update(state=states.RUNNING)
    else:
        kwargs.update(state=states.FAIL)
    try:
        return optuna.trial.create_trial(**kwargs)
    except ValueError:
        return None
