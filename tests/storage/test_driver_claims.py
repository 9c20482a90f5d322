"""The SQLite claim on the bare driver connection writes what the Core path writes.

``Storage.claim_new`` on SQLite runs its common case on the sqlite3 connection with the
statements SQLAlchemy compiles (see hpo/storage/_driver.py) and leaves every other case
(a WAITING trial, the budget's end, a deleted study) to the Core transaction. These tests
pin that the two paths are interchangeable: same rows, same outcomes, same errors.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy.dialects import postgresql

from hpo.errors import StorageError, StudyNotFoundError
from hpo.samplers.base import Proposal
from hpo.storage import ClaimStatus, Outcome, Storage
from hpo.storage._driver import DriverStatement
from hpo.storage._records import _NEXT_NUMBER
from hpo.trial import TrialState
from tests.storage.conftest import make_study, prop

COLUMNS = (
    "number, state, params, value, metrics, user_attrs, worker_id, error, retry_of, grid_id, "
    "typeof(started_at), typeof(heartbeat_at), typeof(finished_at), length(started_at), "
    "length(finished_at)"
)


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'driver.db'}"


def _core_only(store: Storage) -> Storage:
    store._driver = None  # what every backend but SQLite runs
    return store


def _claims(store: Storage, name: str) -> list[tuple]:
    """Claim four trials (two carrying their predecessor's result, one finished on its own)
    and read the raw rows."""
    study = make_study(store, name)
    rich = Proposal(
        {"lr": 0.001, "layers": [64, None], "act": "relu"},
        grid_id=7,
        info={"user_attrs": {"note": "é", "n": 1}, "retry_of": 3},
    )
    first = store.claim_new(study.id, "w1", rich).trial
    assert first is not None and first.trial_id is not None
    second = store.claim_new(
        study.id,
        "w1",
        lambda number: Proposal({"x": number / 3}),
        take_waiting=True,
        finish=Outcome(first.trial_id, TrialState.COMPLETE, 0.25, {"acc": 0.9, "nan": None}),
    ).trial
    assert second is not None and second.trial_id is not None
    third = store.claim_new(
        study.id,
        "w1",
        prop(1.5),
        heartbeat=False,
        take_waiting=True,
        finish=Outcome(second.trial_id, TrialState.FAILED, error="boom"),
    ).trial
    assert third is not None and third.trial_id is not None
    assert store.finish(third.trial_id, TrialState.PRUNED, value=2.0, metrics={"step": 3})
    assert not store.finish(third.trial_id, TrialState.COMPLETE, value=1.0)  # once only
    store.claim_new(study.id, "w2", prop(2.5))
    path = store.engine.url.database
    assert path is not None
    with sqlite3.connect(path) as conn:
        return conn.execute(
            f"SELECT {COLUMNS} FROM trials WHERE study_id = ? ORDER BY number", (study.id,)
        ).fetchall()


def test_driver_and_core_claims_write_identical_rows(url):
    fast, core = Storage(url), _core_only(Storage(url))
    assert fast._driver is not None
    try:
        assert _claims(fast, "fast") == _claims(core, "core")
    finally:
        fast.dispose()
        core.dispose()


def test_claims_read_back_the_same_through_both_paths(url):
    store = Storage(url)
    study = make_study(store, "s")
    claimed = store.claim_new(study.id, "w", Proposal({"x": 0.5}, grid_id=2)).trial
    assert store.trials(study.id)[0] == claimed  # what the claim returns is what was stored


def test_uncommon_cases_fall_back_to_the_core_transaction(url):
    store = Storage(url)
    study = make_study(store, "s")
    store.claim_new(study.id, "enqueue", prop(9.0), state=TrialState.WAITING)
    waiting = store.claim_new(study.id, "w", prop(1.0), take_waiting=True).trial
    assert (waiting.number, waiting.params, waiting.state) == (0, {"x": 9.0}, TrialState.RUNNING)
    done = Outcome(waiting.trial_id, TrialState.COMPLETE, 1.0)
    at_budget = store.claim_new(study.id, "w", prop(), budget=1, take_waiting=True, finish=done)
    assert at_budget.status == ClaimStatus.BUDGET_REACHED
    assert store.trials(study.id)[0].value == 1.0  # the result rode along with the fallback
    assert store.claim_new(study.id, "w", prop(), expected_number=0).status == (
        ClaimStatus.NUMBER_TAKEN
    )
    assert store.claim_new(study.id, "w", prop(0.0, grid_id=None), budget=5).trial.number == 1
    store.delete_study("s")
    with pytest.raises(StudyNotFoundError, match="was deleted"):
        store.claim_new(study.id, "w", prop())


def test_a_claim_waits_for_another_writer_to_let_go(url):
    store = Storage(url)
    study = make_study(store, "s")
    holder = sqlite3.connect(
        store.engine.url.database, isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Timer(0.3, holder.execute, args=("COMMIT",))
    released.start()
    started = time.monotonic()
    claim = store.claim_new(study.id, "w", prop())
    assert time.monotonic() - started >= 0.25  # it waited for the lock, then got it
    assert claim.status == ClaimStatus.CREATED and claim.trial.number == 0
    released.join()
    holder.close()


def test_driver_errors_are_retried_and_translated_like_core_ones(url):
    store = Storage(url)
    calls = []

    def locked_once(conn):
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database is locked")
        return conn.execute("SELECT 1").fetchone()[0]

    assert store.tx.run_driver(locked_once) == 1 and len(calls) == 2  # transient: retried
    with pytest.raises(StorageError, match="no such table: nowhere") as caught:
        store.tx.run_driver(lambda conn: conn.execute("SELECT * FROM nowhere"))
    assert "driver.db" in str(caught.value)  # names the database, as the Core path does


def test_a_failed_driver_transaction_leaves_nothing_behind(url):
    store = Storage(url)
    study = make_study(store, "s")

    def insert_then_fail(proposal_number):
        raise RuntimeError(f"sampler broke at {proposal_number}")

    with pytest.raises(RuntimeError, match="sampler broke at 0"):
        store.claim_new(study.id, "w", insert_then_fail)
    assert store.trials(study.id) == [] and store.snapshot(study.id).next_number == 0
    assert store.claim_new(study.id, "w", prop()).trial.number == 0  # the connection is usable


def test_driver_statements_need_a_qmark_driver():
    with pytest.raises(ValueError, match="qmark"):
        DriverStatement(_NEXT_NUMBER, postgresql.dialect())
