"""Trust region: the replayed length schedule, the box, the box-restricted optimizer, purity."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from hpo.samplers import GPSampler, sampler_from_config
from hpo.samplers.base import seed_sequence
from hpo.samplers.gp.trust_region import (
    INIT_LENGTH,
    MAX_LENGTH,
    MIN_LENGTH,
    maximize_in_box,
    replay_length,
    trust_region_box,
)
from hpo.space import Categorical, Float, Int, SearchSpace
from hpo.trial import FrozenTrial, TrialState


def test_length_halves_after_failures_doubles_after_successes_and_resets_at_the_minimum() -> None:
    d = 2  # failure_tol = max(4, d) = 4
    assert replay_length([0.0] * 3, 3, d).length == INIT_LENGTH
    assert replay_length([1.0] + [0.0] * 4, 1, d).length == INIT_LENGTH / 2
    assert replay_length([1.0] + [0.0] * 7, 1, d).length == INIT_LENGTH / 2  # 3 more: no halving
    assert replay_length([0.0, 1.0, 2.0, 3.0], 1, d).length == 2 * INIT_LENGTH
    assert replay_length([0.0, *range(1, 10)], 1, d).length == MAX_LENGTH  # capped
    # a failure in between resets the success count
    assert replay_length([0.0, 1.0, 2.0, 1.5, 3.0, 4.0], 1, d).length == INIT_LENGTH
    halvings = math.ceil(math.log2(INIT_LENGTH / MIN_LENGTH))
    r = replay_length([1.0] + [0.0] * (4 * halvings), 1, d)
    assert (r.length, r.n_restarts) == (INIT_LENGTH, 1)
    # improvements smaller than the tolerance are failures
    assert replay_length([1.0, *(1.0 + 1e-6 * k for k in range(1, 5))], 1, d).length < INIT_LENGTH


@pytest.mark.parametrize("seed", range(5))
def test_box_stays_in_the_cube_contains_the_centre_and_leaves_discrete_dimensions_whole(
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    d = 5
    center = rng.random(d)
    center[0] = 0.0  # at a bound
    ls = np.exp(rng.normal(size=d))
    boxed = np.array([True, True, True, False, True])
    for length in (MIN_LENGTH, 0.3, INIT_LENGTH, MAX_LENGTH):
        lo, hi = trust_region_box(center, ls, length, boxed)
        assert np.all((0 <= lo) & (lo <= center) & (center <= hi) & (hi <= 1))
        assert (lo[3], hi[3]) == (0.0, 1.0)
        # TuRBO's weights: the unclipped box has the volume of a cube of side `length`
        w = ls[boxed] / np.exp(np.mean(np.log(ls[boxed])))
        assert math.prod(w * length) == pytest.approx(length ** boxed.sum())
    # a longer length scale gets a wider side
    lo, hi = trust_region_box(np.full(2, 0.5), np.array([0.1, 0.4]), 0.2, np.ones(2, bool))
    assert hi[1] - lo[1] == pytest.approx(4 * (hi[0] - lo[0]))


def test_nan_centre_coordinate_keeps_the_whole_range() -> None:
    lo, hi = trust_region_box(np.array([0.5, np.nan]), np.ones(2), 0.2, np.ones(2, bool))
    assert (lo[1], hi[1]) == (0.0, 1.0) and hi[0] - lo[0] == pytest.approx(0.2)


@pytest.mark.parametrize("with_grad", [True, False])
def test_maximize_in_box_finds_the_constrained_maximum_and_never_leaves_the_box(
    with_grad: bool,
) -> None:
    target = np.array([0.9, 0.1])  # outside the box: the best point in the box is its corner
    lo, hi = np.array([0.2, 0.3]), np.array([0.5, 0.6])
    seen: list[np.ndarray] = []

    def score(C: np.ndarray) -> np.ndarray:
        seen.append(C.copy())
        return np.asarray(-((C - target) ** 2).sum(1))

    def score_grad(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return score(C), -2 * (C - target)

    res = maximize_in_box(
        score,
        [None, None],
        np.random.default_rng(0),
        lo,
        hi,
        canonicalize=lambda R: np.asarray(R),
        score_grad=score_grad if with_grad else None,
        n_candidates=64,
    )
    np.testing.assert_allclose(res.x, [0.5, 0.3], atol=1e-4)
    every = np.vstack(seen)
    assert np.all(every >= lo - 1e-5) and np.all(every <= hi + 1e-5)


def test_maximize_in_box_refuses_to_cut_a_discrete_dimension() -> None:
    with pytest.raises(ValueError, match="discrete"):
        maximize_in_box(
            lambda C: C.sum(1),
            [np.array([0.0, 1.0])],
            np.random.default_rng(0),
            np.array([0.5]),
            np.array([1.0]),
            canonicalize=lambda R: np.asarray(R),
        )


SPACE = SearchSpace(
    {
        "x": Float(0.0, 1.0),
        "lr": Float(1e-4, 1e-1, log=True),
        "n": Int(1, 5),
        "act": Categorical(["relu", "tanh"]),
    }
)


def objective(p: dict[str, Any]) -> float:
    return (p["x"] - 0.3) ** 2 + (math.log10(p["lr"]) + 2.5) ** 2 + 0.1 * p["n"]


def run(sampler: GPSampler, n: int, seed: int = 0) -> tuple[list[FrozenTrial], list[Any]]:
    history: list[FrozenTrial] = []
    infos: list[Any] = []
    for i in range(n):
        prop = sampler.ask(SPACE, history, [], seed_sequence(seed, i), "minimize")
        infos.append(prop.info)
        history.append(
            FrozenTrial(
                number=i,
                state=TrialState.COMPLETE,
                params=prop.params,
                value=objective(prop.params),
                user_attrs=prop.info.get("user_attrs", {}),
            )
        )
    return history, infos


def test_trust_region_proposals_lie_in_the_box_the_history_implies() -> None:
    sampler = GPSampler(n_startup_trials=5, seed=1, trust_region=True)
    history, infos = run(sampler, 14)
    assert all("trust_region_length" in info for info in infos[5:])
    for i in range(5, 14):
        done = history[:i]
        raw = -np.array([t.value for t in done])
        y = (raw - raw.mean()) / raw.std()
        region = replay_length(y, 5, len(SPACE))
        assert infos[i]["trust_region_length"] == region.length
        ls = 1.0 / np.sqrt(np.exp(np.asarray(infos[i]["user_attrs"]["gp_kernel"][:-2])))
        X = np.array([SPACE.encode(t.params) for t in done])
        boxed = np.array([True, True, False, False])
        lo, hi = trust_region_box(X[int(np.argmax(y))], ls, region.length, boxed)
        u = SPACE.encode(history[i].params)
        assert np.all(u >= lo - 1e-9) and np.all(u <= hi + 1e-9), (i, u, lo, hi)


def test_trust_region_proposals_are_a_pure_function_of_the_history() -> None:
    history, _ = run(GPSampler(n_startup_trials=5, seed=2, trust_region=True), 12)
    resumed = GPSampler(n_startup_trials=5, seed=2, trust_region=True)
    again = resumed.ask(SPACE, history[:11], [], seed_sequence(0, 11), "minimize")
    assert again.params == history[11].params
    assert resumed.config()["trust_region"] is True
    assert sampler_from_config(resumed.to_config()).config() == resumed.config()
