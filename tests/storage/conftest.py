"""Storage fixtures: a Storage on each backend, and a brand-new empty database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from hpo.samplers.base import Proposal
from hpo.storage import Storage, StudyRecord
from tests.conftest import require_postgres


@pytest.fixture
def storage(storage_url) -> Iterator[Storage]:
    store = Storage(storage_url)
    yield store
    store.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request, tmp_path) -> Iterator[str]:
    """A URL to an empty database (PostgreSQL: a database created for this test, then dropped)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    import psycopg

    base = require_postgres()
    name = f"hpo_fresh_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_study(store: Storage, name: str, **settings: Any) -> StudyRecord:
    return store.create_study(
        name=name,
        direction="minimize",
        space={},
        sampler={"name": "random"},
        objective={},
        settings=settings,
        user_attrs={},
        seed=0,
    )


def prop(x: float = 0.0, grid_id: int | None = None) -> Proposal:
    return Proposal({"x": x}, grid_id=grid_id)
