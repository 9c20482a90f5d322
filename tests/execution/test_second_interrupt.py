"""A second SIGTERM to the parent of local workers SIGKILLs workers that did not stop on the first.

The objective blocks SIGTERM and SIGINT, so the one SIGTERM the parent forwards never
reaches the worker; the parent waits for it until a second signal, then kills it.
For forked workers and fresh interpreters.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from typing import cast

import pytest

import hpo
from hpo.trial import TrialState
from tests.execution.helpers import wait_for, worker_pid

SCRIPT = textwrap.dedent("""
    import sys
    import hpo
    from tests.execution.helpers import FAST_SETTINGS, SPACE, stubborn
    study = hpo.create_study("stubborn", storage=sys.argv[1], space=SPACE, objective=stubborn,
                             seed=0, **FAST_SETTINGS)
    study.optimize(n_trials=4, n_workers=2)
""")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def _running_pids(url: str) -> set[int] | None:
    try:
        running = hpo.load_study("stubborn", storage=url).get_trials([TrialState.RUNNING])
    except hpo.StudyNotFoundError:
        return None
    pids = {worker_pid(cast(str, t.worker_id)) for t in running}
    return pids if len(pids) == 2 else None


@pytest.mark.slow
@pytest.mark.parametrize("start", ["auto", "fresh"])
def test_a_second_sigterm_kills_workers_that_ignore_the_first(sqlite_url, start):
    env = {
        **os.environ,
        "PYTHONPATH": os.getcwd(),
        "HPO_TEST_SLEEP": "120",
        "HPO_WORKER_START": start,
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, sqlite_url],
        env=env,
        start_new_session=True,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids: set[int] = set()
    try:
        pids = wait_for(lambda: _running_pids(sqlite_url), timeout=60)
        proc.send_signal(signal.SIGTERM)
        with pytest.raises(subprocess.TimeoutExpired):  # the parent waits for its workers
            proc.wait(timeout=1.5)
        assert all(_alive(pid) for pid in pids)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert proc.returncode != 0, stderr
    assert "WorkerInterrupted" in stderr  # optimize() re-raises the stop
    assert not [pid for pid in pids if _alive(pid)]  # killed, not left running
