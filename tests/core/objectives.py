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
    return (params["x"] - 1.0) ** 2
