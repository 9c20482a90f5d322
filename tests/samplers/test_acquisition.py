"""Acquisition functions against their closed forms; log-EI where EI underflows."""

from __future__ import annotations

import re

import mpmath
import numpy as np
import pytest
from scipy.stats import norm

from hpo.errors import ConfigError
from hpo.samplers.gp.acquisition import (
    PI_MIN_XI,
    ExpectedImprovement,
    LogExpectedImprovement,
    ProbabilityOfImprovement,
    UpperConfidenceBound,
    log_h,
    make_acquisition,
)

MEAN = np.array([-2.0, -0.3, 0.0, 0.4, 1.5, 3.0])
STD = np.array([0.5, 1.0, 0.2, 2.0, 0.7, 0.05])
BEST = 0.8


def test_expected_improvement_equals_closed_form() -> None:
    for xi in (0.0, 0.1):
        z = (MEAN - BEST - xi) / STD
        closed = STD * (z * norm.cdf(z) + norm.pdf(z))
        np.testing.assert_allclose(ExpectedImprovement(xi=xi)(MEAN, STD, BEST), closed, rtol=1e-10)
        np.testing.assert_allclose(
            LogExpectedImprovement(xi=xi)(MEAN, STD, BEST), np.log(closed), rtol=1e-10
        )


def test_upper_confidence_bound_equals_closed_form() -> None:
    np.testing.assert_allclose(
        UpperConfidenceBound(beta=3.0)(MEAN, STD, BEST), MEAN + np.sqrt(3.0) * STD
    )


def test_probability_of_improvement_equals_closed_form() -> None:
    z = (MEAN - BEST - 0.05) / STD
    np.testing.assert_allclose(ProbabilityOfImprovement(xi=0.05)(MEAN, STD, BEST), norm.cdf(z))
    np.testing.assert_allclose(
        ProbabilityOfImprovement(xi=0.05, log=True)(MEAN, STD, BEST), norm.logcdf(z), rtol=1e-10
    )


def _log_h_exact(z: float) -> float:
    mpmath.mp.dps = 60
    zz = mpmath.mpf(z)
    return float(mpmath.log(mpmath.npdf(zz) + zz * mpmath.ncdf(zz)))


@pytest.mark.parametrize("z", [-1e10, -1e4, -40.0, -38.5, -10.0, -1.0001, -0.999, 0.0, 3.0, 40.0])
def test_log_h_matches_high_precision_reference(z: float) -> None:
    assert log_h(np.array([z]))[0] == pytest.approx(_log_h_exact(z), rel=1e-9)


def test_log_ei_is_finite_where_ei_underflows() -> None:
    mean, std = np.array([-40.0]), np.array([1.0])  # z = -40
    assert ExpectedImprovement()(mean, std, 0.0)[0] == 0.0
    log_ei = LogExpectedImprovement()(mean, std, 0.0)[0]
    assert np.isfinite(log_ei) and log_ei == pytest.approx(_log_h_exact(-40.0), rel=1e-9)
    # and it still ranks points: closer to the incumbent is better
    assert LogExpectedImprovement()(np.array([-39.0]), std, 0.0)[0] > log_ei


def test_aliases_and_optimizer_forms() -> None:
    assert isinstance(make_acquisition("ei", xi=0, beta=2), ExpectedImprovement)
    assert isinstance(
        make_acquisition("ExpectedImprovement", xi=0, beta=2, for_optimizer=True),
        LogExpectedImprovement,
    )
    assert make_acquisition("ucb", xi=0, beta=5).beta == 5  # type: ignore[attr-defined]
    assert make_acquisition("pi", xi=0, beta=2, for_optimizer=True).log  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=re.escape("Got 'lcb' instead.")):
        make_acquisition("lcb", xi=0, beta=2)


@pytest.mark.parametrize(
    "acq",
    [
        LogExpectedImprovement(xi=0.1),
        ExpectedImprovement(),
        UpperConfidenceBound(beta=2.0),
        ProbabilityOfImprovement(xi=0.05),
        ProbabilityOfImprovement(xi=0.05, log=True),
    ],
    ids=repr,
)
def test_value_and_grad_matches_central_differences(acq: object) -> None:
    value, d_mean, d_std = acq.value_and_grad(MEAN, STD, BEST)  # type: ignore[attr-defined]
    np.testing.assert_allclose(value, acq(MEAN, STD, BEST), rtol=1e-12)  # type: ignore[operator]
    h = 1e-6
    fd_mean = (acq(MEAN + h, STD, BEST) - acq(MEAN - h, STD, BEST)) / (2 * h)  # type: ignore[operator]
    fd_std = (acq(MEAN, STD + h, BEST) - acq(MEAN, STD - h, BEST)) / (2 * h)  # type: ignore[operator]
    np.testing.assert_allclose(d_mean, fd_mean, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(d_std, fd_std, rtol=1e-5, atol=1e-9)


def test_log_ei_gradient_stays_finite_and_exact_far_in_the_tail() -> None:
    # d/dmean log EI -> -z / std as z -> -inf; plain EI's gradient has underflowed to 0 there
    _, d_mean, d_std = LogExpectedImprovement().value_and_grad(
        np.array([-1e3, -40.0]), np.ones(2), 0.0
    )
    np.testing.assert_allclose(d_mean, [1e3, 40.0], rtol=2e-3)
    assert np.all(np.isfinite(d_std)) and np.all(d_std > 0)


def test_pi_margin_has_a_floor_and_a_larger_xi_passes_through() -> None:
    floor = make_acquisition("pi", xi=0.0, beta=1.0)
    assert floor.xi == PI_MIN_XI > 0  # type: ignore[attr-defined]
    assert make_acquisition("pi", xi=10 * PI_MIN_XI, beta=1.0).xi == 10 * PI_MIN_XI  # type: ignore[attr-defined]
    # EI's margin is left as given
    assert make_acquisition("ei", xi=0.0, beta=1.0, for_optimizer=True).xi == 0.0  # type: ignore[attr-defined]


def test_pi_with_the_floor_prefers_uncertainty_to_a_vanishing_step_from_the_incumbent() -> None:
    # point 0: an infinitesimal step uphill from the incumbent (mean a hair above best, std
    # near 0): PI without a margin rates it near-certain and the search creeps (the Branin
    # trap in the module docstring). Point 1: a little below best but uncertain.
    best = 1.0
    mean = np.array([best + 1e-7, best - 0.1])
    std = np.array([1e-4, 0.5])
    bare = ProbabilityOfImprovement(xi=0.0, log=True)(mean, std, best)
    assert bare[0] > bare[1]
    floored = make_acquisition("pi", xi=0.0, beta=1.0, for_optimizer=True)(mean, std, best)
    assert floored[1] > floored[0]
    assert np.all(np.isfinite(floored))


def test_log_pi_value_and_gradient_stay_finite_far_from_the_data() -> None:
    # z = -1e6 .. -40: log Phi(z) ~ -z^2/2 and d/dmean ~ -z / std, no underflow to a flat 0
    acq = ProbabilityOfImprovement(xi=PI_MIN_XI, log=True)
    mean = np.array([-1e6, -1e3, -40.0]) + PI_MIN_XI
    value, d_mean, d_std = acq.value_and_grad(mean, np.ones(3), 0.0)
    np.testing.assert_allclose(value, norm.logcdf(mean - PI_MIN_XI), rtol=1e-9)
    np.testing.assert_allclose(d_mean, [1e6, 1e3, 40.0], rtol=3e-3)
    assert np.all(np.isfinite(d_std)) and np.all(d_std > 0)
