"""Module-level objectives that worker processes can import by path."""

from __future__ import annotations

import os
import time


def quadratic(params, reporter):
    """A cheap deterministic objective with a learning curve."""
    for step in range(3):
        reporter.report(step, params["x"] ** 2 + 1.0 / (step + 1))
    return (params["x"] - 1.0) ** 2


def slow_quadratic(params, reporter):
    """Like quadratic, but takes a while, so a test can kill the process mid-trial."""
    time.sleep(float(os.environ.get("HPO_TEST_SLEEP", "0.15")))
    rendezvous()
    return (params["x"] - 1.0) ** 2


def rendezvous(parties: int = 2, timeout: float = 60.0) -> None:
    """With HPO_TEST_RENDEZVOUS=DIR, wait until ``parties`` processes have run a trial.

    Lets a test assert that every worker process got work without betting on speed: the
    first process's trial waits (up to ``timeout``) until another process claims one.
    """
    folder = os.environ.get("HPO_TEST_RENDEZVOUS")
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, str(os.getpid())), "w").close()
    deadline = time.monotonic() + timeout
    while len(os.listdir(folder)) < parties and time.monotonic() < deadline:
        time.sleep(0.02)


def rising_curve(params, reporter):
    """Nine epochs of a saturating curve whose ceiling peaks at x = 0.3 (maximize).

    Configurations with a low ceiling are already worse at epoch 1, so Hyperband can
    prune them; the value is the last epoch's, as a trainer restoring its best epoch returns.
    Waits at the rendezvous when HPO_TEST_RENDEZVOUS is set (see :func:`rendezvous`).
    """
    rendezvous()
    ceiling = 1.0 - (params["x"] - 0.3) ** 2
    value = 0.0
    for epoch in range(1, 10):
        value = ceiling * (1.0 - 0.5**epoch)
        reporter.report(epoch, value)
    return value
