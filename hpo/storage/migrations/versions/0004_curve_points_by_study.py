"""Curve points carry their study, indexed by (study, step, value): flat pruning checks.

A rank-based pruning check needs, at one step, how many peers reported a finite value
and how many beat the trial. Through the trials join that visits every peer's point (an
index seek each, ~25 ms at 10,000 peers); with the study on the point and an index on
``(study_id, step, value)`` both are counts over one index range (under 1 ms), and only
the few trials in other states (running, failed) are subtracted through the join.

The column is filled from each point's trial. Both backends add it NOT NULL with a
default of 0 (so existing rows are valid while it is filled); PostgreSQL then drops the
default, SQLite keeps it in its DDL (new rows always name their study).

Revision ID: 0004_curve_points_by_study
Revises: 0003_ids_never_reused
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_curve_points_by_study"
down_revision = "0003_ids_never_reused"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        sa.text("ALTER TABLE intermediate_values ADD COLUMN study_id INTEGER NOT NULL DEFAULT 0")
    )
    op.execute(
        sa.text(
            "UPDATE intermediate_values SET study_id = "
            "(SELECT trials.study_id FROM trials WHERE trials.id = intermediate_values.trial_id)"
        )
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text("ALTER TABLE intermediate_values ALTER COLUMN study_id DROP DEFAULT"))
    op.create_index(
        "ix_intermediate_study_step_value", "intermediate_values", ["study_id", "step", "value"]
    )
    op.execute(sa.text("UPDATE hpo_schema SET value = '4' WHERE key = 'schema_version'"))


def downgrade() -> None:
    op.drop_index("ix_intermediate_study_step_value", table_name="intermediate_values")
    with op.batch_alter_table("intermediate_values") as batch:
        batch.drop_column("study_id")
    op.execute(sa.text("UPDATE hpo_schema SET value = '3' WHERE key = 'schema_version'"))
