"""GPSampler: search quality, every parameter type, purity, pending/failed trials, direction."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import pytest

from hpo.errors import ConfigError
from hpo.samplers import GPSampler, RandomSampler, sampler_from_config
from hpo.samplers.base import Proposal, seed_sequence
from hpo.samplers.gp.sampler import KERNEL_ATTR
from hpo.space import Categorical, Float, Int, SearchSpace
from hpo.trial import FrozenTrial, TrialState

BRANIN = SearchSpace({"x": Float(-5.0, 10.0), "y": Float(0.0, 15.0)})
QUAD = SearchSpace({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})


def branin(p: dict[str, float]) -> float:
    x, y = p["x"], p["y"]
    return (
        (y - 5.1 / (4 * math.pi**2) * x**2 + 5 / math.pi * x - 6) ** 2
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x)
        + 10
    )


def quad(p: dict[str, float]) -> float:
    return (p["x"] - 0.3) ** 2 + (p["y"] - 0.7) ** 2


def done(
    number: int,
    params: dict[str, Any],
    value: float | None,
    state: TrialState = TrialState.COMPLETE,
) -> FrozenTrial:
    return FrozenTrial(number=number, state=state, params=params, value=value)


def params_of(p: Proposal | dict[str, Any]) -> dict[str, Any]:
    return p.params if isinstance(p, Proposal) else p


def optimize(
    sampler: Any,
    space: SearchSpace,
    f: Callable[[dict[str, Any]], float],
    n: int,
    seed: int = 0,
    direction: str = "minimize",
) -> list[FrozenTrial]:
    history: list[FrozenTrial] = []
    for i in range(n):
        prop = sampler.ask(space, history, [], seed_sequence(seed, i), direction)
        p = params_of(prop)
        attrs = prop.info.get("user_attrs", {}) if isinstance(prop, Proposal) else {}
        history.append(
            FrozenTrial(number=i, state=TrialState.COMPLETE, params=p, value=f(p), user_attrs=attrs)
        )  # as storage keeps them
    return history


def test_beats_random_search_on_branin_in_40_evaluations() -> None:
    gp = min(cast(float, t.value) for t in optimize(GPSampler(seed=0), BRANIN, branin, 40))
    rnd = min(cast(float, t.value) for t in optimize(RandomSampler(seed=0), BRANIN, branin, 40))
    assert gp < 0.45 < rnd  # the minimum is 0.3979


MIXED = SearchSpace(
    {
        "lr": Float(1e-5, 1e-1, log=True),
        "dropout": Float(0.0, 0.5, step=0.1),
        "units": Int(8, 512, log=True),
        "layers": Int(1, 4),
        "batch": Int(16, 128, step=16),
        "act": Categorical(["relu", "tanh", ("leaky", 0.1)]),
        "width2": Int(8, 64, when=("layers", ">=", 2)),
        "opt": Categorical(["adam", "sgd"]),
        "momentum": Float(0.0, 0.99, when={"opt": "sgd"}),
    }
)


def mixed_objective(p: dict[str, Any]) -> float:
    act = {"relu": 0.0, "tanh": 0.3, ("leaky", 0.1): 0.1}[p["act"]]
    v = (
        (math.log10(p["lr"]) + 3) ** 2
        + abs(p["dropout"] - 0.2)
        + (math.log2(p["units"]) - 7) ** 2 / 10
    )
    v += act + 0.1 * p["layers"] + p.get("width2", 0) / 640 + p.get("momentum", 0.5) / 10
    return v + p["batch"] / 1280


def test_proposals_respect_every_parameter_type_and_never_repeat() -> None:
    history = optimize(GPSampler(n_startup_trials=6, seed=3), MIXED, mixed_objective, 18)
    seen = set()
    for t in history:
        assert MIXED.validate_params(t.params) == t.params  # valid, active params only, right types
        assert isinstance(t.params["units"], int) and isinstance(t.params["dropout"], float)
        assert round(t.params["dropout"] * 10) == pytest.approx(t.params["dropout"] * 10)
        assert ("width2" in t.params) == (t.params["layers"] >= 2)
        assert ("momentum" in t.params) == (t.params["opt"] == "sgd")
        key = MIXED.encode(t.params).tobytes()
        assert key not in seen
        seen.add(key)


def test_small_discrete_space_is_covered_without_repeats() -> None:
    space = SearchSpace({"a": Int(0, 3), "b": Categorical(["x", "y"])})
    history = optimize(
        GPSampler(n_startup_trials=2, seed=0), space, lambda p: p["a"] + (p["b"] == "y"), 8
    )
    assert len({(t.params["a"], t.params["b"]) for t in history}) == 8
    # exhausted: a proposal is still made (a repeat), flagged in its info
    p = GPSampler(n_startup_trials=2, seed=0).ask(space, history, [], seed_sequence(0, 8))
    assert isinstance(p, Proposal) and p.info["exhausted"]


def _history(n: int = 14, seed: int = 0) -> list[FrozenTrial]:
    return optimize(GPSampler(seed=seed), QUAD, quad, n, seed)


def test_same_history_and_rng_give_the_same_proposal_as_an_uninterrupted_run() -> None:
    history = _history()
    resumed = GPSampler(**GPSampler(seed=0).config())  # a new process rebuilding from config
    a = GPSampler(seed=0).ask(QUAD, history, [], seed_sequence(0, 14))
    b = resumed.ask(QUAD, list(reversed(history)), [], seed_sequence(0, 14))
    assert params_of(a) == params_of(b)


def test_kernel_parameters_ride_with_each_trial_and_warm_start_the_next_fit() -> None:
    history = _history()
    stored: list[Any] = [t.user_attrs.get(KERNEL_ATTR) for t in history]
    assert stored[:10] == [None] * 10  # start-up design: no GP yet
    assert all(len(v) == len(QUAD) + 2 and all(map(math.isfinite, v)) for v in stored[10:])
    warm = GPSampler(seed=0).ask(QUAD, history, [], seed_sequence(0, 14))
    assert warm.info["warm_start"] is True
    again = GPSampler(seed=0).ask(QUAD, list(reversed(history)), [], seed_sequence(0, 14))
    assert again.params == warm.params and again.info["user_attrs"] == warm.info["user_attrs"]
    cold_history = [done(t.number, t.params, t.value) for t in history]  # e.g. trials enqueued
    cold = GPSampler(seed=0).ask(QUAD, cold_history, [], seed_sequence(0, 14))
    assert cold.info["warm_start"] is False
    # warm or cold, length scales and signal variance agree (log scale); the noise variance of
    # this noiseless function sits near its floor, where the likelihood is flat
    np.testing.assert_allclose(
        cold.info["user_attrs"][KERNEL_ATTR][:-1],
        warm.info["user_attrs"][KERNEL_ATTR][:-1],
        atol=0.5,
    )


def test_stored_kernel_of_the_wrong_size_or_type_is_ignored() -> None:
    history = _history(12)
    last = history[-1]
    for bad in ([1.0, 2.0], "nonsense", [float("nan")] * (len(QUAD) + 2)):
        broken = [
            *history[:-1],
            FrozenTrial(
                last.number, last.state, last.params, last.value, user_attrs={KERNEL_ATTR: bad}
            ),
        ]
        prop = GPSampler(seed=0).ask(QUAD, broken[:-1] + broken[-1:], [], seed_sequence(0, 12))
        assert QUAD.validate_params(prop.params) == prop.params


def test_startup_design_is_a_pure_function_of_the_trial_count() -> None:
    s = GPSampler(seed=7)
    first = [params_of(s.ask(QUAD, [], [], seed_sequence(7, i))) for i in range(1)]
    history = [done(0, first[0], 1.0)]
    second = params_of(s.ask(QUAD, history, [], seed_sequence(7, 1)))
    again = params_of(
        GPSampler(seed=7).ask(
            QUAD, [], [done(0, first[0], None, TrialState.RUNNING)], seed_sequence(7, 1)
        )
    )
    assert second == again != first[0]


def test_pending_trials_change_the_proposal_and_spread_a_batch() -> None:
    history, s = _history(10), GPSampler(seed=0)
    first = params_of(s.ask(QUAD, history, [], seed_sequence(0, 10)))
    assert params_of(s.ask(QUAD, history, [], seed_sequence(0, 10))) == first
    batch = [first]
    for _ in range(3):  # a batch of 4: each proposal sees the earlier ones as RUNNING
        pending = [done(10 + j, p, None, TrialState.RUNNING) for j, p in enumerate(batch)]
        batch.append(params_of(s.ask(QUAD, history, pending, seed_sequence(0, 10 + len(batch)))))
    pts = np.array([[p["x"], p["y"]] for p in batch])
    gaps = np.linalg.norm(pts[:, None] - pts[None], axis=-1)[np.triu_indices(4, 1)]
    assert gaps.min() > 2e-3


def test_failed_and_pruned_trials_do_not_enter_the_model() -> None:
    history, s = _history(), GPSampler(seed=0)
    bad = [
        done(14, {"x": 0.31, "y": 0.69}, None, TrialState.FAILED),
        done(15, {"x": 0.9, "y": 0.1}, float("nan"), TrialState.COMPLETE),
        FrozenTrial(16, TrialState.PRUNED, {"x": 0.5, "y": 0.5}, intermediate={1: 100.0}),
    ]
    a = params_of(s.ask(QUAD, history, [], seed_sequence(0, 99)))
    b = params_of(s.ask(QUAD, history + bad, [], seed_sequence(0, 99)))
    assert a == b


def test_maximize_is_minimize_of_the_negated_values() -> None:
    history = _history()
    flipped = [
        FrozenTrial(t.number, t.state, t.params, -t.value, user_attrs=t.user_attrs)  # type: ignore[operator]
        for t in history
    ]
    s = GPSampler(seed=0)
    a = params_of(s.ask(QUAD, history, [], seed_sequence(0, 14), "minimize"))
    b = params_of(s.ask(QUAD, flipped, [], seed_sequence(0, 14), "maximize"))
    assert a == b
    assert quad(a) < 0.05  # it heads for the minimum of quad, not the maximum


@pytest.mark.parametrize("acquisition", ["ucb", "pi", "LogExpectedImprovement"])
def test_every_acquisition_finds_the_quadratic_minimum(acquisition: str) -> None:
    history = optimize(GPSampler(acquisition, n_startup_trials=5, seed=1), QUAD, quad, 15, 1)
    assert min(cast(float, t.value) for t in history) < 0.01


def test_config_round_trip_and_validation() -> None:
    s = GPSampler("ucb", beta=3.0, n_startup_trials=4, seed=5)
    assert sampler_from_config(s.to_config()).config() == s.config()
    assert s.to_config()["name"] == "gp"
    with pytest.raises(ConfigError, match=re.escape("Got 'lcb' instead.")):
        GPSampler("lcb")
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "The 'n_startup_trials' parameter of GPSampler must be an int >= 0. Got -1 instead."
        ),
    ):
        GPSampler(n_startup_trials=-1)


@pytest.mark.slow
def test_ask_stays_fast_with_1000_completed_trials() -> None:
    import time

    rng = np.random.default_rng(0)
    space = SearchSpace({f"x{i}": Float(0.0, 1.0) for i in range(6)})
    history = [
        done(i, {f"x{k}": float(v) for k, v in enumerate(rng.random(6))}, float(rng.random()))
        for i in range(1000)
    ]
    t0 = time.perf_counter()
    p = params_of(GPSampler(seed=0).ask(space, history, [], seed_sequence(0, 1000)))
    assert space.validate_params(p) == p
    assert time.perf_counter() - t0 < 10.0


def _quad_objective(params: dict[str, Any], reporter: Any) -> float:
    return quad(params)


@pytest.mark.slow
def test_through_a_real_sqlite_study_resume_replays_the_uninterrupted_run(tmp_path: Any) -> None:
    import hpo

    def study(name: str, db: str) -> Any:
        return hpo.create_study(
            name=name,
            storage=f"sqlite:///{tmp_path / db}",
            space=QUAD,
            objective=_quad_objective,
            direction="minimize",
            sampler=GPSampler(n_startup_trials=4, seed=0),
            load_if_exists=True,
        )

    whole = study("quad", "a.db").optimize(n_trials=9)
    study("quad", "b.db").optimize(n_trials=6)
    resumed = hpo.load_study(
        "quad", storage=f"sqlite:///{tmp_path / 'b.db'}", objective=_quad_objective
    ).optimize(n_trials=9)
    a = [t.params for t in sorted(whole.trials, key=lambda t: t.number)]
    b = [t.params for t in sorted(resumed.trials, key=lambda t: t.number)]
    assert a == b and len(a) == 9
    assert len({(p["x"], p["y"]) for p in a}) == 9
    kernels = [
        t.user_attrs.get(KERNEL_ATTR) for t in sorted(resumed.trials, key=lambda t: t.number)
    ]
    assert kernels[:4] == [None] * 4 and all(
        k is not None for k in kernels[4:]
    )  # stored, read back
    first, second = whole.ask(), whole.ask()  # the second sees the first as RUNNING
    assert first.params != second.params
    whole.tell(first, quad(first.params))
    assert whole.best_value < 0.05
