"""The storage contract: every test runs on a real SQLite file and on a real PostgreSQL database."""

from __future__ import annotations

import os
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text, update

from hpo.errors import SchemaVersionError, StorageError
from hpo.storage import ClaimStatus, Storage, utcnow
from hpo.storage.engine import normalize_url
from hpo.storage.schema import SCHEMA_VERSION, TrialRow
from hpo.trial import TrialState
from tests.storage.conftest import make_study, prop

COMPLETE, FAILED, RUNNING, WAITING = (
    TrialState.COMPLETE,
    TrialState.FAILED,
    TrialState.RUNNING,
    TrialState.WAITING,
)


def _raw(url: str, sql: str) -> None:
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


def _age_heartbeat(store: Storage, trial_id: int, seconds: float) -> None:
    store.tx.run(
        lambda s: s.execute(
            update(TrialRow)
            .where(TrialRow.id == trial_id)
            .values(heartbeat_at=utcnow() - timedelta(seconds=seconds))
        )
    )


# ---------------------------------------------------------------- schema
def test_schema_created_once_and_reopened(fresh_url):
    Storage(fresh_url).dispose()
    store = Storage(fresh_url)  # a second open finds the schema and keeps it
    assert store.study_names() == []
    engine = create_engine(normalize_url(fresh_url))
    with engine.connect() as conn:
        assert conn.execute(
            text("SELECT value FROM hpo_schema WHERE key = 'schema_version'")
        ).scalar() == str(SCHEMA_VERSION)
    engine.dispose()
    store.dispose()


def test_other_schema_version_is_refused(fresh_url):
    Storage(fresh_url).dispose()
    _raw(fresh_url, "UPDATE hpo_schema SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(
        SchemaVersionError,
        match=rf"schema version 99;.*reads version {SCHEMA_VERSION}"
        r".*upgrade hpo to open it",
    ):
        Storage(fresh_url)


def test_foreign_database_with_our_table_names_is_refused(fresh_url):
    _raw(fresh_url, "CREATE TABLE studies (id INTEGER PRIMARY KEY, label TEXT)")
    with pytest.raises(
        StorageError,
        match=re.escape(
            "has tables named ['studies'] but no hpo schema version: it was not written by hpo. "
            "Use another database."
        ),
    ):
        Storage(fresh_url)


# ---------------------------------------------------------------- studies
def test_study_names_are_unique(storage, study_name):
    make_study(storage, study_name)
    with pytest.raises(
        StorageError,
        match=re.escape(
            f"A study named {study_name!r} already exists in {storage!r}. Load it, or use a new "
            f"name."
        ),
    ):
        make_study(storage, study_name)
    assert storage.study_names().count(study_name) == 1


# ---------------------------------------------------------------- claims
def test_claim_numbers_are_contiguous_and_budget_is_never_overshot(storage, study_name):
    study = make_study(storage, study_name)
    claims = [storage.claim_new(study.id, "w", prop(i), budget=3) for i in range(5)]
    assert [c.status for c in claims] == [ClaimStatus.CREATED] * 3 + [
        ClaimStatus.BUDGET_REACHED
    ] * 2
    assert [c.trial.number for c in claims[:3]] == [0, 1, 2]
    # a FAILED trial does not count: its slot is free again; COMPLETE and RUNNING do count
    storage.finish(claims[0].trial.trial_id, FAILED, error="boom")
    storage.finish(claims[1].trial.trial_id, COMPLETE, value=1.0)
    again = storage.claim_new(study.id, "w", prop(), budget=3)
    assert again.status == ClaimStatus.CREATED and again.trial.number == 3
    assert storage.claim_new(study.id, "w", prop(), budget=3).status == ClaimStatus.BUDGET_REACHED


def test_claim_for_a_taken_number_is_refused(storage, study_name):
    study = make_study(storage, study_name)
    assert storage.claim_new(study.id, "a", prop(), expected_number=0).status == ClaimStatus.CREATED
    late = storage.claim_new(study.id, "b", prop(), expected_number=0)
    assert late.status == ClaimStatus.NUMBER_TAKEN and late.trial is None
    assert storage.snapshot(study.id).next_number == 1


def test_concurrent_claims_from_threads(storage, study_name):
    """8 threads race for 60 slots: every number once, 0..59, never more."""
    study = make_study(storage, study_name)
    got: list[int] = []
    errors: list[BaseException] = []

    def claimer() -> None:
        try:
            while (
                c := storage.claim_new(study.id, threading.current_thread().name, prop(), budget=60)
            ).status == ClaimStatus.CREATED:
                got.append(c.trial.number)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=claimer, name=f"t{i}") for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sorted(got) == list(range(60))


def test_grid_point_is_unique_but_a_failed_one_can_be_retried(storage, study_name):
    study = make_study(storage, study_name)
    first = storage.claim_new(study.id, "a", prop(1.0, grid_id=3))
    assert first.status == ClaimStatus.CREATED
    assert storage.claim_new(study.id, "b", prop(1.0, grid_id=3)).status == ClaimStatus.GRID_TAKEN
    storage.finish(first.trial.trial_id, FAILED, error="boom")
    retry = storage.claim_new(study.id, "b", prop(1.0, grid_id=3))
    assert retry.status == ClaimStatus.CREATED and retry.trial.number == 1
    storage.finish(retry.trial.trial_id, COMPLETE, value=0.5)
    assert storage.claim_new(study.id, "c", prop(1.0, grid_id=3)).status == ClaimStatus.GRID_TAKEN
    assert storage.claim_new(study.id, "c", prop(2.0, grid_id=4)).status == ClaimStatus.CREATED


def test_waiting_trials_are_claimed_oldest_first_within_budget(storage, study_name):
    study = make_study(storage, study_name)
    for x in (1.0, 2.0):
        storage.claim_new(study.id, "enqueue", prop(x), state=WAITING)
    assert storage.claim_waiting(study.id, "w", budget=1).params == {"x": 1.0}
    assert storage.claim_waiting(study.id, "w", budget=1) is None  # one RUNNING fills a budget of 1
    second = storage.claim_waiting(study.id, "w", budget=2)
    assert (second.number, second.state, second.worker_id) == (1, RUNNING, "w")
    assert storage.claim_waiting(study.id, "w") is None


# ---------------------------------------------------------------- heartbeats, stale, retries
def test_heartbeat_refreshes_running_trials_only(storage, study_name):
    study = make_study(storage, study_name)
    a = storage.claim_new(study.id, "w", prop()).trial
    b = storage.claim_new(study.id, "w", prop()).trial
    _age_heartbeat(storage, a.trial_id, 30)
    _age_heartbeat(storage, b.trial_id, 30)
    storage.finish(b.trial_id, COMPLETE, value=1.0)
    storage.heartbeat([a.trial_id, b.trial_id])
    fresh = {t.number: t.heartbeat_at for t in storage.trials(study.id)}
    assert utcnow() - fresh[0] < timedelta(seconds=5)
    assert utcnow() - fresh[1] > timedelta(seconds=25)
    assert storage.fail_stale(study.id, grace_seconds=10, max_retries=1) == []


def test_stale_trial_fails_and_is_retried_with_retry_of(storage, study_name):
    study = make_study(storage, study_name)
    dead = storage.claim_new(study.id, "dead", prop(0.25, grid_id=7), budget=2).trial
    alive = storage.claim_new(study.id, "alive", prop(0.5), budget=2).trial
    no_beat = storage.claim_new(
        study.id, "ask", prop(), heartbeat=False
    ).trial  # ask/tell: never stale
    _age_heartbeat(storage, dead.trial_id, 30)
    assert storage.fail_stale(study.id, grace_seconds=10, max_retries=1) == [0]
    assert storage.fail_stale(study.id, grace_seconds=10, max_retries=1) == []  # failed once
    trials = {t.number: t for t in storage.trials(study.id)}
    assert trials[0].state == FAILED and trials[0].error.startswith(
        "stale: no heartbeat from worker dead"
    )
    assert trials[alive.number].state == RUNNING and trials[no_beat.number].state == RUNNING
    retry = trials[3]
    assert (retry.state, retry.retry_of, retry.params, retry.grid_id) == (
        WAITING,
        0,
        {"x": 0.25},
        7,
    )
    # the retry takes the dead trial's slot in the budget, and runs with the same params
    claimed = storage.claim_waiting(study.id, "w2", budget=3)
    assert claimed.number == 3 and claimed.user_attrs["retry_attempt"] == 1
    _age_heartbeat(storage, claimed.trial_id, 30)
    assert storage.fail_stale(study.id, grace_seconds=10, max_retries=1) == [3]
    assert storage.counts(study.id).get("WAITING", 0) == 0  # retries used up


def test_no_retry_when_max_retries_is_zero(storage, study_name):
    study = make_study(storage, study_name)
    dead = storage.claim_new(study.id, "dead", prop()).trial
    _age_heartbeat(storage, dead.trial_id, 30)
    assert storage.fail_stale(study.id, grace_seconds=10, max_retries=0) == [0]
    assert storage.counts(study.id) == {"FAILED": 1}


def test_concurrent_stale_checks_fail_each_trial_once(storage, study_name):
    study = make_study(storage, study_name)
    for _ in range(5):
        _age_heartbeat(storage, storage.claim_new(study.id, "dead", prop()).trial.trial_id, 30)
    results: list[list[int]] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                storage.fail_stale(study.id, grace_seconds=10, max_retries=1)
            )
        )
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(n for r in results for n in r) == [0, 1, 2, 3, 4]
    trials = storage.trials(study.id)
    assert sorted(t.retry_of for t in trials if t.state == WAITING) == [0, 1, 2, 3, 4]
    assert [t.number for t in trials] == list(range(10))


def test_late_result_after_stale_is_kept_and_its_retry_cancelled(storage, study_name):
    study = make_study(storage, study_name)
    slow = storage.claim_new(study.id, "slow", prop(0.1)).trial
    _age_heartbeat(storage, slow.trial_id, 30)
    storage.fail_stale(study.id, grace_seconds=10, max_retries=1)
    assert storage.finish(slow.trial_id, COMPLETE, value=0.125) is True
    trials = storage.trials(study.id)
    assert (trials[0].state, trials[0].value, trials[0].error) == (COMPLETE, 0.125, None)
    assert trials[1].state == FAILED and trials[1].error.startswith("superseded: trial 0 finished")
    assert storage.claim_waiting(study.id, "w") is None
    assert storage.finish(slow.trial_id, COMPLETE, value=9.0) is False  # told once


def test_release_fails_the_trial_and_requeues_its_params(storage, study_name):
    study = make_study(storage, study_name)
    trial = storage.claim_new(study.id, "w", prop(0.75, grid_id=2)).trial
    storage.release(trial.trial_id, reason="interrupted: test", requeue=True)
    storage.release(trial.trial_id, reason="interrupted: again", requeue=True)  # no-op
    trials = storage.trials(study.id)
    assert [(t.number, t.state, t.error) for t in trials] == [
        (0, FAILED, "interrupted: test"),
        (1, WAITING, None),
    ]
    assert (trials[1].retry_of, trials[1].params, trials[1].grid_id) == (0, {"x": 0.75}, 2)
    done = storage.claim_new(study.id, "w", prop()).trial
    storage.finish(done.trial_id, COMPLETE, value=1.0)
    storage.release(done.trial_id, reason="interrupted", requeue=True)  # finished: untouched
    assert storage.trial(study.id, done.number).state == COMPLETE


# ---------------------------------------------------------------- leaderboard
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_leaderboard_order(storage, study_name, direction):
    study = storage.create_study(
        name=study_name,
        direction=direction,
        space={},
        sampler={},
        objective={},
        settings={},
        user_attrs={},
        seed=0,
    )
    values = [3.0, 1.0, 2.0, 1.0, None, 5.0]
    for i, v in enumerate(values):
        t = storage.claim_new(study.id, "w", prop(i)).trial
        if v is None:
            continue  # stays RUNNING: not on the board
        storage.finish(t.trial_id, COMPLETE if i != 5 else FAILED, value=v)
    board = storage.leaderboard(study.id, direction, top=None)
    expected = [1, 3, 2, 0] if direction == "minimize" else [0, 2, 1, 3]  # ties by number
    assert [t.number for t in board] == expected
    assert [t.number for t in storage.leaderboard(study.id, direction, top=2)] == expected[:2]


# ---------------------------------------------------------------- unusable storage
def test_read_only_sqlite_file_gives_a_fix(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    url = f"sqlite:///{folder / 'hpo.db'}"
    Storage(url).dispose()
    for f in folder.iterdir():
        f.chmod(0o444)
    folder.chmod(0o555)
    try:
        if os.access(folder / "hpo.db", os.W_OK):
            pytest.skip(
                "running as root: a read-only file stays writable, so this cannot be tested"
            )
        with pytest.raises(StorageError, match="read-only.*writable"):
            store = Storage(url)
            make_study(store, "x")
    finally:
        folder.chmod(0o755)


def test_read_only_sqlite_uri_gives_a_fix(tmp_path):
    """The same error through SQLite's own read-only mode (works as root too)."""
    Storage(f"sqlite:///{tmp_path / 'hpo.db'}").dispose()
    store = Storage(f"sqlite:///file:{tmp_path / 'hpo.db'}?mode=ro&uri=true")
    assert store.study_names() == []  # reading works
    with pytest.raises(
        StorageError,
        match=re.escape(
            "is read-only (attempt to write a readonly database). Make the file and its folder "
            "writable, or copy it somewhere writable."
        ),
    ):
        make_study(store, "x")


def test_unopenable_urls_name_the_url(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    url = f"sqlite:///{tmp_path / 'file' / 'hpo.db'}"
    with pytest.raises(StorageError, match=re.escape(f"for SQLite storage {url!r}")):
        Storage(url)
    with pytest.raises(
        StorageError, match=re.escape("Storage URL 'nonsense' is not a valid SQLAlchemy URL")
    ):
        Storage("nonsense")
    with pytest.raises(StorageError, match=re.escape("Cannot use storage URL 'nosuchdb://x'")):
        Storage("nosuchdb://x")


def test_closed_postgres_port_is_a_clear_error():
    with pytest.raises(
        StorageError,
        match=re.escape("Cannot connect to 'postgresql+psycopg://postgres@127.0.0.1:1/hpo'")
        + ".*Is the server running",
    ):
        Storage("postgresql://postgres@127.0.0.1:1/hpo")
