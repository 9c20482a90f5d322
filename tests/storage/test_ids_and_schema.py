"""Issue 9 #5 and #13: ids are never reused (schema 3; `hpo db upgrade` rebuilds an older
SQLite file with AUTOINCREMENT) and a huge trial number is simply absent."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from hpo.errors import StudyNotFoundError
from hpo.storage import Storage
from hpo.storage.schema import SCHEMA_VERSION
from tests.storage.conftest import make_study, prop


def test_deleted_ids_are_never_reused(fresh_url):
    store = Storage(fresh_url)
    first = make_study(store, "a")
    trial = store.claim_new(first.id, "w", prop(0.1)).trial
    store.delete_study("a")
    second = make_study(store, "a")
    assert second.id > first.id
    new_trial = store.claim_new(second.id, "w", prop(0.2)).trial
    assert new_trial.trial_id > trial.trial_id
    # an old worker's writes find their rows gone instead of landing in the new study
    with pytest.raises(StudyNotFoundError, match="was deleted"):
        store.claim_new(first.id, "w", prop(0.3))
    with pytest.raises(StudyNotFoundError, match="study was deleted"):
        store.finish(trial.trial_id, trial.state.__class__("COMPLETE"), value=1.0)
    assert [t.number for t in store.trials(second.id)] == [0]
    store.dispose()


FIXTURE = Path(__file__).parent / "fixtures" / "schema_v1.db"  # written by hpo 0.1.0


def _sql(path: Path, query: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(query).fetchall()


def test_upgrade_rebuilds_sqlite_tables_with_autoincrement_keeping_everything(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(FIXTURE, path)
    tables = ("studies", "trials", "intermediate_values")
    columns = {"studies": "*", "trials": "*", "intermediate_values": "trial_id, step, value"}
    before = {t: _sql(path, f"SELECT {columns[t]} FROM {t} ORDER BY 1, 2") for t in tables}
    assert (
        "AUTOINCREMENT"
        not in _sql(path, "SELECT sql FROM sqlite_master WHERE name = 'trials'")[0][0]
    )

    store = Storage(f"sqlite:///{path}", check_schema=False)
    assert "0003_ids_never_reused" in store.upgrade_schema()
    store.dispose()

    assert {t: _sql(path, f"SELECT {columns[t]} FROM {t} ORDER BY 1, 2") for t in tables} == before
    for table in ("studies", "trials"):
        assert (
            "AUTOINCREMENT"
            in _sql(path, f"SELECT sql FROM sqlite_master WHERE name = '{table}'")[0][0]
        )
    assert _sql(path, "PRAGMA integrity_check") == [("ok",)]
    assert _sql(path, "PRAGMA foreign_key_check") == []
    assert dict(_sql(path, "SELECT key, value FROM hpo_schema"))["schema_version"] == str(
        SCHEMA_VERSION
    )
    assert sorted(
        n
        for (n,) in _sql(
            path, "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'"
        )
    ) == [
        "ix_intermediate_step_trial",
        "ix_intermediate_study_step_bracket_value",
        "ix_trials_study_state_value",
        "uq_trials_study_grid_point",
    ]

    store = Storage(f"sqlite:///{path}")  # opens at the new version
    top = max(store.get_study(n).id for n in store.study_names())
    top_trial = _sql(path, "SELECT max(id) FROM trials")[0][0]
    for name in store.study_names():
        store.delete_study(name)  # the cascade still reaches trials and curves
    assert _sql(path, "SELECT count(*) FROM intermediate_values") == [(0,)]
    fresh = make_study(store, "after-upgrade")
    assert fresh.id > top
    assert store.claim_new(fresh.id, "w", prop(0.5)).trial.trial_id > top_trial
    store.dispose()


def test_huge_trial_numbers_are_simply_absent(storage, study_name):
    record = make_study(storage, study_name)
    from hpo.errors import StorageError

    for number in (2**31, 2**63, 10**30, -1):
        with pytest.raises(StorageError, match="has no trial number"):
            storage.trial(record.id, number)
