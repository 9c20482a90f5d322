"""SQLAlchemy 2.0 models: studies, trials, intermediate values, and the schema version.

The database enforces what must be unique: a study's name, a trial number within
its study, and a grid point within its study among trials that did not fail (a
partial unique index, so a failed grid point can be retried).

Ids are never reused (schema version 3): on SQLite ``studies`` and ``trials`` are
``AUTOINCREMENT`` tables, so a worker of a deleted study can never write into a newer
one; PostgreSQL's sequences never reuse ids. See migrations/versions/0003_ids_never_reused.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SCHEMA_VERSION = 5  # bump with a new script in migrations/versions/ (and migrations.REVISIONS)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class SchemaInfo(Base):
    """Key/value facts about the database itself (``schema_version``)."""

    __tablename__ = "hpo_schema"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class AlembicVersion(Base):
    """Alembic's own bookkeeping table, declared so new databases are stamped without Alembic."""

    __tablename__ = "alembic_version"

    version_num: Mapped[str] = mapped_column(String(32), primary_key=True)


class StudyRow(Base):
    __tablename__ = "studies"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    direction: Mapped[str] = mapped_column(String(8))
    space: Mapped[dict[str, Any]]
    sampler: Mapped[dict[str, Any]]
    objective: Mapped[dict[str, Any]]
    settings: Mapped[dict[str, Any]]
    user_attrs: Mapped[dict[str, Any]]
    seed: Mapped[int] = mapped_column(Integer)
    next_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    trials: Mapped[list[TrialRow]] = relationship(
        back_populates="study", cascade="all, delete-orphan", passive_deletes=True
    )


class TrialRow(Base):
    __tablename__ = "trials"
    __table_args__ = (
        UniqueConstraint("study_id", "number", name="uq_trials_study_number"),
        Index("ix_trials_study_state_value", "study_id", "state", "value"),
        Index(
            "uq_trials_study_grid_point",
            "study_id",
            "grid_id",
            unique=True,
            sqlite_where=text("grid_id IS NOT NULL AND state != 'FAILED'"),
            postgresql_where=text("grid_id IS NOT NULL AND state != 'FAILED'"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10))
    params: Mapped[dict[str, Any]]
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    metrics: Mapped[dict[str, Any]]
    user_attrs: Mapped[dict[str, Any]]
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    worker_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    retry_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    grid_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    study: Mapped[StudyRow] = relationship(back_populates="trials")


class IntermediateRow(Base):
    """One point of a trial's learning curve: the value reported at ``step``."""

    __tablename__ = "intermediate_values"
    __table_args__ = (
        Index("ix_intermediate_step_trial", "step", "trial_id"),
        Index("ix_intermediate_study_step_bracket_value", "study_id", "step", "bracket", "value"),
    )

    trial_id: Mapped[int] = mapped_column(
        ForeignKey("trials.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    study_id: Mapped[int] = mapped_column(Integer)
    """The trial's study, so a pruning check counts its peers' points at a step over one
    index range instead of joining every peer's trial (schema 4)."""
    bracket: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The trial's Hyperband bracket (``Pruner.bracket_of``; NULL under other pruners), so a
    Hyperband check counts its bracket's points over one index range too (schema 5)."""
