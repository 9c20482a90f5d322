"""Curve points carry their trial's Hyperband bracket, indexed: flat Hyperband checks.

A Hyperband check counts the points, at one step, of the trials in its bracket. The
bracket is a function of the trial's number, so schema 4 counted through the trials join
and tested each number (~1.4 us a point: 14 ms at 10,000 peers). With the bracket on the
point and the study's curve index widened to ``(study_id, step, bracket, value)``, the
count is one index range, as ASHA's is (ASHA's range, bracket NULL, stays one range).

The column is nullable: NULL under any other pruner. Existing points of Hyperband
studies are filled here from their trial's number with the study's stored pruner, the
function the reporter writes them with (a study's pruner never changes); a point left
NULL is still counted right, through the join (``hpo/storage/_peers.py``). All of it runs
in the one transaction ``hpo db upgrade`` opens (DDL is transactional on SQLite and
PostgreSQL): a failure leaves schema 4 as it was. The index is built after the fill.

Revision ID: 0005_curve_points_by_bracket
Revises: 0004_curve_points_by_study
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from hpo.pruning import HyperbandPruner, make_pruner

revision = "0005_curve_points_by_bracket"
down_revision = "0004_curve_points_by_study"
branch_labels = None
depends_on = None

_STUDIES = sa.table("studies", sa.column("id", sa.Integer), sa.column("settings", sa.JSON))
_TRIALS = sa.table(
    "trials", sa.column("id", sa.Integer), sa.column("study_id"), sa.column("number", sa.Integer)
)
_POINTS = sa.table("intermediate_values", sa.column("trial_id"), sa.column("bracket"))


def _hyperband_studies(bind: Any) -> Iterator[tuple[int, HyperbandPruner]]:
    """(study id, its pruner) of every study whose stored pruner is Hyperband.

    The name is checked before the config is built, so a study whose pruner is a plug-in
    not registered in this process does not fail the upgrade (it has no brackets). The
    brackets come from today's :meth:`HyperbandPruner.bracket`, the function the reporter
    writes them with: a change to that function would invalidate stored brackets anyway,
    and would need its own migration.
    """
    for study_id, settings in bind.execute(sa.select(_STUDIES.c.id, _STUDIES.c.settings)).all():
        spec = (settings or {}).get("pruner")
        name = spec.get("name") if isinstance(spec, dict) else spec
        if name == HyperbandPruner.name:
            pruner = make_pruner(spec)
            assert isinstance(pruner, HyperbandPruner)
            yield study_id, pruner


def _fill_brackets(bind: Any) -> None:
    """Mark each point of a Hyperband study with its trial's bracket (one UPDATE a trial,
    through the ``(trial_id, step)`` primary key)."""
    mark = (
        sa.update(_POINTS)
        .where(_POINTS.c.trial_id == sa.bindparam("trial"))
        .values(bracket=sa.bindparam("mark"))
    )
    for study_id, pruner in _hyperband_studies(bind):
        trials = bind.execute(
            sa.select(_TRIALS.c.id, _TRIALS.c.number).where(_TRIALS.c.study_id == study_id)
        ).all()
        if trials:
            bind.execute(mark, [{"trial": t, "mark": pruner.bracket(n)} for t, n in trials])


def upgrade() -> None:
    op.add_column("intermediate_values", sa.Column("bracket", sa.Integer(), nullable=True))
    op.drop_index("ix_intermediate_study_step_value", table_name="intermediate_values")
    _fill_brackets(op.get_bind())
    op.create_index(
        "ix_intermediate_study_step_bracket_value",
        "intermediate_values",
        ["study_id", "step", "bracket", "value"],
    )
    op.execute(sa.text("UPDATE hpo_schema SET value = '5' WHERE key = 'schema_version'"))


def downgrade() -> None:
    op.drop_index("ix_intermediate_study_step_bracket_value", table_name="intermediate_values")
    with op.batch_alter_table("intermediate_values") as batch:
        batch.drop_column("bracket")
    op.create_index(
        "ix_intermediate_study_step_value", "intermediate_values", ["study_id", "step", "value"]
    )
    op.execute(sa.text("UPDATE hpo_schema SET value = '4' WHERE key = 'schema_version'"))
