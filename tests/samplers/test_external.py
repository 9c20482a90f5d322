"""OptunaSampler: a stateless adapter that rebuilds an Optuna study from our trials."""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import numpy as np
import pytest

from hpo.errors import ConfigError
from hpo.samplers import sampler_from_config
from hpo.samplers.base import Proposal, seed_sequence
from hpo.space import Categorical, Float, Int, SearchSpace
from hpo.trial import FrozenTrial, TrialState

pytest.importorskip("optuna")
from hpo.samplers.external import OptunaSampler  # noqa: E402

SPACE = SearchSpace(
    {
        "lr": Float(1e-4, 1.0, log=True),
        "drop": Float(0.0, 0.5, step=0.1),
        "layers": Int(1, 4),
        "act": Categorical([("leaky", 0.1), "relu"]),
        "width": Int(8, 64, log=True, when=("layers", ">=", 2)),
    }
)


def objective(p: dict[str, Any]) -> float:
    return float(np.log10(p["lr"]) + 2) ** 2 + p["drop"] + (p["act"] == "relu")


def run(sampler: OptunaSampler, n: int) -> list[FrozenTrial]:
    history: list[FrozenTrial] = []
    for i in range(n):
        p = sampler.ask(SPACE, history, [], seed_sequence(1, i))
        params = p.params if isinstance(p, Proposal) else p
        state = TrialState.FAILED if i == 3 else TrialState.COMPLETE
        history.append(FrozenTrial(i, state, params, None if i == 3 else objective(params)))
    return history


def test_tpe_proposals_are_valid_and_reproducible() -> None:
    history = run(OptunaSampler(seed=1), 14)
    for t in history:
        assert SPACE.validate_params(t.params) == t.params
        assert ("width" in t.params) == (t.params["layers"] >= 2)
    s = OptunaSampler(seed=1)
    pruned = FrozenTrial(14, TrialState.PRUNED, history[0].params, intermediate={1: 5.0})
    pending = [FrozenTrial(15, TrialState.RUNNING, history[1].params)]
    a = s.ask(SPACE, [*history, pruned], pending, seed_sequence(1, 16))
    b = s.ask(SPACE, [pruned, *reversed(history)], pending, seed_sequence(1, 16))
    assert a.params == b.params


def test_config_round_trip() -> None:
    s = OptunaSampler("tpe", seed=3, n_startup_trials=4)
    assert s.to_config() == {"name": "optuna", "algorithm": "tpe", "seed": 3, "n_startup_trials": 4}
    assert sampler_from_config(s.to_config()).config() == s.config()


def test_bad_algorithm_and_options_fail_fast() -> None:
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "The 'algorithm' parameter of OptunaSampler must be one of ['cmaes', 'gp', 'random', "
            "'tpe']. Got 'bohb' instead."
        ),
    ):
        OptunaSampler("bohb")
    with pytest.raises(ConfigError, match="bad option"):
        OptunaSampler("tpe", n_startup=3)


@pytest.mark.skipif(importlib.util.find_spec("cmaes") is not None, reason="cmaes is installed")
def test_cmaes_without_its_package_says_how_to_install_it() -> None:
    with pytest.raises(ConfigError, match=re.escape("`pip install cmaes`")):
        OptunaSampler("cmaes")
