"""Ctrl-C in a terminal during study.optimize(n_workers=2): SIGINT reaches the process group,
the parent forwards it to its workers (in their own session); every running trial is
released and nothing stays RUNNING."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import hpo
from hpo.trial import TrialState

SCRIPT = textwrap.dedent("""
    import sys
    import hpo
    from tests.execution.helpers import FAST_SETTINGS, SPACE, slow
    study = hpo.create_study("ctrl-c", storage=sys.argv[1], space=SPACE, objective=slow, seed=0,
                             load_if_exists=True, **FAST_SETTINGS)
    study.optimize(n_trials=200, n_workers=2)
""")


@pytest.mark.slow
@pytest.mark.parametrize("start", ["auto", "fresh"])  # forked workers, fresh interpreters
def test_ctrl_c_during_parallel_optimize_leaves_nothing_running(sqlite_url, start):
    env = {
        **os.environ,
        "PYTHONPATH": os.getcwd(),
        "HPO_TEST_SLEEP": "1.0",
        "HPO_WORKER_START": start,
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, sqlite_url],
        env=env,
        start_new_session=True,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    running = 0
    while time.monotonic() < deadline and running < 2:  # wait until both workers are mid-trial
        time.sleep(0.2)
        try:
            running = hpo.load_study("ctrl-c", storage=sqlite_url).counts().get("RUNNING", 0)
        except hpo.StudyNotFoundError:
            continue
    assert running == 2, "both workers should be running a trial before Ctrl-C"
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0, "an interrupted optimize() re-raises KeyboardInterrupt"

    trials = hpo.load_study("ctrl-c", storage=sqlite_url).trials
    assert not [t for t in trials if t.state == TrialState.RUNNING], stderr[-2000:]
    interrupted = [t for t in trials if t.state == TrialState.FAILED]
    assert len(interrupted) == 2 and all(t.error.startswith("interrupted") for t in interrupted)
    requeued = [t for t in trials if t.state == TrialState.WAITING]
    assert sorted(t.retry_of for t in requeued) == sorted(t.number for t in interrupted)
