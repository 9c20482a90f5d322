"""A worker writes trial k's result in the transaction that claims trial k+1.

Whatever happens to that claim (it succeeds, meets the budget, loses a grid race, or the
previous trial was declared stale meanwhile), the result is stored exactly once.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

import hpo
from hpo.execution.worker import worker_loop
from hpo.space import Float
from hpo.storage import ClaimStatus, Outcome, utcnow
from hpo.storage.schema import TrialRow
from hpo.trial import TrialState
from tests.storage.conftest import make_study, prop

COMPLETE, FAILED, RUNNING, WAITING = (
    TrialState.COMPLETE,
    TrialState.FAILED,
    TrialState.RUNNING,
    TrialState.WAITING,
)


def by_number(storage, study_id):
    return {t.number: t for t in storage.trials(study_id)}


def test_result_and_next_claim_in_one_transaction(storage, study_name):
    study = make_study(storage, study_name)
    first = storage.claim_new(study.id, "w", prop(0.1)).trial
    claim = storage.claim_new(
        study.id, "w", prop(0.2), finish=Outcome(first.trial_id, COMPLETE, 1.5, {"acc": 0.9})
    )
    assert claim.status == ClaimStatus.CREATED and claim.trial.number == 1
    trials = by_number(storage, study.id)
    assert (trials[0].state, trials[0].value, trials[0].metrics) == (COMPLETE, 1.5, {"acc": 0.9})
    assert trials[1].state == RUNNING


def test_result_is_stored_when_the_budget_is_reached(storage, study_name):
    study = make_study(storage, study_name)
    only = storage.claim_new(study.id, "w", prop(), budget=1).trial
    claim = storage.claim_new(
        study.id, "w", prop(), budget=1, finish=Outcome(only.trial_id, COMPLETE, 2.0)
    )
    assert claim.status == ClaimStatus.BUDGET_REACHED
    assert by_number(storage, study.id)[0].value == 2.0


def test_result_is_stored_when_the_claim_loses_a_grid_race(storage, study_name):
    study = make_study(storage, study_name)
    first = storage.claim_new(study.id, "w", prop(grid_id=0)).trial
    claim = storage.claim_new(
        study.id, "w", prop(grid_id=0), finish=Outcome(first.trial_id, COMPLETE, 3.0, {"epochs": 4})
    )
    assert claim.status == ClaimStatus.GRID_TAKEN  # the unique index rolled the claim back...
    trials = by_number(storage, study.id)
    assert list(trials) == [0] and (trials[0].state, trials[0].value) == (
        COMPLETE,
        3.0,
    )  # ...not the result


def test_late_result_of_a_stale_trial_is_kept_and_its_retry_cancelled(storage, study_name):
    study = make_study(storage, study_name)
    first = storage.claim_new(study.id, "w", prop()).trial
    storage.tx.run(
        lambda s: s.execute(
            update(TrialRow)
            .where(TrialRow.id == first.trial_id)
            .values(heartbeat_at=utcnow() - timedelta(seconds=60))
        )
    )
    assert storage.fail_stale(study.id, grace_seconds=5, max_retries=1) == [0]
    claim = storage.claim_new(
        study.id, "w", prop(), take_waiting=True, finish=Outcome(first.trial_id, COMPLETE, 0.5)
    )
    assert claim.status == ClaimStatus.CREATED
    trials = by_number(storage, study.id)
    assert (trials[0].state, trials[0].value) == (COMPLETE, 0.5)  # nothing completed is lost
    assert trials[1].retry_of == 0 and trials[1].state == FAILED  # its retry was cancelled
    assert trials[2].state == RUNNING and claim.trial.number == 2


def test_worker_loop_leaves_no_result_unwritten(storage_url, study_name):
    study = hpo.create_study(
        study_name,
        storage=storage_url,
        space={"x": Float(0, 1)},
        objective=lambda p, r: p["x"],
        seed=0,
    )
    worker_loop(study, n_trials=7)
    assert study.counts() == {"COMPLETE": 7}
    worker_loop(study, n_trials=100, timeout=0.2)  # stops on time: the last result is flushed
    counts = study.counts()
    assert counts.get("RUNNING", 0) == 0 and counts["COMPLETE"] > 7
