"""HyperbandPruner: brackets as a pure function of the trial number; ASHA within a bracket."""

from __future__ import annotations

from collections import Counter

import pytest

from hpo.errors import ConfigError
from hpo.pruning import HyperbandPruner, make_pruner


def test_brackets_rungs_and_hyperband_budgets():
    p = HyperbandPruner(min_resource=1, max_resource=27, reduction_factor=3)
    assert p.n_brackets == 4
    assert [p.rungs(s) for s in range(4)] == [[1, 3, 9], [3, 9], [9], []]
    assert p.bracket_weights() == [27, 12, 6, 4]  # Hyperband's n_i = ceil(B eta^s / (s + 1))
    assert HyperbandPruner(min_resource=2, max_resource=30).rungs(0) == [2, 6, 18]


def test_bracket_is_a_pure_function_of_number_and_seed_and_follows_the_budgets():
    p = HyperbandPruner(max_resource=27)
    first = [p.bracket(n) for n in range(490)]
    assert first == [HyperbandPruner(max_resource=27).bracket(n) for n in range(490)]
    counts = Counter(first)
    for bracket, weight in enumerate(p.bracket_weights()):  # 10 rounds of 49 trials
        assert abs(counts[bracket] - 10 * weight) <= 3, counts
    assert [HyperbandPruner(seed=5).bracket(n) for n in range(20)] != first[:20]
    assert Counter(first[:49]).keys() == {0, 1, 2, 3}  # one round already visits every bracket


def _number_in(p: HyperbandPruner, bracket: int, skip: int = 0) -> int:
    return [n for n in range(200) if p.bracket(n) == bracket][skip]


def test_a_trial_competes_only_within_its_bracket():
    p = HyperbandPruner(max_resource=27)
    me, rival = _number_in(p, 0), _number_in(p, 0, skip=1)
    other = _number_in(p, 1)
    strong_other_bracket = {other: {1: 0.99, 3: 0.99}}
    assert not p.prune_trial(me, 1, {1: 0.5}, strong_other_bracket, maximize=True)
    peers = {rival: {1: 0.9}, _number_in(p, 0, skip=2): {1: 0.8}}
    assert p.prune_trial(me, 1, {1: 0.5}, peers, maximize=True)
    assert not p.prune_trial(me, 1, {1: 0.95}, peers, maximize=True)
    assert not p.prune_trial(me, 2, {1: 0.5, 2: 0.1}, peers, maximize=True)  # not a rung
    assert not p.prune_trial(me, 1, {1: 0.5}, peers, maximize=False)  # smaller is better


def test_later_brackets_start_later_and_the_last_never_prunes():
    p = HyperbandPruner(max_resource=27)
    b1, b3 = _number_in(p, 1), _number_in(p, 3)
    peers = {_number_in(p, 1, skip=k): {1: 0.9, 3: 0.9} for k in (1, 2, 3)}
    assert not p.prune_trial(b1, 1, {1: 0.1}, peers, maximize=True)  # rung 1 is not bracket 1's
    assert p.prune_trial(b1, 3, {1: 0.1, 3: 0.1}, peers, maximize=True)
    last_peers = {_number_in(p, 3, skip=k): {s: 0.9 for s in range(1, 28)} for k in (1, 2, 3)}
    assert not any(p.prune_trial(b3, s, {s: 0.0}, last_peers, maximize=True) for s in range(1, 28))


def test_a_nan_at_a_rung_prunes():
    p = HyperbandPruner(max_resource=9)
    assert p.prune_trial(_number_in(p, 0), 1, {1: float("nan")}, {}, maximize=True)


def test_config_round_trip_and_validation():
    p = make_pruner(
        {"name": "hyperband", "min_resource": 2, "max_resource": 50, "reduction_factor": 4}
    )
    assert isinstance(p, HyperbandPruner)
    assert make_pruner(p.to_config()).config() == p.config()
    with pytest.raises(ConfigError, match=r"'max_resource'.*HyperbandPruner.*Got 2 instead"):
        HyperbandPruner(min_resource=3, max_resource=2)
    with pytest.raises(ConfigError, match=r"'reduction_factor'.*Got 1 instead"):
        HyperbandPruner(reduction_factor=1)
    with pytest.raises(ConfigError, match=r"'min_resource'.*Got 0 instead"):
        HyperbandPruner(min_resource=0)
    with pytest.raises(TypeError, match="prune_trial"):
        p.prune(2, {2: 0.1}, {}, maximize=True)


def test_the_last_bracket_trains_to_the_end_whatever_the_ratio():
    p = HyperbandPruner(min_resource=2, max_resource=30, reduction_factor=3)
    assert [p.rungs(s) for s in range(p.n_brackets)] == [[2, 6, 18], [6, 18], []]


CONFIGS = [(1, 27, 3), (1, 81, 3), (2, 30, 3), (1, 100, 4), (1, 64, 2), (5, 5, 3)]
# Large seeds leave the product few fractional bits: from 2**40 on many trials share a
# point (ties at the bracket edges); from 2**52 / GOLDEN on every point is 0 (all trials
# in bracket 0, as the formula has always had it).
SEEDS = [0, 7, 2**40 + 3, 2**50 + 1, 2**62]


@pytest.mark.parametrize("config", CONFIGS)
def test_bracket_slices_hold_exactly_the_brackets_trials(config):
    """The interval test the database evaluates (NumberSlice) equals bracket() on every number."""
    low, high, eta = config
    for seed in SEEDS:
        p = HyperbandPruner(min_resource=low, max_resource=high, reduction_factor=eta, seed=seed)
        slices = [p.bracket_slice(b) for b in range(p.n_brackets)]
        bounds = [None] + [s.high for s in slices[:-1]] + [None]  # they tile [0, 1)
        assert [(s.low, s.high) for s in slices] == list(zip(bounds, bounds[1:], strict=False))
        assert all(a < b for a, b in zip(bounds[1:-2], bounds[2:-1], strict=True))
        for number in range(20001):
            assert slices[p.bracket(number)].contains(number), (config, seed, number)


def test_the_seed_must_fit_the_databases_integers():
    assert HyperbandPruner(seed=2**62).seed == 2**62
    with pytest.raises(ConfigError, match=r"'seed'.*HyperbandPruner.*Got 9223372036854775808"):
        HyperbandPruner(seed=2**63)
