"""benchmarks/ttq_fit_gap.py: measuring warm-started kernel fits leaves the sampler as it was."""

from __future__ import annotations

import numpy as np

from benchmarks.ttq_fit_gap import objective, recording_fits
from hpo.samplers.gp import model
from hpo.samplers.gp.sampler import KERNEL_ATTR, GPSampler
from hpo.space import Float, SearchSpace
from hpo.trial import FrozenTrial, TrialState

SPACE = SearchSpace({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})


def _history(stored: list[float] | None) -> list[FrozenTrial]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(12):
        x, y = rng.random(2)
        attrs = {KERNEL_ATTR: stored} if stored is not None and i == 11 else {}
        value = float(np.sin(6 * x) + y**2)
        out.append(FrozenTrial(i, TrialState.COMPLETE, {"x": x, "y": y}, value, user_attrs=attrs))
    return out


def test_only_warm_started_fits_are_measured_and_proposals_do_not_change():
    stored = [1.0, -1.0, 0.5, -4.0]  # log inv_sq_ls (2), log kernel_scale, log noise_var
    original = GPSampler._fit
    histories = [_history(None), _history(stored)]  # cold fit, warm-started fit
    plain = [GPSampler(seed=0).ask(SPACE, h, [], np.random.default_rng(1)) for h in histories]
    log: list[dict[str, float]] = []
    with recording_fits(log):
        for h, before in zip(histories, plain, strict=True):
            assert GPSampler(seed=0).ask(SPACE, h, [], np.random.default_rng(1)) == before
    assert GPSampler._fit == original  # restored
    assert len(log) == 1 and log[0]["n"] == 12
    assert np.isfinite(log[0]["short"]) and np.isfinite(log[0]["basin"])


def test_a_fit_does_not_end_below_the_prior_mode_it_starts_from():
    h = _history(None)
    X = np.array([[t.params["x"], t.params["y"]] for t in h])
    y = np.array([t.value for t in h])
    y = (y - y.mean()) / y.std()
    is_cat = np.zeros(2, dtype=bool)
    start = model.KernelParams.default(2)
    fitted = model.fit_kernel_params(X, y, is_cat)
    assert objective(X, y, is_cat, fitted) >= objective(X, y, is_cat, start) - 1e-9
