"""Schema migrations: an hpo 0.1 (schema 1) database is refused with the fix, then upgraded."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hpo
from hpo.cli import app
from hpo.errors import SchemaVersionError
from hpo.storage.migrations import HEAD, REVISIONS
from hpo.storage.schema import SCHEMA_VERSION, Base
from hpo.storage.storage import Storage

FIXTURE = (
    Path(__file__).parent / "fixtures" / "schema_v1.db"
)  # written by hpo 0.1.0 (commit d47d967)


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    shutil.copy(FIXTURE, path)
    return path


def _rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_revisions_match_the_scripts_and_the_schema_version() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hpo.storage import migrations

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    script = ScriptDirectory.from_config(config)
    assert script.get_current_head() == HEAD
    chain = [rev.revision for rev in script.walk_revisions()][::-1]
    assert chain == [REVISIONS[v] for v in sorted(REVISIONS)]
    assert max(REVISIONS) == SCHEMA_VERSION


def test_old_database_is_refused_with_the_upgrade_command(old_db: Path) -> None:
    with pytest.raises(SchemaVersionError, match=r"schema version 1.*hpo db upgrade --storage"):
        Storage(f"sqlite:///{old_db}")


def test_upgrade_keeps_every_trial_and_curve(old_db: Path) -> None:
    before_trials = _rows(
        old_db, "SELECT study_id, number, state, params, value FROM trials ORDER BY id"
    )
    points = "SELECT trial_id, step, value FROM intermediate_values ORDER BY trial_id, step"
    before_curves = _rows(old_db, points)
    assert before_curves
    url = f"sqlite:///{old_db}"

    result = CliRunner().invoke(app, ["db", "upgrade", "--storage", url])
    assert result.exit_code == 0, result.output
    assert "0002_curve_step_index" in result.output

    assert (
        _rows(old_db, "SELECT study_id, number, state, params, value FROM trials ORDER BY id")
        == before_trials
    )
    assert _rows(old_db, points) == before_curves
    # schema 4: every point names its trial's study
    assert _rows(
        old_db,
        "SELECT count(*) FROM intermediate_values i JOIN trials t ON t.id = i.trial_id "
        "WHERE i.study_id = t.study_id",
    ) == [(len(before_curves),)]
    assert _rows(old_db, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    facts = dict(_rows(old_db, "SELECT key, value FROM hpo_schema"))
    assert facts == {"schema_version": str(SCHEMA_VERSION), "hpo_version": hpo.__version__}

    # The upgraded study goes on where it was: its numbering, its leaderboard, new trials.
    study = hpo.load_study("fixture-v1", storage=url, objective=lambda p, r: p["x"] ** 2)
    assert study.counts() == {"COMPLETE": 6, "RUNNING": 1}
    best = study.best_value
    trial = study.ask()
    assert trial.number == 7
    study.tell(trial, best - 1.0)
    assert study.best_value == best - 1.0

    again = CliRunner().invoke(app, ["db", "upgrade", "--storage", url])
    assert again.exit_code == 0 and "nothing to do" in again.output


def test_upgraded_schema_equals_a_new_one(old_db: Path) -> None:
    """Migrations and Base.metadata describe the same tables and indexes."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    store = Storage(f"sqlite:///{old_db}", check_schema=False)
    store.upgrade_schema()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    store.dispose()
    assert diff == []


def test_new_database_is_stamped_at_head(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Storage(f"sqlite:///{path}").dispose()
    assert _rows(path, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert dict(_rows(path, "SELECT key, value FROM hpo_schema"))["hpo_version"] == hpo.__version__


def test_non_numeric_schema_version_is_a_clear_error(old_db: Path) -> None:
    with sqlite3.connect(old_db) as conn:
        conn.execute("UPDATE hpo_schema SET value = 'x1' WHERE key = 'schema_version'")
    with pytest.raises(SchemaVersionError, match="'x1'"):
        Storage(f"sqlite:///{old_db}")


def test_upgrade_refuses_an_empty_database(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "empty.db").close()
    result = CliRunner().invoke(
        app, ["db", "upgrade", "--storage", f"sqlite:///{tmp_path}/empty.db"]
    )
    assert result.exit_code == 2 and "no hpo schema" in result.output


@pytest.mark.postgres
def test_postgres_upgrade_from_schema_1(pg_url: str) -> None:
    """The same migration on PostgreSQL, in a database of its own (others share hpo_test)."""
    import uuid

    import psycopg
    from sqlalchemy import text

    admin_url = pg_url.rsplit("/", 1)[0] + "/postgres"
    name = f"hpo_migrate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_url.rsplit("/", 1)[0] + "/" + name
    try:
        store = Storage(url)
        with store.engine.begin() as conn:  # make it look like hpo 0.1 wrote it
            conn.execute(text("DROP INDEX ix_intermediate_step_trial"))
            conn.execute(text("DROP INDEX ix_intermediate_study_step_bracket_value"))
            conn.execute(text("ALTER TABLE intermediate_values DROP COLUMN bracket"))
            conn.execute(text("ALTER TABLE intermediate_values DROP COLUMN study_id"))
            conn.execute(text("DROP TABLE alembic_version"))
            conn.execute(text("UPDATE hpo_schema SET value = '1' WHERE key = 'schema_version'"))
        store.dispose()
        with pytest.raises(SchemaVersionError, match="hpo db upgrade"):
            Storage(url)
        store = Storage(url, check_schema=False)
        assert store.upgrade_schema() == [
            "0002_curve_step_index",
            "0003_ids_never_reused",
            "0004_curve_points_by_study",
            "0005_curve_points_by_bracket",
        ]
        store.dispose()
        Storage(url).dispose()  # opens cleanly now
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
