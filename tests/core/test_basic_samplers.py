"""Grid and random samplers: pure functions of (space, history, pending, rng)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hpo.errors import ConfigError, SearchSpaceExhausted
from hpo.samplers import GridSampler, RandomSampler, make_sampler, sampler_from_config
from hpo.samplers.base import seed_sequence
from hpo.space import Categorical, Float, Int, SearchSpace
from hpo.trial import FrozenTrial, TrialState

SPACE = SearchSpace({"a": Int(0, 3), "b": Categorical(["x", "y"]), "c": Float(0, 1, step=0.5)})


def trial(number, grid_id, state=TrialState.COMPLETE):
    return FrozenTrial(number=number, state=state, params={}, value=0.0, grid_id=grid_id)


def test_grid_never_repeats_and_counts_pending():
    sampler = GridSampler()
    history, seen = [], set()
    for n in range(24):
        prop = sampler.ask(SPACE, history[: n // 2], history[n // 2 :], seed_sequence(0, n))
        assert prop.grid_id not in seen
        seen.add(prop.grid_id)
        history.append(trial(n, prop.grid_id, TrialState.RUNNING))
    assert seen == set(range(24))
    with pytest.raises(SearchSpaceExhausted):
        sampler.ask(SPACE, history, [], seed_sequence(0, 24))


def test_grid_failed_points_stay_taken_and_shuffle_is_seeded():
    sampler = GridSampler(shuffle=True, seed=3)
    first = sampler.ask(SPACE, [], [], seed_sequence(0, 0)).grid_id
    again = GridSampler(shuffle=True, seed=3).ask(SPACE, [], [], seed_sequence(0, 0)).grid_id
    assert first == again
    nxt = sampler.ask(SPACE, [trial(0, first, TrialState.FAILED)], [], seed_sequence(0, 1)).grid_id
    assert nxt != first


@pytest.mark.parametrize("method", ["uniform", "sobol", "lhs"])
def test_random_is_reproducible_from_seed_and_number(method):
    space = SearchSpace(
        {"x": Float(-1, 1), "n": Int(1, 8, log=True), "c": Categorical([(1,), (2, 2)])}
    )
    a = RandomSampler(method=method, seed=7)
    b = RandomSampler(method=method, seed=7)
    pa = [a.ask(space, [], [], seed_sequence(7, i), number=i) for i in range(20)]
    pb = [b.ask(space, [], [], seed_sequence(7, i), number=i) for i in range(20)]
    assert pa == pb
    assert len({p["x"] for p in pa}) == 20
    assert all(space.validate_params(p) == p for p in pa)


def test_lhs_blocks_are_stratified():
    sampler = RandomSampler(method="lhs", seed=1, block=8)
    xs = np.array([sampler.unit_point(2, i) for i in range(8)])
    for d in range(2):
        assert sorted(np.floor(xs[:, d] * 8).astype(int)) == list(range(8))


def test_sampler_configs_round_trip_and_bad_names():
    for s in (GridSampler(shuffle=True, seed=2), RandomSampler(method="sobol", seed=5)):
        assert sampler_from_config(s.to_config()).to_config() == s.to_config()
    with pytest.raises(ConfigError, match=re.escape("Unknown sampler 'nope'")):
        make_sampler("nope")
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "The 'method' parameter of RandomSampler must be 'uniform', 'sobol' or 'lhs'. Got "
            "'halton' instead."
        ),
    ):
        RandomSampler(method="halton")
