"""GPSampler's pessimistic prior mean (``prior_mean_quantile``): the shift, validation, purity."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from hpo.errors import ConfigError
from hpo.samplers import GPSampler, sampler_from_config
from hpo.samplers.base import seed_sequence
from hpo.samplers.gp.model import fit_gp
from hpo.samplers.gp.sampler import _resolve_prior_mean_quantile, _shift_prior_mean
from hpo.space import Float, Int, SearchSpace
from hpo.trial import FrozenTrial, TrialState


@pytest.mark.parametrize("q", [0.0, 0.1, 0.5, 1.0])
def test_shift_puts_the_quantile_at_zero_and_keeps_differences(q: float) -> None:
    y = np.random.default_rng(0).normal(size=25)
    before = y.copy()
    shifted = _shift_prior_mean(y, q)
    np.testing.assert_array_equal(y, before)  # the input is not modified
    assert np.quantile(shifted, q) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(np.diff(shifted), np.diff(y))
    if q == 0.0:
        assert shifted.min() == 0.0  # q = 0: the prior mean is the worst value seen


def test_far_from_the_data_the_posterior_mean_reverts_to_the_quantile() -> None:
    rng = np.random.default_rng(1)
    X = 0.1 * rng.random((12, 2))  # observations in one corner only
    y = np.sin(20 * X[:, 0]) + X[:, 1]
    y = (y - y.mean()) / y.std()
    far = np.array([[0.95, 0.95]])
    q = 0.1
    gp = fit_gp(X, _shift_prior_mean(y, q), np.zeros(2, bool))
    mean_far = float(gp.posterior(far)[0][0]) + float(np.quantile(y, q))
    assert mean_far == pytest.approx(float(np.quantile(y, q)), abs=0.05)
    assert mean_far < y.mean() - 0.5  # the default would revert to the mean (0)


@pytest.mark.parametrize("bad", [-0.1, 1.5, "worst", math.nan])
def test_bad_quantiles_are_refused_naming_the_field(bad: Any) -> None:
    message = "The 'prior_mean_quantile' parameter of GPSampler must be"
    with pytest.raises(ConfigError, match=re.escape(message)):
        GPSampler(prior_mean_quantile=bad)


@pytest.mark.parametrize("good", [None, "auto", 0, 0.0, 0.1, 1.0])
def test_quantiles_in_the_unit_interval_and_none_are_accepted(good: Any) -> None:
    assert GPSampler(prior_mean_quantile=good).config()["prior_mean_quantile"] == good


@pytest.mark.parametrize(
    ("value", "acquisition", "expected"),
    [
        ("auto", "pi", 0.1),
        ("auto", "ProbabilityOfImprovement", 0.1),
        ("auto", "ei", None),
        ("auto", "logei", None),
        ("auto", "ucb", None),
        (None, "pi", None),
        (0.3, "ei", 0.3),
        (0, "ucb", 0.0),
    ],
)
def test_auto_is_pessimistic_for_pi_only(value: Any, acquisition: str, expected: Any) -> None:
    assert _resolve_prior_mean_quantile(value, acquisition) == expected


SPACE = SearchSpace({"x": Float(-2.0, 2.0), "n": Int(1, 6), "lr": Float(1e-4, 1.0, log=True)})


def objective(p: dict[str, Any]) -> float:
    return (p["x"] - 0.5) ** 2 + 0.1 * p["n"] + (math.log10(p["lr"]) + 2.0) ** 2


def run(sampler: GPSampler, n: int) -> list[FrozenTrial]:
    history: list[FrozenTrial] = []
    for i in range(n):
        prop = sampler.ask(SPACE, history, [], seed_sequence(0, i), "minimize")
        history.append(
            FrozenTrial(
                i,
                TrialState.COMPLETE,
                prop.params,
                objective(prop.params),
                user_attrs=prop.info.get("user_attrs", {}),
            )
        )
    return history


@pytest.mark.parametrize(("acquisition", "same_as"), [("pi", 0.1), ("ei", None), ("ucb", None)])
def test_the_default_proposes_what_its_resolved_quantile_does(
    acquisition: str, same_as: float | None
) -> None:
    def proposals(**options: Any) -> list[dict[str, Any]]:
        return [
            t.params for t in run(GPSampler(acquisition, n_startup_trials=5, seed=4, **options), 9)
        ]

    default = proposals()
    assert default == proposals(prior_mean_quantile=same_as)
    # and the shift is not a no-op: the other setting proposes differently after start-up
    other = proposals(prior_mean_quantile=0.1 if same_as is None else None)
    assert other[:5] == default[:5] and other[5:] != default[5:]


def test_proposals_are_a_pure_function_of_the_history_and_config_round_trips() -> None:
    sampler = GPSampler(n_startup_trials=5, seed=3, prior_mean_quantile=0.1)
    history = run(sampler, 12)
    resumed = sampler_from_config(sampler.to_config())
    assert isinstance(resumed, GPSampler)
    assert resumed.config() == sampler.config()
    again = resumed.ask(SPACE, history[:11], [], seed_sequence(0, 11), "minimize")
    assert again.params == history[11].params
    assert min(t.value for t in history if t.value is not None) < 0.5
