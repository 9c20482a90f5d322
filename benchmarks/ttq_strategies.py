"""The strategies benchmarks/time_to_quality.py compares, each behind the replay's small interface.

hpo strategies call the real sampler and pruner objects with the histories and curves a
study's database would hold at that moment (``FrozenTrial`` lists, running trials with
their partial curves as *pending*), and the rng the worker would derive: the same code
path as ``Study.optimize`` minus the database. Peers use their documented multi-fidelity
setups: Optuna TPE + HyperbandPruner, Optuna GPSampler (no pruning), SMAC3
``MultiFidelityFacade`` (Hyperband intensifier), DEHB. Budgets are epochs, 1..R (R = 27).
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from hpo.pruning import HyperbandPruner, NopPruner, Pruner, SuccessiveHalvingPruner
from hpo.samplers.base import Proposal, Sampler, seed_sequence
from hpo.space import Categorical, Int, SearchSpace
from hpo.trial import FrozenTrial, TrialState


class HpoStrategy:
    """An hpo sampler + pruner, fed what the database would hold (finished and running trials)."""

    pruned = True

    def __init__(
        self,
        name: str,
        space: SearchSpace,
        sampler: Sampler,
        pruner: Pruner,
        seed: int,
        max_epochs: int,
    ) -> None:
        self.name, self.space, self.sampler, self.pruner = name, space, sampler, pruner
        self.seed, self.max_epochs = seed, max_epochs
        self.trials: dict[int, dict[str, Any]] = {}

    def _frozen(self, number: int) -> FrozenTrial:
        t = self.trials[number]
        return FrozenTrial(
            number=number,
            state=t["state"],
            params=t["params"],
            value=t["value"],
            intermediate=dict(t["curve"]),
        )

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        number = len(self.trials)
        frozen = [self._frozen(n) for n in sorted(self.trials)]
        history = [t for t in frozen if t.state.is_finished]
        pending = [t for t in frozen if not t.state.is_finished]
        rng = seed_sequence(self.seed, number)
        raw = self.sampler.ask(self.space, history, pending, rng, "maximize")
        params = raw.params if isinstance(raw, Proposal) else dict(raw)
        self.trials[number] = {
            "state": TrialState.RUNNING,
            "params": params,
            "value": None,
            "curve": {},
        }
        return number, params, self.max_epochs

    def report(self, key: Any, epoch: int, value: float) -> bool:
        trial = self.trials[key]
        trial["curve"][epoch] = value
        if not self.pruner.wants_peers(epoch):
            return False
        states = {TrialState(s) for s in self.pruner.peer_states}
        peers = {n: t["curve"] for n, t in self.trials.items() if n != key and t["state"] in states}
        return self.pruner.prune_trial(key, epoch, trial["curve"], peers, maximize=True)

    def finish(self, key: Any, state: str, value: float | None, epochs: int) -> None:
        trial = self.trials[key]
        trial["state"], trial["value"] = TrialState(state), value


def _hpo(
    name: str, sampler: Callable[[int], Sampler], pruner: Callable[[int], Pruner]
) -> Callable[[SearchSpace, int, int], HpoStrategy]:
    return lambda space, seed, R: HpoStrategy(name, space, sampler(seed), pruner(R), seed, R)


def _gp(seed: int) -> Sampler:
    from hpo.samplers.gp.sampler import GPSampler

    return GPSampler(seed=seed)


def _mfgp(impute: str, random_fraction: float = 0.0) -> Callable[[int], Sampler]:
    def make(seed: int) -> Sampler:
        from hpo.samplers.multifidelity import MultiFidelityGPSampler

        return MultiFidelityGPSampler(impute=impute, random_fraction=random_fraction, seed=seed)

    return make


def _random(seed: int) -> Sampler:
    from hpo.samplers.random import RandomSampler

    return RandomSampler(seed=seed)


def _hyperband(R: int) -> Pruner:
    return HyperbandPruner(min_resource=1, max_resource=R, reduction_factor=3)


def _asha(R: int) -> Pruner:
    return SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)


# ------------------------------------------------------------------ Optuna
class OptunaStrategy:
    """An Optuna study driven with ask/tell; intermediate values go through ``trial.report``."""

    def __init__(
        self, name: str, space: SearchSpace, sampler: Any, pruner: Any, max_epochs: int
    ) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        self.name, self.space, self.max_epochs = name, space, max_epochs
        self.pruned = pruner is not None
        self.study = optuna.create_study(
            direction="maximize", sampler=sampler, pruner=pruner or optuna.pruners.NopPruner()
        )

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        trial = self.study.ask()
        return trial, suggest_optuna(trial, self.space), self.max_epochs

    def report(self, key: Any, epoch: int, value: float) -> bool:
        if not self.pruned:
            return False
        key.report(value, epoch)
        return bool(key.should_prune())

    def finish(self, key: Any, state: str, value: float | None, epochs: int) -> None:
        import optuna

        states = {
            "COMPLETE": optuna.trial.TrialState.COMPLETE,
            "PRUNED": optuna.trial.TrialState.PRUNED,
            "FAILED": optuna.trial.TrialState.FAIL,
        }
        self.study.tell(key, value if state == "COMPLETE" else None, state=states[state])


def suggest_optuna(trial: Any, space: SearchSpace) -> dict[str, Any]:
    """Define-by-run suggestion of an hpo space (a conditional parameter only when active)."""
    params: dict[str, Any] = {}
    for name, p in space.items():
        if not p.is_active(params):
            continue
        if isinstance(p, Categorical):
            params[name] = trial.suggest_categorical(name, list(p.choices))
        elif isinstance(p, Int):
            params[name] = trial.suggest_int(name, p.low, p.high, log=p.log)
        else:
            params[name] = trial.suggest_float(name, p.low, p.high, log=p.log)
    return params


def _optuna_tpe_hb(space: SearchSpace, seed: int, R: int) -> OptunaStrategy:
    import optuna

    return OptunaStrategy(
        "optuna-tpe-hb",
        space,
        optuna.samplers.TPESampler(seed=seed),
        optuna.pruners.HyperbandPruner(min_resource=1, max_resource=R, reduction_factor=3),
        R,
    )


def _optuna_gp(space: SearchSpace, seed: int, R: int) -> OptunaStrategy:
    import optuna

    return OptunaStrategy("optuna-gp", space, optuna.samplers.GPSampler(seed=seed), None, R)


# ------------------------------------------------------------------ ConfigSpace peers
def to_configspace(space: SearchSpace, seed: int) -> Any:
    """The hpo space in ConfigSpace (conditions as InConditions over the parent's values)."""
    from ConfigSpace import (
        CategoricalHyperparameter,
        ConfigurationSpace,
        InCondition,
        UniformFloatHyperparameter,
        UniformIntegerHyperparameter,
    )

    cs = ConfigurationSpace(seed=seed)
    hps: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, Categorical):
            hps[name] = CategoricalHyperparameter(name, [str(c) for c in p.choices])
        elif isinstance(p, Int):
            hps[name] = UniformIntegerHyperparameter(name, p.low, p.high, log=p.log)
        else:
            hps[name] = UniformFloatHyperparameter(name, p.low, p.high, log=p.log)
    cs.add(list(hps.values()))
    for name, p in space.items():
        for cond in p.conditions:
            parent = space[cond.parent]
            allowed = [v for v in parent.grid_values() if cond.holds({cond.parent: v})]
            values = [str(v) for v in allowed] if isinstance(parent, Categorical) else allowed
            cs.add(InCondition(hps[name], hps[cond.parent], values))
    return cs


def from_configspace(space: SearchSpace, config: Any) -> dict[str, Any]:
    """A ConfigSpace configuration back to hpo params (categories restored to their type)."""
    values = dict(config)
    out: dict[str, Any] = {}
    for name, p in space.items():
        if name not in values:
            continue
        v = values[name]
        out[name] = (
            next(c for c in p.choices if str(c) == str(v)) if isinstance(p, Categorical) else v
        )
    return out


class SmacStrategy:
    """SMAC3 MultiFidelityFacade (random forest + Hyperband intensifier), ask/tell."""

    pruned = False

    def __init__(self, space: SearchSpace, seed: int, max_epochs: int) -> None:
        from smac import MultiFidelityFacade, Scenario

        self.name, self.space = "smac-mf", space
        self._dir = tempfile.TemporaryDirectory(prefix="ttq-smac-")
        scenario = Scenario(
            to_configspace(space, seed),
            deterministic=True,
            n_trials=100_000,
            min_budget=1,
            max_budget=max_epochs,
            seed=seed,
            output_directory=self._dir.name,
        )
        self.smac = MultiFidelityFacade(
            scenario,
            lambda config, seed=0, budget=1: 0.0,
            intensifier=MultiFidelityFacade.get_intensifier(scenario, eta=3),
            overwrite=True,
            logging_level=logging.ERROR,
        )

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        info = self.smac.ask()
        return info, from_configspace(self.space, info.config), int(round(info.budget))

    def report(self, key: Any, epoch: int, value: float) -> bool:
        return False

    def finish(self, key: Any, state: str, value: float | None, epochs: int) -> None:
        from smac.runhistory.dataclasses import TrialValue

        cost = -value if value is not None else float("inf")
        self.smac.tell(key, TrialValue(cost=cost))


class DehbStrategy:
    """DEHB (differential evolution + Hyperband), ask/tell; it minimizes, so fitness = -score."""

    pruned = False

    def __init__(self, space: SearchSpace, seed: int, max_epochs: int) -> None:
        from dehb import DEHB

        self.name, self.space = "dehb", space
        self._dir = tempfile.TemporaryDirectory(prefix="ttq-dehb-")
        self.dehb = DEHB(
            cs=to_configspace(space, seed),
            min_fidelity=1,
            max_fidelity=max_epochs,
            eta=3,
            n_workers=1,
            seed=seed,
            output_path=self._dir.name,
            save_freq=None,
        )
        logging.getLogger("dehb").setLevel(logging.ERROR)

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        job = self.dehb.ask()
        config = job["config"]
        if isinstance(config, np.ndarray):  # older DEHB versions hand out the DE vector
            config = self.dehb.vector_to_configspace(config)
        return job, from_configspace(self.space, config), int(round(job["fidelity"]))

    def report(self, key: Any, epoch: int, value: float) -> bool:
        return False

    def finish(self, key: Any, state: str, value: float | None, epochs: int) -> None:
        fitness = -value if value is not None else 1e9
        self.dehb.tell(key, {"fitness": fitness, "cost": float(epochs)})


STRATEGIES: dict[str, Callable[[SearchSpace, int, int], Any]] = {
    "hpo-mfgp-hb": _hpo("hpo-mfgp-hb", _mfgp("shift"), _hyperband),  # random_fraction 0
    "hpo-gp": _hpo("hpo-gp", _gp, lambda R: NopPruner()),
    "hpo-gp-asha": _hpo("hpo-gp-asha", _gp, _asha),
    "hpo-gp-hb": _hpo("hpo-gp-hb", _gp, _hyperband),
    "hpo-mfgp-hb-noimpute": _hpo("hpo-mfgp-hb-noimpute", _mfgp("none"), _hyperband),
    "hpo-mfgp-hb-rf": _hpo(
        "hpo-mfgp-hb-rf", _mfgp("shift", 1 / 3), _hyperband
    ),  # the recommended default
    "random-hb": _hpo("random-hb", _random, _hyperband),
    "optuna-tpe-hb": _optuna_tpe_hb,
    "optuna-gp": _optuna_gp,
    "smac-mf": lambda space, seed, R: SmacStrategy(space, seed, R),
    "dehb": lambda space, seed, R: DehbStrategy(space, seed, R),
}
PEERS = ("optuna-tpe-hb", "optuna-gp", "smac-mf", "dehb")
RECOMMENDED = "hpo-mfgp-hb-rf"  # MultiFidelityGPSampler() defaults + HyperbandPruner(1, 27, 3)


def make_strategy(name: str, space: SearchSpace, seed: int, max_epochs: int) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return STRATEGIES[name](space, seed, max_epochs)


__all__ = [
    "STRATEGIES",
    "PEERS",
    "RECOMMENDED",
    "make_strategy",
    "to_configspace",
    "from_configspace",
    "suggest_optuna",
]
