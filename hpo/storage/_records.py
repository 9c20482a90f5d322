"""The plain records Storage hands out, and the prebuilt statements of its hot path."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update

from hpo.space import normalize_params
from hpo.storage.schema import StudyRow, TrialRow
from hpo.trial import FrozenTrial, TrialState

_TRIALS = cast(Table, TrialRow.__table__)
_STUDIES = cast(Table, StudyRow.__table__)
_RUNNING, _WAITING = "RUNNING", "WAITING"

# Statements of the hot path (claim, finish), built once: SQLAlchemy then reuses their
# compiled form instead of rebuilding and re-keying them for every trial.
_NEXT_NUMBER = select(_STUDIES.c.next_number).where(_STUDIES.c.id == bindparam("sid"))
# WAITING trials are found through the (study, state) index and the oldest picked here: with
# ORDER BY number (or min(number)) SQLite walks the (study, number) index through every trial.
_WAITING_IDS = select(_TRIALS.c.id, _TRIALS.c.number).where(
    _TRIALS.c.study_id == bindparam("sid"), _TRIALS.c.state == _WAITING
)
_TRIAL_BY_ID = select(_TRIALS).where(_TRIALS.c.id == bindparam("tid"))
_COUNT_STATE = select(func.count()).where(
    _TRIALS.c.study_id == bindparam("sid"), _TRIALS.c.state == bindparam("state")
)
_COUNT_UNATTENDED = select(func.count()).where(
    _TRIALS.c.study_id == bindparam("sid"),
    _TRIALS.c.state == _RUNNING,
    _TRIALS.c.heartbeat_at.is_(None),
)
"""RUNNING trials nobody beats for (taken with ``Study.ask``): they hold no budget."""
_START_WAITING = (
    update(_TRIALS)
    .where(_TRIALS.c.id == bindparam("tid"))
    .values(
        state=_RUNNING,
        worker_id=bindparam("p_worker"),
        started_at=bindparam("p_now"),
        heartbeat_at=bindparam("p_beat"),
    )
)
_INSERT_TRIAL = insert(_TRIALS)
_TRIAL_COLUMNS = [c.name for c in _TRIALS.columns if c.name != "id"]
"""What a claim inserts: every column but the id."""
_SET_NEXT_NUMBER = (
    update(_STUDIES)
    .where(_STUDIES.c.id == bindparam("sid"))
    .values(next_number=bindparam("p_next"))
)
_FINISH_RUNNING = (
    update(_TRIALS)
    .where(_TRIALS.c.id == bindparam("tid"), _TRIALS.c.state == _RUNNING)
    .values(
        state=bindparam("p_state"),
        value=bindparam("p_value"),
        metrics=bindparam("p_metrics"),
        error=bindparam("p_error"),
        finished_at=bindparam("p_now"),
    )
)


def utcnow() -> datetime:
    """Naive UTC, the one clock every row uses (portable across SQLite and PostgreSQL)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class StudyRecord:
    id: int
    name: str
    direction: str
    space: dict[str, Any]
    sampler: dict[str, Any]
    objective: dict[str, Any]
    settings: dict[str, Any]
    user_attrs: dict[str, Any]
    seed: int
    created_at: datetime


@dataclass(frozen=True)
class Snapshot:
    """What a sampler needs: finished trials, pending ones, and the next trial number."""

    history: list[FrozenTrial]
    pending: list[FrozenTrial]
    next_number: int


class ClaimStatus(enum.Enum):
    CREATED = "created"
    NUMBER_TAKEN = "number_taken"  # another worker claimed since our snapshot: re-propose
    GRID_TAKEN = "grid_taken"  # the grid point was claimed concurrently
    BUDGET_REACHED = "budget_reached"


@dataclass(frozen=True)
class Outcome:
    """How an evaluated trial ended, before it is written: what ``Storage.finish`` stores."""

    trial_id: int
    state: TrialState
    value: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Claim:
    status: ClaimStatus
    trial: FrozenTrial | None = None


@dataclass(frozen=True)
class StudySummary:
    name: str
    direction: str
    counts: dict[str, int] = field(default_factory=dict)
    best_value: float | None = None
    created_at: datetime | None = None
    objective: dict[str, Any] = field(default_factory=dict)


def _frozen(row: Any, curve: dict[int, float] | None = None) -> FrozenTrial:
    """A FrozenTrial from anything with a trial row's attributes (ORM row, Core row)."""
    return FrozenTrial(
        number=row.number,
        state=TrialState(row.state),
        params=normalize_params(row.params or {}),
        value=row.value,
        metrics=dict(row.metrics or {}),
        intermediate=curve or {},
        started_at=row.started_at,
        finished_at=row.finished_at,
        heartbeat_at=row.heartbeat_at,
        worker_id=row.worker_id,
        error=row.error,
        retry_of=row.retry_of,
        grid_id=row.grid_id,
        user_attrs=dict(row.user_attrs or {}),
        trial_id=row.id,
    )


def _record(row: StudyRow) -> StudyRecord:
    return StudyRecord(
        row.id,
        row.name,
        row.direction,
        row.space,
        row.sampler,
        row.objective,
        row.settings,
        row.user_attrs,
        row.seed,
        row.created_at,
    )


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
