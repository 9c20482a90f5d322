"""Per-worker time spans and the objective's total time, aggregated by the database.

``hpo show`` prints where a study's worker time went (hpo/reports/overhead.py). Reading
every trial for it costs seconds on a 100,000-trial study (each row's JSON decoded into a
FrozenTrial); these sums are one GROUP BY query instead, returning one row per worker.
The per-trial rule is the one ``overhead_split`` applies to FrozenTrials: a trial's
training time is its objective's own ``metrics["duration_s"]`` when that is a number
>= 0, else its start-to-finish duration, and never more than that duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, literal_column, select
from sqlalchemy.engine import Connection

from hpo.storage.schema import TrialRow


@dataclass(frozen=True)
class WorkerSpan:
    """One worker's earliest and latest trial timestamps, and its trials' training seconds."""

    worker_id: str
    first: datetime
    last: datetime
    training_seconds: float


def _seconds_and_own(postgres: bool) -> tuple[Any, Any]:
    """(a trial's duration in seconds, its valid ``duration_s`` or NULL) as SQL expressions."""
    started, finished, metrics = TrialRow.started_at, TrialRow.finished_at, TrialRow.metrics
    seconds: Any
    own: Any
    if postgres:
        seconds = func.extract("epoch", finished - started)
        field = metrics.op("->")(literal_column("'duration_s'"))
        own = cast(metrics.op("->>")(literal_column("'duration_s'")), Float)
        is_number = func.json_typeof(field) == "number"
    else:
        seconds = (func.julianday(finished) - func.julianday(started)) * 86400.0
        own = func.json_extract(metrics, "$.duration_s")
        is_number = func.json_type(metrics, "$.duration_s").in_(["integer", "real"])
    valid_own = case((and_(is_number, own >= 0), own), else_=None)
    return seconds, valid_own


def worker_spans(conn: Connection, study_id: int, *, postgres: bool) -> list[WorkerSpan]:
    """Per worker that finished a trial of the study: its span and its training seconds."""
    seconds, own = _seconds_and_own(postgres)
    training = func.coalesce(own, seconds)
    per_trial = case((training < seconds, training), else_=seconds)  # min(own, duration)
    query = (
        select(
            TrialRow.worker_id,
            func.min(TrialRow.started_at),
            func.max(TrialRow.started_at),
            func.min(TrialRow.finished_at),
            func.max(TrialRow.finished_at),
            func.sum(per_trial),
        )
        .where(
            TrialRow.study_id == study_id,
            TrialRow.started_at.is_not(None),
            TrialRow.finished_at.is_not(None),
            TrialRow.worker_id.is_not(None),
        )
        .group_by(TrialRow.worker_id)
    )
    return [
        WorkerSpan(
            worker_id=str(worker),
            first=min(first_start, first_finish),
            last=max(last_start, last_finish),
            training_seconds=float(total or 0.0),
        )
        for worker, first_start, last_start, first_finish, last_finish, total in conn.execute(query)
    ]
