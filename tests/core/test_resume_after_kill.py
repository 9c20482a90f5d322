"""Resume: a study SIGKILLed mid-run, rerun, ends with exactly the requested trials, none re-run."""

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
    from hpo.space import Float
    from tests.core.objectives import slow_quadratic
    study = hpo.create_study("resume", storage=sys.argv[1], space={"x": Float(-3, 3)},
                             objective=slow_quadratic, seed=0, load_if_exists=True,
                             heartbeat_interval=0.2, grace_period=1.0, max_retries=0)
    study.optimize(n_trials=int(sys.argv[2]))
""")


def run(url: str, n: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "HPO_TEST_SLEEP": "0.15"}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, url, str(n)], env=env)


@pytest.mark.slow
def test_sigkill_then_resume_reaches_exact_total(sqlite_url):
    proc = run(sqlite_url, 20)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            done = hpo.load_study("resume", storage=sqlite_url).counts().get("COMPLETE", 0)
        except hpo.StudyNotFoundError:
            continue
        if done >= 5:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    before = {
        t.number: (t.params, t.value)
        for t in hpo.load_study("resume", storage=sqlite_url).trials
        if t.state == TrialState.COMPLETE
    }
    assert 5 <= len(before) < 20

    time.sleep(1.2)  # let the killed trial's heartbeat go stale
    assert run(sqlite_url, 20).wait(timeout=120) == 0

    trials = hpo.load_study("resume", storage=sqlite_url).trials
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 20
    for t in complete:  # nothing completed before the kill was re-run or changed
        if t.number in before:
            assert (t.params, t.value) == before[t.number]
    assert all(t.state != TrialState.RUNNING for t in trials)
    stale = [t for t in trials if t.state == TrialState.FAILED]
    assert all(t.error.startswith("stale") for t in stale)
    assert len({t.number for t in trials}) == len(trials) == max(t.number for t in trials) + 1
