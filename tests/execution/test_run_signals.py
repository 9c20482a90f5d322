"""SIGTERM and Ctrl-C to ``hpo run --workers 2``: no worker outlives the run, trials are re-queued.

A real ``python -m hpo run`` in its own session, two worker processes, one SQLite file.
The worker pids are read from the trials they run (worker ids are host:pid:random).
Workers are forks of ``hpo run`` by default; ``HPO_WORKER_START=fresh`` makes them fresh
interpreters, and both paths keep every guarantee here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

import pytest

import hpo
from hpo.trial import TrialState
from tests.execution.helpers import wait_for, worker_pid

STUDY_FILE = Path(__file__).parents[1] / "cli" / "quadratic_study.py"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead, just not reaped yet
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def _start_run(url: str, cwd: Path, start: str = "auto") -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "QUADRATIC_SLEEP": "1.0",
        "PYTHONPATH": os.getcwd(),
        "HPO_WORKER_START": start,
    }
    env.pop("HPO_STORAGE", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hpo",
            "run",
            str(STUDY_FILE),
            "--workers",
            "2",
            "--trials",
            "30",
            "--storage",
            url,
            "--no-progress",
        ],
        cwd=cwd,
        env=env,
        start_new_session=True,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _running_pids(url: str) -> set[int]:
    try:
        study = hpo.load_study("quadratic", storage=url)
    except hpo.StudyNotFoundError:
        return set()
    return {worker_pid(cast(str, t.worker_id)) for t in study.get_trials([TrialState.RUNNING])}


def _two_running(url: str) -> set[int] | None:
    pids = _running_pids(url)
    return pids if len(pids) == 2 else None


@pytest.mark.slow
@pytest.mark.parametrize(
    "sig, to_group, code, start",
    [
        (signal.SIGTERM, False, 143, "auto"),  # kill PID: only the parent gets it
        (signal.SIGTERM, True, 143, "auto"),  # kill -TERM -PGID, docker stop of a shell, systemd
        (signal.SIGINT, True, 130, "auto"),  # Ctrl-C in a terminal
        (signal.SIGTERM, False, 143, "fresh"),
        (signal.SIGINT, True, 130, "fresh"),
    ],
)
def test_stopping_hpo_run_stops_every_worker_and_requeues_their_trials(
    tmp_path, sig, to_group, code, start
):
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    run = _start_run(url, tmp_path, start)
    try:
        pids = wait_for(lambda: _two_running(url), timeout=60)
        assert run.pid not in pids  # the trials run in the worker processes
        if to_group:
            os.killpg(run.pid, sig)
        else:
            run.send_signal(sig)
        _, stderr = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == code, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr  # one line says what happened
    assert not [pid for pid in pids if _alive(pid)]  # no worker outlives `hpo run`

    trials = hpo.load_study("quadratic", storage=url).trials
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    released = [t for t in trials if t.state == TrialState.FAILED]
    assert len(released) == 2 and all(t.error.startswith("interrupted") for t in released)
    requeued = [t for t in trials if t.state == TrialState.WAITING]
    assert sorted(t.retry_of for t in requeued) == sorted(t.number for t in released)


@pytest.mark.slow
@pytest.mark.parametrize("start", ["auto", "fresh"])
def test_workers_stop_when_hpo_run_is_killed(tmp_path, start):
    """SIGKILL cannot be caught: the workers notice their parent is gone and stop themselves
    (a forked worker must not hold another worker's end of the pipe, or none would notice)."""
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    run = _start_run(url, tmp_path, start)
    try:
        pids = wait_for(lambda: _two_running(url), timeout=60)
        run.kill()
        run.communicate(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)
        assert not [pid for pid in pids if _alive(pid)]
    finally:
        for pid in _running_pids(url):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    trials = hpo.load_study("quadratic", storage=url).trials
    assert not [
        t for t in trials if t.state == TrialState.RUNNING
    ]  # released, not left to go stale
