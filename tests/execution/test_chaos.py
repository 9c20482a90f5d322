"""Chaos: 4 ``hpo worker`` processes over a grid, random SIGKILLs and restarts, then completion.

Whatever is killed and wherever (mid-trial, mid-claim, mid-heartbeat), the grid ends with
every point COMPLETE exactly once, nothing RUNNING or WAITING, trial numbers unique and
contiguous, and (SQLite) ``PRAGMA integrity_check`` ok. A longer run with more workers
and kills is ``benchmarks/chaos.py``.
"""

from __future__ import annotations

import random
import sqlite3
import time

import pytest

import hpo
from hpo.space import Categorical, Int
from hpo.storage import sqlite_path
from hpo.trial import TrialState
from tests.execution.helpers import finish, sleepy, start_cli_worker, worker_pid

SPACE = {"a": Categorical(list("pqrstu")), "b": Int(1, 10)}  # 60 points
N_POINTS = 60
SETTINGS = {"heartbeat_interval": 0.2, "grace_period": 1.0, "max_retries": 50}
KILLS = 12


def _start(url: str, name: str):
    return start_cli_worker(url, name, "--objective", "tests.execution.helpers:sleepy", sleep=0.5)


@pytest.mark.slow
def test_random_kills_and_restarts_end_with_each_grid_point_complete_once(storage_url, study_name):
    study = hpo.create_study(
        study_name,
        storage=storage_url,
        space=SPACE,
        objective=sleepy,
        sampler="grid",
        seed=0,
        **SETTINGS,
    )
    rng = random.Random(20261201)
    workers = [_start(storage_url, study_name) for _ in range(4)]
    kills = lost_mid_trial = 0
    deadline = time.monotonic() + 30
    while kills < KILLS and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.2, 0.6))
        alive = [w for w in workers if w.process.is_alive()]
        if not alive:
            break  # the grid is done
        busy = {worker_pid(t.worker_id) for t in study.get_trials([TrialState.RUNNING])}
        mid_trial = [w for w in alive if w.pid in busy]
        # mostly mid-trial (a trial to lose), sometimes anywhere (mid-claim, starting up)
        candidates = mid_trial if rng.random() < 0.8 else alive
        if not candidates:
            continue
        victim = rng.choice(candidates)
        victim.kill()
        victim.wait(timeout=10)
        kills += 1
        lost_mid_trial += victim in mid_trial
        workers[workers.index(victim)] = _start(storage_url, study_name)
    results = [finish(w, timeout=60) for w in workers]

    assert kills > 0
    for code, _, err in results:
        assert code == 0, err
    trials = study.trials
    complete = sorted(t.grid_id for t in trials if t.state == TrialState.COMPLETE)
    assert complete == list(range(N_POINTS))  # none lost, none duplicated
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert [t.number for t in trials] == list(range(len(trials)))
    path = sqlite_path(storage_url)
    if path is not None:
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    print(
        f"chaos: {kills} kills ({lost_mid_trial} mid-trial), {len(trials)} trials, "
        f"{len(complete)} complete, "
        f"{sum(t.state == TrialState.FAILED for t in trials)} failed (stale/superseded)"
    )
