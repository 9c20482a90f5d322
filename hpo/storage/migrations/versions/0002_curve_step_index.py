"""Index learning-curve points by step, so a pruning check reads only its step's rows.

Revision ID: 0002_curve_step_index
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_curve_step_index"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_intermediate_step_trial", "intermediate_values", ["step", "trial_id"])
    op.execute(sa.text("UPDATE hpo_schema SET value = '2' WHERE key = 'schema_version'"))


def downgrade() -> None:
    op.drop_index("ix_intermediate_step_trial", table_name="intermediate_values")
    op.execute(sa.text("UPDATE hpo_schema SET value = '1' WHERE key = 'schema_version'"))
