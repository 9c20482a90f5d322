"""Never reuse the id of a deleted study or trial (issue 9 #5).

On SQLite an INTEGER PRIMARY KEY without AUTOINCREMENT hands out the highest deleted id
again, so a worker still running for a deleted study wrote its trials into the next
study created. This revision rebuilds ``studies`` and ``trials`` with AUTOINCREMENT (and
``intermediate_values``, whose foreign key follows ``trials``). It runs inside one
transaction with foreign keys on: the old tables are renamed (their children's foreign
keys follow the rename), the new ones created and filled, and the old ones dropped
children first, so no ON DELETE CASCADE fires. PostgreSQL's sequences never reused ids:
there only the version number changes.

The DDL is written out here, frozen at this revision, rather than taken from the models.

Revision ID: 0003_ids_never_reused
Revises: 0002_curve_step_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_ids_never_reused"
down_revision = "0002_curve_step_index"
branch_labels = None
depends_on = None

_TABLES = ("studies", "trials", "intermediate_values")  # parents first
_INDEXES = (
    "ix_trials_study_state_value",
    "uq_trials_study_grid_point",
    "ix_intermediate_step_trial",
)
_CREATE = {
    "studies": """CREATE TABLE studies (
        id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        name VARCHAR(255) NOT NULL, direction VARCHAR(8) NOT NULL, space JSON NOT NULL,
        sampler JSON NOT NULL, objective JSON NOT NULL, settings JSON NOT NULL,
        user_attrs JSON NOT NULL, seed INTEGER NOT NULL, next_number INTEGER NOT NULL,
        created_at DATETIME NOT NULL, UNIQUE (name))""",
    "trials": """CREATE TABLE trials (
        id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        study_id INTEGER NOT NULL, number INTEGER NOT NULL, state VARCHAR(10) NOT NULL,
        params JSON NOT NULL, value FLOAT, metrics JSON NOT NULL, user_attrs JSON NOT NULL,
        started_at DATETIME, finished_at DATETIME, heartbeat_at DATETIME,
        worker_id VARCHAR(128), error TEXT, retry_of INTEGER, grid_id INTEGER,
        CONSTRAINT uq_trials_study_number UNIQUE (study_id, number),
        FOREIGN KEY(study_id) REFERENCES studies (id) ON DELETE CASCADE)""",
    "intermediate_values": """CREATE TABLE intermediate_values (
        trial_id INTEGER NOT NULL, step INTEGER NOT NULL, value FLOAT NOT NULL,
        PRIMARY KEY (trial_id, step),
        FOREIGN KEY(trial_id) REFERENCES trials (id) ON DELETE CASCADE)""",
}
_CREATE_INDEXES = (
    "CREATE INDEX ix_trials_study_state_value ON trials (study_id, state, value)",
    "CREATE UNIQUE INDEX uq_trials_study_grid_point ON trials (study_id, grid_id) "
    "WHERE grid_id IS NOT NULL AND state != 'FAILED'",
    "CREATE INDEX ix_intermediate_step_trial ON intermediate_values (step, trial_id)",
)


def _sqlite_rebuild() -> None:
    run = op.get_bind().exec_driver_sql
    columns = {t: [row[1] for row in run(f"PRAGMA table_info({t})").fetchall()] for t in _TABLES}
    for index in _INDEXES:
        run(f"DROP INDEX IF EXISTS {index}")
    for table in reversed(_TABLES):
        run(f"ALTER TABLE {table} RENAME TO _old_{table}")
    for table in _TABLES:
        run(_CREATE[table])
        names = ", ".join(columns[table])
        run(f"INSERT INTO {table} ({names}) SELECT {names} FROM _old_{table}")
    for table in reversed(_TABLES):  # children first: nothing is left for a cascade to delete
        run(f"DROP TABLE _old_{table}")
    for statement in _CREATE_INDEXES:
        run(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild()
    op.execute(sa.text("UPDATE hpo_schema SET value = '3' WHERE key = 'schema_version'"))


def downgrade() -> None:
    """Ids stay never reused (AUTOINCREMENT is harmless to revision 2); only the number moves."""
    op.execute(sa.text("UPDATE hpo_schema SET value = '2' WHERE key = 'schema_version'"))
