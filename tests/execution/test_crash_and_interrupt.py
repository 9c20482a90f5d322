"""Real worker processes killed with SIGKILL, stopped with SIGTERM / SIGINT: nothing is lost.

Settings are short (heartbeat 0.2 s, grace 1.5 s) so a dead worker's trial goes stale fast.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

import hpo
from hpo.trial import TrialState
from tests.execution.helpers import (
    FAST_SETTINGS,
    SPACE,
    finish,
    slow,
    start_worker,
    wait_for,
    worker_pid,
)

COMPLETE, FAILED, RUNNING, WAITING = "COMPLETE", "FAILED", "RUNNING", "WAITING"


def _create(url: str, name: str, **settings: Any) -> hpo.Study:
    return hpo.create_study(
        name, storage=url, space=SPACE, objective=slow, seed=3, **{**FAST_SETTINGS, **settings}
    )


def _running(study: hpo.Study) -> list[hpo.FrozenTrial]:
    return study.get_trials([TrialState.RUNNING])


def _check_consistent(study: hpo.Study, total: int) -> list[hpo.FrozenTrial]:
    trials = study.trials
    states = [t.state.value for t in trials]
    assert states.count(COMPLETE) == total
    assert RUNNING not in states and WAITING not in states
    assert [t.number for t in trials] == list(range(len(trials)))  # unique and contiguous
    return trials


@pytest.mark.slow
def test_sigkilled_workers_trials_go_stale_and_are_retried(sqlite_url, study_name):
    study = _create(sqlite_url, study_name)
    procs = [start_worker(sqlite_url, study_name, "--trials", "16", sleep=0.3) for _ in range(4)]
    by_pid = {p.pid: p for p in procs}
    wait_for(lambda: study.counts().get(COMPLETE, 0) >= 3)
    before = {t.number: (t.params, t.value) for t in study.trials if t.state == TrialState.COMPLETE}
    victims = wait_for(
        lambda: (
            [t for t in _running(study) if worker_pid(t.worker_id) in by_pid][:2]
            if len(_running(study)) >= 2
            else None
        )
    )
    for t in victims:
        os.kill(worker_pid(t.worker_id), signal.SIGKILL)
    survivors = [p for p in procs if p.pid not in {worker_pid(t.worker_id) for t in victims}]
    results = [finish(p) for p in survivors]
    for p in procs:
        p.wait(timeout=30)

    assert [code for code, _, _ in results] == [0, 0]
    assert all("database is locked" not in err for _, _, err in results)
    trials = _check_consistent(study, 16)
    by_number = {t.number: t for t in trials}
    for victim in victims:
        dead = by_number[victim.number]
        assert dead.state == TrialState.FAILED and dead.error.startswith("stale: no heartbeat")
        retries = [t for t in trials if t.retry_of == victim.number]
        assert len(retries) == 1 and retries[0].params == victim.params
        assert retries[0].state == TrialState.COMPLETE
    for number, (params, value) in before.items():  # nothing completed was lost or re-run
        assert (by_number[number].params, by_number[number].value) == (params, value)


@pytest.mark.slow
def test_restart_after_all_workers_died_continues_to_the_total(sqlite_url, study_name):
    study = _create(sqlite_url, study_name, max_retries=0)
    procs = [start_worker(sqlite_url, study_name, "--trials", "10", sleep=0.3) for _ in range(2)]
    wait_for(lambda: study.counts().get(COMPLETE, 0) >= 2 and len(_running(study)) == 2)
    for p in procs:
        p.kill()
        p.wait(timeout=10)
    done_before = study.counts().get(COMPLETE, 0)
    assert done_before < 10 and len(_running(study)) == 2  # the dead left their trials RUNNING

    code, stats, err = finish(start_worker(sqlite_url, study_name, "--trials", "10", sleep=0.05))
    assert code == 0, err
    trials = _check_consistent(study, 10)
    stale = [t for t in trials if t.state == TrialState.FAILED]
    assert len(stale) == 2 and all(t.error.startswith("stale") for t in stale)
    assert stats["COMPLETE"] == 10 - done_before
    assert not any(t.retry_of is not None for t in trials)  # max_retries=0


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_stopped_worker_releases_and_requeues_its_trial(sqlite_url, study_name, sig, code):
    study = _create(sqlite_url, study_name)
    proc = start_worker(sqlite_url, study_name, "--trials", "6", sleep=1.0)
    wait_for(lambda: study.counts().get(COMPLETE, 0) >= 1 and _running(study))
    interrupted = _running(study)[0]
    proc.send_signal(sig)
    assert finish(proc, timeout=20)[0] == code

    trials = {t.number: t for t in study.trials}
    assert not _running(study)
    assert trials[interrupted.number].state == TrialState.FAILED
    assert trials[interrupted.number].error.startswith("interrupted")
    requeued = [t for t in trials.values() if t.retry_of == interrupted.number]
    assert [(t.state, t.params) for t in requeued] == [(TrialState.WAITING, interrupted.params)]

    code, stats, err = finish(start_worker(sqlite_url, study_name, "--trials", "6", sleep=0.01))
    assert code == 0, err
    _check_consistent(study, 6)
    assert study.storage.trial(study.id, requeued[0].number).state == TrialState.COMPLETE
