"""hpo's GP as an Optuna sampler, driven by Optuna's own ask/tell and optimize(n_jobs=2)."""

from __future__ import annotations

import math

import optuna
import pytest

from hpo.errors import ConfigError
from hpo.integrations.optuna import GPSampler
from hpo.trial import TrialState as HPOTrialState

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    n = trial.suggest_int("n", -5, 5)
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    c = trial.suggest_categorical("c", ["a", "b", None])
    return (x - 1) ** 2 + (n + 2) ** 2 + math.log10(lr / 1e-2) ** 2 + (0 if c == "b" else 3)


def spy(sampler: GPSampler) -> list[tuple]:
    """Record every call to hpo's GP (history, pending) without changing what it returns."""
    calls: list[tuple] = []
    ask = sampler._gp.ask

    def recording(space, history, pending, rng, direction):
        calls.append((list(history), list(pending), direction))
        return ask(space, history, pending, rng, direction)

    sampler._gp.ask = recording  # type: ignore[method-assign, assignment]
    return calls


def test_startup_trials_then_hpo_gp_with_ask_and_tell():
    sampler = GPSampler(n_startup_trials=4, seed=0)
    calls = spy(sampler)
    study = optuna.create_study(sampler=sampler)
    for k in range(10):
        trial = study.ask()
        study.tell(trial, objective(trial))
        assert len(calls) == max(0, k + 1 - 4)  # Optuna's n_startup_trials convention
    history, pending, direction = calls[-1]
    assert direction == "minimize" and pending == []
    assert [h.number for h in history] == list(range(9))
    assert {type(h.params["c"]) for h in history} == {int}  # categorical choices as indices
    for t in study.trials:
        assert -5 <= t.params["x"] <= 5 and isinstance(t.params["n"], int)
        assert 1e-4 <= t.params["lr"] <= 1.0 and t.params["c"] in ("a", "b", None)


def test_running_trials_are_pending_for_the_gp():
    sampler = GPSampler(n_startup_trials=2, seed=1)
    calls = spy(sampler)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    for _ in range(2):
        t = study.ask()
        study.tell(t, -objective(t))
    first = study.ask()
    objective(first)  # suggested, not yet told: RUNNING
    second = study.ask()
    objective(second)
    _, pending, direction = calls[-1]
    assert direction == "maximize"
    assert [p.number for p in pending] == [first.number]
    assert pending[0].state == HPOTrialState.RUNNING
    assert second.params != first.params


def test_same_seed_same_trials():
    runs = []
    for _ in range(2):
        study = optuna.create_study(sampler=GPSampler(n_startup_trials=3, seed=7))
        study.optimize(objective, n_trials=7)
        runs.append([t.params for t in study.trials])
    assert runs[0] == runs[1]


@pytest.mark.slow
def test_optimize_with_two_threads_finds_the_minimum():
    sampler = GPSampler(n_startup_trials=8, seed=3)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=30, n_jobs=2)
    assert len(study.trials) == 30
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert study.best_value < 3.0  # random search's expected best over 30 trials is ~4.5
    assert study.best_params["c"] == "b"


def test_dynamic_parameters_fall_back_to_the_independent_sampler():
    def dynamic(trial):
        x = trial.suggest_float("x", -2, 2)
        if x > 0:
            return x + trial.suggest_int("extra", 0, 3)
        return -x

    sampler = GPSampler(n_startup_trials=3, seed=2)
    calls = spy(sampler)
    study = optuna.create_study(sampler=sampler)
    study.optimize(dynamic, n_trials=10)
    assert calls  # x (in every trial) came from the GP
    assert all(set(h.params) == {"x"} for h in calls[-1][0])
    assert all(0 <= t.params.get("extra", 0) <= 3 for t in study.trials)


def test_bad_options_and_multi_objective_are_refused():
    with pytest.raises(ConfigError, match=r"n_startup_trials.*-1"):
        GPSampler(n_startup_trials=-1)
    with pytest.raises(ConfigError, match="acquisition"):
        GPSampler(acquisition="best-guess")
    study = optuna.create_study(
        directions=["minimize", "minimize"], sampler=GPSampler(n_startup_trials=0)
    )
    study.tell(study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}), [1.0, 2.0])
    with pytest.raises(ConfigError, match="2 objectives"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=1, catch=())
