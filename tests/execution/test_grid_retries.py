"""Grid points are never left behind: failed ones are retried, survivors run a dead worker's retry.

Real ``hpo worker`` processes (the command line, in forked processes) on SQLite files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any, cast

import pytest

import hpo
from hpo.space import Categorical
from hpo.trial import TrialState
from tests.execution.helpers import (
    FAST_SETTINGS,
    finish,
    sleepy,
    start_cli_worker,
    wait_for,
    worker_pid,
)

POINTS = {"x": Categorical([0, 1, 2, 3])}
HELPERS = "tests.execution.helpers"


def _grid_study(url: str, name: str, space: dict, **settings: Any) -> hpo.Study:
    return hpo.create_study(
        name,
        storage=url,
        space=space,
        objective=sleepy,
        sampler="grid",
        seed=1,
        **{**FAST_SETTINGS, **settings},
    )


def _complete_points(study: hpo.Study) -> list[int]:
    return sorted(cast(int, t.grid_id) for t in study.trials if t.state == TrialState.COMPLETE)


@pytest.mark.slow
def test_a_failed_grid_point_is_retried(sqlite_url, study_name):
    study = _grid_study(sqlite_url, study_name, POINTS, max_retries=1)
    code, _, err = finish(
        start_cli_worker(
            sqlite_url, study_name, "--trials", "4", "--objective", f"{HELPERS}:flaky_at_zero"
        )
    )
    assert code == 0, err
    assert _complete_points(study) == [0, 1, 2, 3]
    first, retry = [t for t in study.trials if t.params["x"] == 0]
    assert first.state == TrialState.FAILED and "fails the first time" in first.error
    assert (retry.state, retry.retry_of) == (TrialState.COMPLETE, first.number)


@pytest.mark.slow
@pytest.mark.parametrize("budget", [["--trials", "4"], []])
def test_a_grid_point_that_stays_failed_is_reported_and_fails_the_run(
    sqlite_url, study_name, budget
):
    study = _grid_study(sqlite_url, study_name, POINTS, max_retries=2)
    code, _, err = finish(
        start_cli_worker(sqlite_url, study_name, *budget, "--objective", f"{HELPERS}:fails_at_zero")
    )
    assert code == 1, err
    assert "1 grid point(s)" in err and "x=0" in err and f"hpo show {study_name}" in err
    assert _complete_points(study) == [1, 2, 3]
    attempts = [t for t in study.trials if t.params["x"] == 0]
    assert [t.state for t in attempts] == [TrialState.FAILED] * 3  # the first try + max_retries
    assert not [t for t in study.trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]

    env = {**os.environ, "COLUMNS": "200"}
    env.pop("HPO_STORAGE", None)
    shown = subprocess.run(
        [sys.executable, "-m", "hpo", "show", study_name, "--storage", sqlite_url],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    row = [line for line in shown.stdout.splitlines() if "failed grid points" in line]
    assert row and f"#{attempts[-1].number} x=0" in row[0]


@pytest.mark.slow
@pytest.mark.parametrize("budget", [[], ["--trials", "6"]])
def test_survivors_run_a_dead_workers_retry_before_they_exit(sqlite_url, study_name, budget):
    """The worker dies once every point is taken: the others run out of points to claim long
    before its trial goes stale (grace 3 s); they must wait for it and run its retry."""
    space = {"x": Categorical([0, 1, 2, 3, 4, 5])}
    study = _grid_study(sqlite_url, study_name, space, grace_period=3.0)
    objective = ["--objective", f"{HELPERS}:sleepy"]
    workers = [
        start_cli_worker(sqlite_url, study_name, *budget, *objective, sleep=1.0) for _ in range(3)
    ]
    by_pid = {w.pid: w for w in workers}

    def all_points_taken_and_a_victim() -> hpo.FrozenTrial | None:
        trials = study.trials
        if len({t.grid_id for t in trials}) < 6:
            return None
        return next(
            (
                t
                for t in trials
                if t.state == TrialState.RUNNING and worker_pid(t.worker_id) in by_pid
            ),
            None,
        )

    victim = wait_for(all_points_taken_and_a_victim)
    dead = by_pid.pop(worker_pid(victim.worker_id))
    dead.send_signal(signal.SIGKILL)
    dead.wait(timeout=10)
    for w in by_pid.values():
        code, _, err = finish(w)
        assert code == 0, err

    trials = study.trials
    assert _complete_points(study) == list(range(6))  # every point, each exactly once
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    stale = [t for t in trials if t.number == victim.number][0]
    assert stale.state == TrialState.FAILED and stale.error.startswith("stale")
    assert [t.state for t in trials if t.retry_of == victim.number] == [TrialState.COMPLETE]
