"""The strategies benchmarks/time_to_quality.py compares, each behind the replay's small interface.

hpo strategies call the real sampler and pruner objects with the histories and curves a
study's database would hold at that moment (``FrozenTrial`` lists, running trials with
their partial curves as *pending*), and the rng the worker would derive: the same code
path as ``Study.optimize`` minus the database. Peers use their documented multi-fidelity
setups: Optuna TPE + HyperbandPruner, Optuna GPSampler (no pruning), SMAC3
``MultiFidelityFacade`` (Hyperband intensifier), DEHB, and HEBO (full training, no pruning;
it runs in its own venv behind benchmarks/hebo_bridge.py). Budgets are epochs, 1..R (R = 27).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import subprocess
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np

from hpo.pruning import HyperbandPruner, NopPruner, Pruner, SuccessiveHalvingPruner
from hpo.samplers.base import Proposal, Sampler, ask_by_number, seed_sequence
from hpo.space import Categorical, Float, Int, SearchSpace
from hpo.trial import FrozenTrial, TrialState

_EPOCH = datetime(2000, 1, 1)  # trials' started_at: only their durations mean anything here


class HpoStrategy:
    """An hpo sampler + pruner, fed what the database would hold (finished and running trials).

    A finished trial's ``started_at``/``finished_at`` span the duration the harness reports
    through :meth:`trained` (live: the job's span on its worker's CPU timeline, training and
    pruning checks; replay: its simulated time), the field a study's database fills from
    claim to finish. ``phases`` counts the proposals by ``Proposal.info["phase"]``.
    """

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
        self.phases: Counter[str] = Counter()

    def _frozen(self, number: int) -> FrozenTrial:
        t = self.trials[number]
        duration = t.get("duration")
        return FrozenTrial(
            number=number,
            state=t["state"],
            params=t["params"],
            value=t["value"],
            intermediate=dict(t["curve"]),
            started_at=_EPOCH,
            finished_at=None if duration is None else _EPOCH + timedelta(seconds=duration),
            user_attrs=t["user_attrs"],
        )

    def trained(self, key: Any, seconds: float) -> None:
        """The harness's duration of the job ``key``, called just before :meth:`finish`."""
        self.trials[key]["duration"] = max(0.0, float(seconds))

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        number = len(self.trials)
        frozen = [self._frozen(n) for n in sorted(self.trials)]
        history = [t for t in frozen if t.state.is_finished]
        pending = [t for t in frozen if not t.state.is_finished]
        rng = seed_sequence(self.seed, number)
        if self.sampler.uses_history:
            raw = self.sampler.ask(self.space, history, pending, rng, "maximize")
        else:  # as a study's worker asks it: the trial number places Sobol / LHS points
            raw = ask_by_number(self.sampler, self.space, rng, "maximize", number)
        params = raw.params if isinstance(raw, Proposal) else dict(raw)
        info = raw.info if isinstance(raw, Proposal) else {}
        self.phases[str(info.get("phase", "none"))] += 1
        self.trials[number] = {
            "state": TrialState.RUNNING,
            "params": params,
            "value": None,
            "curve": {},
            # what a worker stores with the trial (e.g. the GP's kernel, which later asks
            # warm-start from): the replay feeds samplers what a database would hold
            "user_attrs": dict(info.get("user_attrs", {})),
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


def _mfgp(
    impute: str,
    random_fraction: float = 0.0,
    warm_start: bool = False,
    model_cpu_fraction: float | None = None,
) -> Callable[[int], Sampler]:
    """mf-gp; the ask budget is off unless given (the strategies measured before it existed)."""

    def make(seed: int) -> Sampler:
        from hpo.samplers.multifidelity import MultiFidelityGPSampler

        return MultiFidelityGPSampler(
            impute=impute,
            random_fraction=random_fraction,
            warm_start=warm_start,
            model_cpu_fraction=model_cpu_fraction,
            seed=seed,
        )

    return make


def _random(seed: int) -> Sampler:
    from hpo.samplers.random import RandomSampler

    return RandomSampler(seed=seed)


def _sobol(seed: int) -> Sampler:
    from hpo.samplers.random import RandomSampler

    return RandomSampler(method="sobol", seed=seed)


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
            # Optuna's HyperbandPruner picks a trial's bracket from a hash of the study name
            # and trial number; a random (unnamed) study made replays irreproducible
            study_name=f"ttq-{name}",
            direction="maximize",
            sampler=sampler,
            pruner=pruner or optuna.pruners.NopPruner(),
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
            assert isinstance(p, Float), f"{name}: {type(p).__name__} has no Optuna form"
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
            assert isinstance(p, Float), f"{name}: {type(p).__name__} has no ConfigSpace form"
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

        self.name, self.space, self.max_epochs = "smac-mf", space, max_epochs
        self._dir = tempfile.TemporaryDirectory(prefix="ttq-smac-")
        scenario = Scenario(
            to_configspace(space, seed),
            deterministic=True,
            n_trials=100_000,
            min_budget=1,
            max_budget=max_epochs,
            seed=seed,
            output_directory=Path(self._dir.name),
        )
        self.smac = MultiFidelityFacade(
            scenario,
            lambda config, seed=0, budget=1: 0.0,
            intensifier=MultiFidelityFacade.get_intensifier(scenario, eta=3),
            overwrite=True,
            logging_level=logging.ERROR,
        )
        self._worst: float | None = None  # the largest finite cost told so far

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        info = self.smac.ask()
        budget = self.max_epochs if info.budget is None else info.budget  # None: no fidelity
        return info, from_configspace(self.space, info.config), int(round(budget))

    def report(self, key: Any, epoch: int, value: float) -> bool:
        return False

    def finish(self, key: Any, state: str, value: float | None, epochs: int) -> None:
        """Tell SMAC the cost ``-value``; a failed or diverged (NaN) training is told as
        CRASHED with the worst cost so far (1e9 before any), as DEHB and HEBO are: an
        infinite cost made the log-scaled run-history encoder hand SMAC's random forest a
        NaN target, and the next model-based ask raised."""
        from smac.runhistory.dataclasses import TrialValue
        from smac.runhistory.enumerations import StatusType

        if value is not None and math.isfinite(value):
            cost = -float(value)
            self._worst = cost if self._worst is None else max(self._worst, cost)
            self.smac.tell(key, TrialValue(cost=cost))
        else:
            worst = 1e9 if self._worst is None else self._worst
            self.smac.tell(key, TrialValue(cost=worst, status=StatusType.CRASHED))


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


# ------------------------------------------------------------------ HEBO (own venv)
HEBO_VENV = Path(__file__).resolve().parent / ".venv-hebo"
HEBO_BRIDGE = Path(__file__).resolve().parent / "hebo_bridge.py"


def hebo_python() -> Path:
    """The interpreter that has HEBO: ``$HPO_HEBO_PYTHON`` or benchmarks/.venv-hebo's."""
    env = os.environ.get("HPO_HEBO_PYTHON")
    return Path(env) if env else HEBO_VENV / "bin" / "python"


@functools.cache
def _hebo_missing(python: str) -> str | None:
    if not Path(python).exists():
        return f"no HEBO interpreter at {python}; run scripts/ensure_hebo_venv.sh"
    try:
        done = subprocess.run(
            [python, "-c", "import hebo"], capture_output=True, text=True, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{python} cannot import hebo: {exc}"
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["?"]
        return f"{python} cannot import hebo ({last[0]}); run scripts/ensure_hebo_venv.sh"
    return None


def hebo_space(space: SearchSpace) -> list[dict[str, Any]]:
    """The hpo space as HEBO parameters: every parameter, conditional ones too.

    HEBO has no conditions, so a conditional parameter is always in its design space and
    its value is dropped when it is inactive (``from_hebo``): the proposal, the table
    lookup and the network ignore it, while HEBO's model sees a dimension without effect.
    Log scales map to HEBO's ``pow`` / ``pow_int``, categories to strings.
    """
    out: list[dict[str, Any]] = []
    for name, p in space.items():
        if isinstance(p, Categorical):
            out.append({"name": name, "type": "cat", "categories": [str(c) for c in p.choices]})
        elif isinstance(p, Int):
            kind = "pow_int" if p.log else "int"
            out.append({"name": name, "type": kind, "lb": int(p.low), "ub": int(p.high)})
        else:
            assert isinstance(p, Float), f"{name}: {type(p).__name__} has no HEBO form"
            kind = "pow" if p.log else "num"
            out.append({"name": name, "type": kind, "lb": float(p.low), "ub": float(p.high)})
        if out[-1]["type"].startswith("pow"):
            out[-1]["base"] = 10
    return out


def from_hebo(space: SearchSpace, x: dict[str, Any]) -> dict[str, Any]:
    """A HEBO suggestion back to hpo params: types restored, inactive parameters dropped."""
    params: dict[str, Any] = {}
    for name, p in space.items():  # parents come before the parameters they condition
        if not p.is_active(params):
            continue
        v = x[name]
        if isinstance(p, Categorical):
            params[name] = next(c for c in p.choices if str(c) == str(v))
        elif isinstance(p, Int):
            params[name] = min(max(int(round(float(v))), p.low), p.high)
        else:
            assert isinstance(p, Float)
            params[name] = min(max(float(v), p.low), p.high)
    return params


class HeboStrategy:
    """HEBO 0.3.6 (its default GP + MACE acquisition, 1 + d Sobol start-up points), full
    training, no pruning, in a subprocess of the HEBO venv (benchmarks/hebo_bridge.py).

    It minimizes, so it is told ``-score``. HEBO has no pending-point handling: the second
    worker's ask sees the same observations as the first (HEBO's own batch mode is
    synchronous). A diverged training is told the worst value observed so far (nothing
    before the first observation), HEBO's GP has no notion of failure.
    """

    pruned = False

    def __init__(self, space: SearchSpace, seed: int, max_epochs: int) -> None:
        why = unavailable("hebo")
        if why:
            raise RuntimeError(f"hebo: {why}")
        self.name, self.space, self.max_epochs = "hebo", space, max_epochs
        self._stderr: IO[bytes] = tempfile.TemporaryFile(prefix="ttq-hebo-")
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        env.pop("PYTHONPATH", None)  # the HEBO venv must not see hpo's site-packages
        self._proc = subprocess.Popen(
            [str(hebo_python()), str(HEBO_BRIDGE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
            env=env,
        )
        self._cpu = 0.0
        self._worst: float | None = None
        self._call({"op": "init", "space": hebo_space(space), "seed": seed})

    def _call(self, msg: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(json.dumps(msg) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise RuntimeError(f"hebo bridge exited: {self._stderr_tail()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"hebo bridge: {answer['error']}\n{self._stderr_tail()}")
        self._cpu = float(answer.get("cpu", self._cpu))
        return answer

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    def external_cpu(self) -> float:
        """The bridge's CPU seconds since its init, as of its last answer."""
        return self._cpu

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        answer = self._call({"op": "suggest"})
        return int(answer["id"]), from_hebo(self.space, answer["x"]), self.max_epochs

    def report(self, key: Any, epoch: int, value: float) -> bool:
        return False

    def finish(self, key: Any, state: str, value: float | None, epochs: int) -> None:
        if value is None or not np.isfinite(value):
            if self._worst is None:
                return
            y = self._worst
        else:
            y = -float(value)
            self._worst = y if self._worst is None else max(self._worst, y)
        self._call({"op": "observe", "id": int(key), "y": y})

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._stderr.close()

    def __del__(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()


def unavailable(name: str) -> str | None:
    """Why strategy ``name`` cannot run on this machine, or None (only HEBO can be missing)."""
    if name == "hebo":
        return _hebo_missing(str(hebo_python()))
    return None


STRATEGIES: dict[str, Callable[[SearchSpace, int, int], Any]] = {
    "hpo-mfgp-hb": _hpo("hpo-mfgp-hb", _mfgp("shift"), _hyperband),  # random_fraction 0
    "hpo-gp": _hpo("hpo-gp", _gp, lambda R: NopPruner()),
    # the recommended default from branch ttqdefault until branch costaware
    "hpo-gp-asha": _hpo("hpo-gp-asha", _gp, _asha),
    "hpo-gp-hb": _hpo("hpo-gp-hb", _gp, _hyperband),
    "hpo-mfgp-hb-noimpute": _hpo("hpo-mfgp-hb-noimpute", _mfgp("none"), _hyperband),
    # the recommended default until branch ttqdefault (benchmarks/README.md, "Choosing the
    # default by measurement")
    "hpo-mfgp-hb-rf": _hpo("hpo-mfgp-hb-rf", _mfgp("shift", 1 / 3), _hyperband),
    # ablation (issue 11): hpo-mfgp-hb-rf with the kernel fit warm-started from the
    # kernel stored with the latest proposal (the default on main before the fix)
    "hpo-mfgp-hb-rf-warm": _hpo(
        "hpo-mfgp-hb-rf-warm", _mfgp("shift", 1 / 3, warm_start=True), _hyperband
    ),
    # mf-gp with ASHA (branch ttqdefault): the learning-curve-aware sampler with the pruner that
    # made hpo-gp-asha the best hpo strategy end to end; with and without BOHB's random third
    "hpo-mfgp-asha-rf": _hpo("hpo-mfgp-asha-rf", _mfgp("shift", 1 / 3), _asha),
    "hpo-mfgp-asha": _hpo("hpo-mfgp-asha", _mfgp("shift"), _asha),  # random_fraction 0
    # branch costaware: MultiFidelityGPSampler's defaults (curves carried, 1/3 random, the GP
    # only while its CPU is under 10% of the training time) + the same ASHA as hpo-gp-asha
    "hpo-mfgp-asha-cost": _hpo("hpo-mfgp-asha-cost", _mfgp("shift", 1 / 3, False, 0.1), _asha),
    # ablation (ttqdefault): what hpo-gp-asha's GP adds; on short studies ASHA lets few trials
    # complete, so the GP's Sobol start-up design makes most of its proposals
    "random-asha": _hpo("random-asha", _random, _asha),
    # ... and its Sobol design alone: the same points as GPSampler's start-up (same engine, seed
    # and trial number), with no GP after the 10th completed trial
    "sobol-asha": _hpo("sobol-asha", _sobol, _asha),
    "random-hb": _hpo("random-hb", _random, _hyperband),
    "optuna-tpe-hb": _optuna_tpe_hb,
    "optuna-gp": _optuna_gp,
    "smac-mf": lambda space, seed, R: SmacStrategy(space, seed, R),
    "dehb": lambda space, seed, R: DehbStrategy(space, seed, R),
    "hebo": lambda space, seed, R: HeboStrategy(space, seed, R),
}
PEERS = ("optuna-tpe-hb", "optuna-gp", "smac-mf", "dehb", "hebo")
# MultiFidelityGPSampler() (ask budget 0.1) + SuccessiveHalvingPruner(1, 3): chosen live over
# 10 seeds by the rule in benchmarks/README.md, "Cost-aware mf-gp (branch costaware)"
RECOMMENDED = "hpo-mfgp-asha-cost"


def make_strategy(name: str, space: SearchSpace, seed: int, max_epochs: int) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return STRATEGIES[name](space, seed, max_epochs)


__all__ = [
    "STRATEGIES",
    "PEERS",
    "RECOMMENDED",
    "make_strategy",
    "unavailable",
    "hebo_space",
    "from_hebo",
    "to_configspace",
    "from_configspace",
    "suggest_optuna",
]
