"""Baseline: the schema of hpo 0.1 (schema_version 1), created before migrations existed.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to do: databases of schema version 1 are stamped with this revision."""


def downgrade() -> None:
    raise NotImplementedError("the baseline has nothing below it")
