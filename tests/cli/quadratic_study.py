"""A tiny study file for the CLI tests: a callable objective with a 3-step learning curve."""

from __future__ import annotations

import os
import time

import hpo
from hpo.space import Categorical, Float, Int

N_TRIALS = 6
N_WORKERS = 1


def objective(params, reporter):
    """(x - 1)^2 + penalty, reported over three 'epochs' that approach the final value.

    QUADRATIC_SLEEP (seconds) slows each trial so that parallel workers all get some.
    """
    time.sleep(float(os.environ.get("QUADRATIC_SLEEP", "0")))
    _rendezvous()
    value = (params["x"] - 1.0) ** 2 + 0.1 * params["n"] + (0.5 if params["kind"] == "b" else 0.0)
    for step in range(1, 4):
        reporter.report(step, value + 1.0 / step)
    return {"value": value, "test_score": value + 0.01, "n_epochs": 3}


def _rendezvous(parties=2, timeout=60.0):
    """With QUADRATIC_RENDEZVOUS=DIR, wait until ``parties`` processes have run a trial."""
    folder = os.environ.get("QUADRATIC_RENDEZVOUS")
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, str(os.getpid())), "w").close()
    deadline = time.monotonic() + timeout
    while len(os.listdir(folder)) < parties and time.monotonic() < deadline:
        time.sleep(0.02)


def make_study(storage=None, sampler=None):
    return hpo.create_study(
        "quadratic",
        space={
            "x": Float(-3.0, 3.0),
            "n": Int(1, 4),
            "kind": Categorical(["a", "b"]),
            "sizes": Categorical([(8,), (16, 8)]),
        },
        objective=objective,
        sampler=sampler or "random",
        seed=0,
        storage=storage,
        load_if_exists=True,
    )
