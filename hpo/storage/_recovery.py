"""What the storage does when workers die, pause and come back: late results and failed grid points.

Semantics of two attempts at the same params (a trial declared stale and its retry):
the **first result to arrive wins**. The winner ends COMPLETE (or PRUNED); every
other attempt of the same params ends FAILED with ``error = "superseded: ..."``. A
result that arrives for a superseded attempt is still written to its row (value and
metrics), so nothing a worker computed is lost, but its state stays FAILED, so it is
never counted twice: not in the budget, not in the leaderboard, not in the grid.

The attempts of one set of params are a retry tree: ``retry_of`` links each retry
to the trial it replaces.

A grid point whose trials all FAILED (an exception, a dead worker past its
retries, a worker stopped without re-queueing) is a hole in the grid: the sampler
never proposes a point some trial already holds. :meth:`requeue_failed_grid_points`
re-queues such points while they have retries left (``max_retries``), and
:meth:`failed_grid_points` lists the ones that stayed failed, so a run can say so.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hpo.storage._records import _finite_or_none, _frozen, utcnow
from hpo.storage.schema import StudyRow, TrialRow
from hpo.trial import FrozenTrial, TrialState

_FAILED, _RUNNING, _WAITING = (
    TrialState.FAILED.value,
    TrialState.RUNNING.value,
    TrialState.WAITING.value,
)
_RESULTS = (TrialState.COMPLETE.value, TrialState.PRUNED.value)
STALE, SUPERSEDED = "stale", "superseded"


class _Recovery:
    """Storage methods for late results and failed grid points (mixed into Storage)."""

    is_postgres: bool
    tx: Any

    # ------------------------------------------------------------------ late results
    def _late_result(
        self,
        session: Session,
        row: TrialRow,
        state: TrialState,
        value: float | None,
        metrics: dict[str, Any],
    ) -> bool:
        """A result for ``row``, which is FAILED (stale or superseded). Returns True if it counts.

        Called with the study row and ``row`` locked.
        """
        error = row.error or ""
        if state.value not in _RESULTS or not error.startswith((STALE, SUPERSEDED)):
            return False  # a late failure changes nothing; an interrupted trial was re-queued
        attempts = self._attempts(session, row)
        winner = next((t for t in attempts if t.state in _RESULTS), None)
        if error.startswith(SUPERSEDED) or winner is not None:
            row.value = _finite_or_none(value)  # kept for the record, never counted
            row.metrics = {**(metrics or {}), "superseded_state": state.value}
            if not error.startswith(SUPERSEDED):
                first = winner.number if winner is not None else "?"
                row.error = (
                    f"{SUPERSEDED}: trial {first} finished first (same params); this "
                    f"attempt's late result is kept here, not counted ({error})"
                )
            return False
        now = utcnow()
        for other in attempts:
            if other.state in (_RUNNING, _WAITING):
                other.state = _FAILED
                other.finished_at = now
                other.error = (
                    f"{SUPERSEDED}: trial {row.number} finished first (same params), "
                    "after being declared stale"
                )
        session.flush()  # the superseded attempts leave the grid index before this one enters it
        row.state = state.value
        row.value = _finite_or_none(value)
        row.metrics = metrics or {}
        row.error = None
        row.finished_at = now
        return True

    def _attempts(self, session: Session, row: TrialRow) -> list[TrialRow]:
        """The other trials of ``row``'s retry tree (its ancestors and their retries), locked."""

        def by_number(numbers: set[int]) -> list[TrialRow]:
            query = select(TrialRow).where(
                TrialRow.study_id == row.study_id, TrialRow.number.in_(numbers)
            )
            if self.is_postgres:
                query = query.with_for_update()
            return list(session.scalars(query.execution_options(populate_existing=True)))

        root = row
        while root.retry_of is not None:
            parents = by_number({root.retry_of})
            if not parents:
                break
            root = parents[0]
        tree: dict[int, TrialRow] = {root.number: root}
        frontier = {root.number}
        while frontier:
            query = select(TrialRow).where(
                TrialRow.study_id == row.study_id, TrialRow.retry_of.in_(frontier)
            )
            if self.is_postgres:
                query = query.with_for_update()
            children = [
                t
                for t in session.scalars(query.execution_options(populate_existing=True))
                if t.number not in tree
            ]
            tree.update((t.number, t) for t in children)
            frontier = {t.number for t in children}
        tree.pop(row.number, None)
        return sorted(tree.values(), key=lambda t: t.number)

    # ------------------------------------------------------------------ failed grid points
    @staticmethod
    def _failed_points(session: Session, study_id: int) -> list[TrialRow]:
        """The latest FAILED trial of each grid point that no other trial holds."""
        held = select(TrialRow.grid_id).where(
            TrialRow.study_id == study_id, TrialRow.grid_id.is_not(None), TrialRow.state != _FAILED
        )
        rows = session.scalars(
            select(TrialRow)
            .where(
                TrialRow.study_id == study_id,
                TrialRow.grid_id.is_not(None),
                TrialRow.state == _FAILED,
                TrialRow.grid_id.not_in(held),
            )
            .order_by(TrialRow.number)
        ).all()
        latest = {r.grid_id: r for r in rows}  # in number order: the last attempt wins
        return sorted(latest.values(), key=lambda r: r.number)

    def failed_grid_points(self, study_id: int) -> list[FrozenTrial]:
        """The last attempt at each grid point whose every trial FAILED (and none is queued)."""
        return self.tx.run(
            lambda s: [_frozen(r) for r in self._failed_points(s, study_id)], write=False
        )

    def requeue_failed_grid_points(
        self, study_id: int, *, max_retries: int, limit: int | None = None
    ) -> list[int]:
        """Queue a retry (WAITING, same params and grid point) for each failed grid point.

        A point is retried while its last attempt's ``retry_attempt`` is below
        ``max_retries``, like a dead worker's trial. Safe from many workers at once: the
        study row is locked, and a point someone re-queued meanwhile is held again.

        Args:
            limit: queue at most this many (the room left in the study's budget).

        Returns:
            The numbers of the trials queued now.
        """

        def retries_left(rows: list[Any]) -> bool:
            return any(_attempt(r) < max_retries for r in rows)

        if limit is not None and limit <= 0 or not retries_left(self.failed_grid_points(study_id)):
            return []  # the common case, read-only: no write lock taken

        def fn(session: Session) -> list[int]:
            number = self._lock_study(session, study_id)  # type: ignore[attr-defined]
            queued: list[int] = []
            for row in self._failed_points(session, study_id):
                if limit is not None and len(queued) >= limit:
                    break
                if _attempt(row) < max_retries:
                    session.add(self._retry_row(row, number, _attempt(row) + 1))  # type: ignore[attr-defined]
                    queued.append(number)
                    number += 1
            if queued:
                session.execute(
                    update(StudyRow).where(StudyRow.id == study_id).values(next_number=number)
                )
            return queued

        return self.tx.run(fn)


def _attempt(trial: Any) -> int:
    return int((trial.user_attrs or {}).get("retry_attempt", 0))
