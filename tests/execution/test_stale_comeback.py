"""A worker paused past the grace period (SIGSTOP) comes back (SIGCONT) while its retry exists.

The semantics (docs/ARCHITECTURE.md, "Late results"): the first result of a set of
params to arrive wins and counts; the other attempt ends FAILED "superseded" with its
own result kept on its row, so nothing is counted twice and nothing is lost. Both
orders are pinned, for the grid sampler (unique grid points) and the random sampler
(the budget), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

import hpo
from hpo.space import Categorical, Float
from hpo.trial import TrialState
from tests.execution.helpers import finish, sleepy, start_worker, wait_for

SETTINGS = {"heartbeat_interval": 0.2, "grace_period": 1.0, "max_retries": 1}
SPACES = {"grid": {"x": Categorical([0, 1, 2])}, "random": {"x": Float(-1.0, 1.0)}}


def _states(study: hpo.Study) -> list[tuple[int, str, int | None, str | None]]:
    return [(t.number, t.state.value, t.retry_of, t.error) for t in study.trials]


def _trial(study: hpo.Study, number: int) -> hpo.FrozenTrial | None:
    found = [t for t in study.trials if t.number == number]
    return found[0] if found else None


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["grid", "random"])
@pytest.mark.parametrize("first", ["comeback", "retry"])
def test_paused_worker_coming_back_counts_each_result_once(storage_url, study_name, sampler, first):
    study = hpo.create_study(
        study_name,
        storage=storage_url,
        space=SPACES[sampler],
        objective=sleepy,
        sampler=sampler,
        seed=5,
        **SETTINGS,
    )
    paused = start_worker(
        storage_url, study_name, "--trials", "3", "--objective", "sleepy", sleep=2.0
    )
    wait_for(lambda: (t := _trial(study, 0)) is not None and t.state == TrialState.RUNNING)
    paused.send_signal(signal.SIGSTOP)
    time.sleep(SETTINGS["grace_period"] + 0.5)  # its heartbeat goes stale
    retry_sleep = 30.0 if first == "comeback" else 0.2
    other = start_worker(
        storage_url, study_name, "--trials", "3", "--objective", "sleepy", sleep=retry_sleep
    )
    try:
        # the other worker declares #0 stale on start and claims its retry, #1
        wait_for(
            lambda: (
                (t := _trial(study, 1)) is not None
                and t.retry_of == 0
                and t.state == (TrialState.RUNNING if first == "comeback" else TrialState.COMPLETE)
            ),
            describe=lambda: _states(study),
        )
    finally:
        paused.send_signal(signal.SIGCONT)  # its 2 s sleep is long over: its result arrives now
    if first == "comeback":
        wait_for(
            lambda: _trial(study, 0).state == TrialState.COMPLETE, describe=lambda: _states(study)
        )
        other.send_signal(signal.SIGTERM)  # no need to wait 30 s for the superseded attempt
        assert finish(other)[0] == 143
    results = [finish(paused)] + ([] if first == "comeback" else [finish(other)])
    for code, _, err in results:
        assert code == 0, err
        assert "UNIQUE" not in err and "Traceback" not in err

    trials = study.trials
    states = [t.state for t in trials]
    assert states.count(TrialState.COMPLETE) == 3
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    if sampler == "grid":
        done = sorted(t.grid_id for t in trials if t.state == TrialState.COMPLETE)
        assert done == [0, 1, 2]  # each point complete exactly once
    winner, loser = (trials[0], trials[1]) if first == "comeback" else (trials[1], trials[0])
    assert winner.state == TrialState.COMPLETE and winner.params == loser.params
    assert loser.state == TrialState.FAILED and loser.error.startswith("superseded")
    if first == "retry":  # the late result was computed: it is kept on its row, not counted
        assert loser.value == winner.value
    assert len({t.number for t in trials}) == len(trials)


def test_superseded_attempt_result_is_kept_but_not_counted(storage_url, study_name):
    """Storage level: stale #0, its retry #1 RUNNING; #0's late result wins, #1's is recorded."""
    study = hpo.create_study(
        study_name, storage=storage_url, space=SPACES["grid"], sampler="grid", seed=0, **SETTINGS
    )
    storage = study.storage
    first = storage.claim_new(study.id, "a", study.sampler.ask(study.space, [], [], None)).trial
    _age(storage, first.trial_id)
    assert storage.fail_stale(study.id, grace_seconds=1.0, max_retries=1) == [0]
    retry = storage.claim_waiting(study.id, "b")
    assert retry is not None and retry.retry_of == 0 and retry.grid_id == first.grid_id

    assert storage.finish(first.trial_id, TrialState.COMPLETE, value=1.5) is True
    assert storage.finish(retry.trial_id, TrialState.COMPLETE, value=2.5) is False
    by_number = {t.number: t for t in study.trials}
    assert (by_number[0].state, by_number[0].value) == (TrialState.COMPLETE, 1.5)
    assert (by_number[1].state, by_number[1].value) == (TrialState.FAILED, 2.5)
    assert by_number[1].error.startswith("superseded: trial 0 finished first")
    assert study.counts() == {"COMPLETE": 1, "FAILED": 1}


def _age(storage, trial_id: int) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from hpo.storage import utcnow
    from hpo.storage.schema import TrialRow

    storage.tx.run(
        lambda s: s.execute(
            update(TrialRow)
            .where(TrialRow.id == trial_id)
            .values(heartbeat_at=utcnow() - timedelta(seconds=30))
        )
    )


if os.name != "posix":  # pragma: no cover
    pytestmark = pytest.mark.skip("SIGSTOP/SIGCONT need POSIX")
