"""Read queries of the dashboard: studies, a page of trials, one trial, workers, a change marker.

Each function takes a SQLAlchemy ``Connection`` (opened read-only by
:class:`~hpo.dashboard.reader.Reader`) and returns plain JSON-able dicts. Every query is
bounded so that a 100,000-trial study stays fast: the leaderboard is paginated,
filtered and sorted in SQL, and per-study facts ("last activity", workers) look only
at the most recent trials through the ``(study_id, number)`` unique index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, case, func, or_, select

from hpo.errors import ConfigError
from hpo.storage.schema import IntermediateRow, StudyRow, TrialRow

TRIALS = cast(Table, TrialRow.__table__)
STUDIES = cast(Table, StudyRow.__table__)
POINTS = cast(Table, IntermediateRow.__table__)
STATES = ("COMPLETE", "PRUNED", "FAILED", "RUNNING", "WAITING")
RECENT = 500  # trials looked at for "last activity" and workers (newest by number)
MAX_PAGE_SIZE = 500


def iso(moment: datetime | None) -> str | None:
    """A naive-UTC datetime as ISO text with a ``Z`` (the browser shows it in local time)."""
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


def finite(value: Any) -> Any:
    """JSON has no NaN/inf: they become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _study_row(conn: Connection, study_id: int) -> Any:
    row = conn.execute(select(STUDIES).where(STUDIES.c.id == study_id)).first()
    if row is None:
        raise LookupError(f"No study with id {study_id}.")
    return row


def family(objective: Mapping[str, Any]) -> str:
    """The model family of a study (``sklearn-mlp-classifier``), or how its objective is given."""
    if objective.get("model"):
        return str(objective["model"])
    if objective.get("callable"):
        return f"callable {objective['callable']}"
    return "python callable" if "callable" in objective else "ask/tell"


def _counts(conn: Connection, study_id: int | None = None) -> dict[int, dict[str, int]]:
    query = select(TRIALS.c.study_id, TRIALS.c.state, func.count()).group_by(
        TRIALS.c.study_id, TRIALS.c.state
    )
    if study_id is not None:
        query = query.where(TRIALS.c.study_id == study_id)
    out: dict[int, dict[str, int]] = {}
    for sid, state, n in conn.execute(query):
        out.setdefault(sid, {})[state] = n
    return out


def _best(conn: Connection, study_id: int, direction: str) -> Any:
    """The best COMPLETE trial (number, value) straight off the (study, state, value) index."""
    order = TRIALS.c.value.desc() if direction == "maximize" else TRIALS.c.value.asc()
    return conn.execute(
        select(TRIALS.c.number, TRIALS.c.value)
        .where(
            TRIALS.c.study_id == study_id, TRIALS.c.state == "COMPLETE", TRIALS.c.value.is_not(None)
        )
        .order_by(order, TRIALS.c.number)
        .limit(1)
    ).first()


def _recent(study_id: int, next_number: int) -> Any:
    return and_(TRIALS.c.study_id == study_id, TRIALS.c.number >= next_number - RECENT)


def last_activity(conn: Connection, study_id: int, next_number: int) -> datetime | None:
    """The newest start, heartbeat or finish among the study's most recent trials."""
    moments = conn.execute(
        select(
            func.max(TRIALS.c.started_at),
            func.max(TRIALS.c.heartbeat_at),
            func.max(TRIALS.c.finished_at),
        ).where(_recent(study_id, next_number))
    ).first()
    found = [m for m in (moments or ()) if m is not None]
    return max(found) if found else None


def study_summary(conn: Connection, row: Any, counts: Mapping[str, int]) -> dict[str, Any]:
    best = _best(conn, row.id, row.direction)
    return {
        "id": row.id,
        "name": row.name,
        "direction": row.direction,
        "sampler": (row.sampler or {}).get("name", "?"),
        "family": family(row.objective or {}),
        "metric": (row.objective or {}).get("metric"),
        "counts": {s: counts.get(s, 0) for s in STATES},
        "n_trials": sum(counts.values()),
        "best_value": finite(best.value) if best else None,
        "best_number": best.number if best else None,
        "last_activity": iso(last_activity(conn, row.id, row.next_number)),
        "created_at": iso(row.created_at),
    }


def studies(conn: Connection) -> list[dict[str, Any]]:
    """Every study: name, direction, sampler, model family, trials by state, best, last activity."""
    counts = _counts(conn)
    rows = conn.execute(select(STUDIES).order_by(STUDIES.c.id)).all()
    return [study_summary(conn, r, counts.get(r.id, {})) for r in rows]


def study(conn: Connection, study_id: int) -> dict[str, Any]:
    """One study's summary plus its definition (space, sampler, objective, settings)."""
    row = _study_row(conn, study_id)
    out = study_summary(conn, row, _counts(conn, study_id).get(study_id, {}))
    out.update(
        space=row.space,
        sampler_config=row.sampler,
        objective=row.objective,
        settings=row.settings,
        seed=row.seed,
        user_attrs=row.user_attrs,
    )
    return out


def version(conn: Connection, study_id: int) -> str:
    """A marker that changes whenever a trial starts, finishes, or reports an epoch.

    Cheap on purpose (every open page polls it each second), so it reads no more than the
    study's recent trials: the trial counter, the RUNNING trials and their curve points
    (the (study, state) index), and how many of the most recent trials have finished.
    """
    row = _study_row(conn, study_id)
    running = select(TRIALS.c.id).where(TRIALS.c.study_id == study_id, TRIALS.c.state == "RUNNING")
    n_running = conn.execute(select(func.count()).select_from(running.subquery())).scalar() or 0
    points = (
        conn.execute(
            select(func.count()).select_from(POINTS).where(POINTS.c.trial_id.in_(running))
        ).scalar()
        or 0
    )
    recent = conn.execute(
        select(func.count(TRIALS.c.finished_at), func.max(TRIALS.c.finished_at)).where(
            _recent(study_id, row.next_number)
        )
    ).first()
    finished, last = recent or (0, None)
    return f"{row.next_number}:{n_running}:{points}:{finished}:{iso(last)}"


# ---------------------------------------------------------------------- leaderboard
@dataclass
class TrialQuery:
    """What one leaderboard page asks for: filters, sort and page (validated by :meth:`check`).

    ``sort`` is ``number``, ``value``, ``param:NAME`` or ``metric:NAME``; ``ranges`` maps a
    numeric parameter to ``(low, high)`` (either may be None); ``choices`` maps a
    categorical parameter to the allowed values (as text).
    """

    states: list[str] = field(default_factory=list)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "value"
    descending: bool | None = None  # None: best first for value, ascending otherwise
    page: int = 1
    page_size: int = 25

    def check(self, space: Mapping[str, Any]) -> None:
        """Raise ConfigError naming the field and the offending value."""
        bad = [s for s in self.states if s not in STATES]
        if bad:
            raise ConfigError(f"state must be among {', '.join(STATES)}. Got {bad[0]!r}.")
        for name in [*self.ranges, *self.choices]:
            if name not in space:
                raise ConfigError(
                    f"Filter on unknown parameter {name!r}; the space has {', '.join(space)}."
                )
        kind, _, name = self.sort.partition(":")
        if self.sort not in ("number", "value") and not (kind in ("param", "metric") and name):
            raise ConfigError(
                f"sort must be number, value, param:NAME or metric:NAME. Got {self.sort!r}."
            )
        if kind == "param" and name not in space:
            raise ConfigError(
                f"sort on unknown parameter {name!r}; the space has {', '.join(space)}."
            )
        if self.page < 1:
            raise ConfigError(f"page must be an int >= 1. Got {self.page}.")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ConfigError(
                f"page_size must be an int in [1, {MAX_PAGE_SIZE}]. Got {self.page_size}."
            )


def _json_number(column: Any, key: str) -> Any:
    return column[key].as_float()


def _sort_column(query: TrialQuery, space: Mapping[str, Any]) -> Any:
    kind, _, name = query.sort.partition(":")
    if query.sort == "number":
        return TRIALS.c.number
    if query.sort == "value":
        return TRIALS.c.value
    if kind == "param":
        if space[name].get("type") == "Categorical":
            return TRIALS.c.params[name].as_string()
        return _json_number(TRIALS.c.params, name)
    return _json_number(TRIALS.c.metrics, name)


def trials_page(conn: Connection, study_id: int, query: TrialQuery) -> dict[str, Any]:
    """One page of the study's trials, filtered and sorted in SQL; plus the total matched."""
    row = _study_row(conn, study_id)
    space = row.space or {}
    query.check(space)
    where = [TRIALS.c.study_id == study_id]
    if query.states:
        where.append(TRIALS.c.state.in_(query.states))
    for name, (low, high) in query.ranges.items():
        column = _json_number(TRIALS.c.params, name)
        if low is not None:
            where.append(column >= low)
        if high is not None:
            where.append(column <= high)
    for name, allowed in query.choices.items():
        where.append(TRIALS.c.params[name].as_string().in_(allowed))
    descending = query.descending
    if descending is None:
        descending = query.sort == "value" and row.direction == "maximize"
    column = _sort_column(query, space)
    order = column.desc() if descending else column.asc()
    if not (
        query.sort == "value" and query.states == ["COMPLETE"]
    ):  # a COMPLETE trial has a value;
        order = order.nulls_last()  # without NULLS LAST the value index serves the default view
    total = conn.execute(select(func.count()).select_from(TRIALS).where(*where)).scalar() or 0
    offset = (query.page - 1) * query.page_size
    if query.sort == "value" and query.states == ["COMPLETE"]:
        ids = _value_page_ids(conn, where, descending, offset, query.page_size)
    else:  # sort and skip (key, id) pairs only: the sorter never carries unshown JSON columns
        ids = list(
            conn.execute(
                select(TRIALS.c.id)
                .where(*where)
                .order_by(order, TRIALS.c.number)
                .offset(offset)
                .limit(query.page_size)
            ).scalars()
        )
    found = {r.id: r for r in conn.execute(select(TRIALS).where(TRIALS.c.id.in_(ids)))}
    rows = [found[i] for i in ids]
    best = _best(conn, study_id, row.direction)
    return {
        "total": total,
        "page": query.page,
        "page_size": query.page_size,
        "pages": max(1, math.ceil(total / query.page_size)),
        "sort": query.sort,
        "descending": descending,
        "best_number": best.number if best else None,
        "trials": [trial_brief(r) for r in rows],
    }


def _value_page_ids(
    conn: Connection, where: list[Any], descending: bool, offset: int, limit: int
) -> list[int]:
    """One page of COMPLETE trials by value (ties by number), read off the value index.

    Ordering by ``value, number`` makes SQLite sort every matching row (``number`` is not in
    the ``(study_id, state, value)`` index). Instead: the page's first and last values come
    from the index with OFFSET, the trials strictly better than the first are counted there
    too, and only the band between the two values is sorted by (value, number).
    """
    value = TRIALS.c.value
    order = value.desc() if descending else value.asc()

    def value_at(position: int) -> float | None:
        return conn.execute(
            select(value).where(*where).order_by(order).offset(position).limit(1)
        ).scalar()

    first = value_at(offset)
    if first is None:
        return []
    last = value_at(offset + limit - 1)
    better, worse_or_equal = (
        (value > first, value <= first) if descending else (value < first, value >= first)
    )
    ahead = (
        conn.execute(select(func.count()).select_from(TRIALS).where(*where, better)).scalar() or 0
    )
    band = [worse_or_equal]
    if last is not None:
        band.append(value >= last if descending else value <= last)
    return list(
        conn.execute(
            select(TRIALS.c.id)
            .where(*where, *band)
            .order_by(order, TRIALS.c.number)
            .offset(offset - ahead)
            .limit(limit)
        ).scalars()
    )


def trial_brief(row: Any) -> dict[str, Any]:
    """A trial row as the leaderboard shows it."""
    duration = None
    if row.started_at is not None and row.finished_at is not None:
        duration = (row.finished_at - row.started_at).total_seconds()
    return {
        "number": row.number,
        "state": row.state,
        "value": finite(row.value),
        "params": row.params or {},
        "metrics": {k: finite(v) for k, v in (row.metrics or {}).items()},
        "duration_s": duration,
        "worker": row.worker_id,
        "error": row.error,
        "retry_of": row.retry_of,
        "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at),
    }


# ---------------------------------------------------------------------- one trial
def trial(
    conn: Connection, study_id: int, number: int, *, max_points: int = 2000
) -> dict[str, Any]:
    """Everything about one trial: params, value, metrics, curve, timing, worker, error, retries."""
    row = conn.execute(
        select(TRIALS).where(TRIALS.c.study_id == study_id, TRIALS.c.number == number)
    ).first()
    if row is None:
        raise LookupError(f"Study {study_id} has no trial #{number}.")
    out = trial_brief(row)
    out.update(
        heartbeat_at=iso(row.heartbeat_at),
        user_attrs=row.user_attrs or {},
        grid_id=row.grid_id,
        curve=curve(conn, row.id, max_points),
        retry_chain=retry_chain(conn, study_id, row),
    )
    return out


def curve(conn: Connection, trial_id: int, max_points: int) -> dict[str, list[Any]]:
    """A trial's learning curve, thinned to at most ``max_points`` (the last point is kept)."""
    points = list(
        conn.execute(
            select(POINTS.c.step, POINTS.c.value)
            .where(POINTS.c.trial_id == trial_id)
            .order_by(POINTS.c.step)
        ).all()
    )
    if len(points) > max_points:
        stride = math.ceil(len(points) / max_points)
        points = points[::stride] + ([points[-1]] if (len(points) - 1) % stride else [])
    return {"steps": [p.step for p in points], "values": [finite(p.value) for p in points]}


def retry_chain(conn: Connection, study_id: int, row: Any) -> list[dict[str, Any]]:
    """The trials that ran the same parameters: earlier attempts and later retries, in order."""
    chain = [row]
    seen = {row.number}
    earlier = row.retry_of
    while earlier is not None and earlier not in seen:
        found = conn.execute(
            select(TRIALS).where(TRIALS.c.study_id == study_id, TRIALS.c.number == earlier)
        ).first()
        if found is None:
            break
        chain.insert(0, found)
        seen.add(found.number)
        earlier = found.retry_of
    # only a FAILED trial (stale or interrupted) is ever re-queued: skip the scan for the rest
    frontier = [row.number] if row.state == "FAILED" else []
    while frontier:
        later = conn.execute(
            select(TRIALS).where(TRIALS.c.study_id == study_id, TRIALS.c.retry_of.in_(frontier))
        ).all()
        later = [r for r in later if r.number not in seen]
        chain += later
        seen.update(r.number for r in later)
        frontier = [r.number for r in later]
    if len(chain) == 1:
        return []
    return [
        {"number": r.number, "state": r.state, "error": r.error, "worker": r.worker_id}
        for r in sorted(chain, key=lambda r: r.number)
    ]


# ---------------------------------------------------------------------- workers
def workers(conn: Connection, study_id: int, now: datetime) -> list[dict[str, Any]]:
    """When the dashboard last heard from each worker of the study (recent trials only)."""
    row = _study_row(conn, study_id)
    heard = func.max(func.coalesce(TRIALS.c.heartbeat_at, TRIALS.c.started_at))
    query = (
        select(
            TRIALS.c.worker_id,
            heard,
            func.max(TRIALS.c.finished_at),
            func.sum(case((TRIALS.c.state == "RUNNING", 1), else_=0)),
            func.count(),
        )
        .where(
            or_(
                _recent(study_id, row.next_number),
                and_(TRIALS.c.study_id == study_id, TRIALS.c.state == "RUNNING"),
            ),
            TRIALS.c.worker_id.is_not(None),
        )
        .group_by(TRIALS.c.worker_id)
    )
    out = []
    for worker_id, beat, finished, running, n in conn.execute(query):
        last = max([m for m in (beat, finished) if m is not None], default=None)
        out.append(
            {
                "worker": worker_id,
                "last_heard": iso(last),
                "running": int(running or 0),
                "recent_trials": n,
                "seconds_ago": None if last is None else max(0.0, (now - last).total_seconds()),
            }
        )
    return sorted(out, key=lambda w: (w["seconds_ago"] is None, w["seconds_ago"] or 0))


def curves(
    conn: Connection,
    study_id: int,
    numbers: Sequence[int] | None,
    *,
    top: int = 10,
    max_points: int = 500,
) -> list[dict[str, Any]]:
    """Learning curves of ``numbers``, or of the top-k complete, running and recent pruned trials.

    Each curve holds at most ``max_points`` points; ``best_epoch`` (from the trial's
    metrics) marks where early stopping kept the weights.
    """
    row = _study_row(conn, study_id)
    base = select(TRIALS).where(TRIALS.c.study_id == study_id)
    if numbers:
        rows = conn.execute(base.where(TRIALS.c.number.in_(list(numbers)[:50]))).all()
    else:
        order = TRIALS.c.value.desc() if row.direction == "maximize" else TRIALS.c.value.asc()
        rows = list(
            conn.execute(
                base.where(TRIALS.c.state == "COMPLETE", TRIALS.c.value.is_not(None))
                .order_by(order, TRIALS.c.number)
                .limit(top)
            )
        )
        rows += conn.execute(
            base.where(TRIALS.c.state == "RUNNING").order_by(TRIALS.c.number.desc()).limit(top)
        ).all()
        rows += conn.execute(
            base.where(TRIALS.c.state == "PRUNED", _recent(study_id, row.next_number))
            .order_by(TRIALS.c.number.desc())
            .limit(max(3, top // 2))
        ).all()
    out = []
    for r in sorted(rows, key=lambda r: r.number):
        metrics = r.metrics or {}
        out.append(
            {
                "number": r.number,
                "state": r.state,
                "value": finite(r.value),
                "best_epoch": metrics.get("best_epoch"),
                "curve": curve(conn, r.id, max_points),
            }
        )
    return out
