"""Shared fixtures: real SQLite files and a real PostgreSQL database, one contract for both.

PostgreSQL tests need a server at HPO_PG_URL (default postgresql://postgres@127.0.0.1:5432/
hpo_test_s<SCHEMA_VERSION>; `scripts/ensure_postgres.sh` starts the server, and the database
is created on first use). One database per schema version: branches of different schema
versions share the server without refusing each other's database. Without a server the
tests skip and say why; under CI=true they fail instead, because CI must exercise PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


def _default_pg_url() -> str:
    from hpo.storage.schema import SCHEMA_VERSION

    return f"postgresql://postgres@127.0.0.1:5432/hpo_test_s{SCHEMA_VERSION}"


PG_URL = os.environ.get("HPO_PG_URL") or _default_pg_url()
_pg_state: dict[str, object] = {}


def _create_database_if_missing(psycopg: object) -> None:
    base, name = PG_URL.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", connect_timeout=3, autocommit=True) as conn:  # type: ignore[attr-defined]
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            try:
                conn.execute(f'CREATE DATABASE "{name}"')
            except psycopg.errors.DuplicateDatabase:  # type: ignore[attr-defined]  # a parallel run made it
                pass


def _pg_available() -> str | None:
    """None if PostgreSQL answers, else the reason it does not."""
    if "reason" not in _pg_state:
        try:
            import psycopg

            _create_database_if_missing(psycopg)
            with psycopg.connect(PG_URL, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _pg_state["reason"] = None
        except Exception as e:  # noqa: BLE001 - any failure means: skip with the reason
            _pg_state["reason"] = f"PostgreSQL not reachable at {PG_URL}: {type(e).__name__}: {e}"
    return _pg_state["reason"]  # type: ignore[return-value]


def require_postgres() -> str:
    reason = _pg_available()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL. {reason}")
        pytest.skip(reason)
    return PG_URL


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'hpo.db'}"


@pytest.fixture
def pg_url() -> str:
    return require_postgres()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage_url(request, tmp_path) -> str:
    """Every storage-contract test runs once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hpo.db'}"
    return require_postgres()


@pytest.fixture
def study_name() -> str:
    """A name no other test uses (PostgreSQL is one shared database)."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture(autouse=True)
def _quiet_threads(monkeypatch) -> Iterator[None]:
    """Tests run on 2 cores beside each other: one BLAS/torch thread per process."""
    monkeypatch.setenv("HPO_THREADS_PER_WORKER", os.environ.get("HPO_THREADS_PER_WORKER", "1"))
    yield
