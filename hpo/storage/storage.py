"""One Storage class over SQLAlchemy: every read and write the rest of hpo needs.

Every method is one short transaction (see :class:`~hpo.storage.engine.Transactions`).
The claim of a new trial assigns its number from the study row's counter under a
lock (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL), so
numbers are unique and contiguous and the budget is never overshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    delete,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from hpo._version import __version__
from hpo.brackets import NumberSlice
from hpo.errors import SchemaVersionError, StorageError, StudyExistsError, StudyNotFoundError
from hpo.storage._driver import DriverStatement
from hpo.storage._peers import peer_stats
from hpo.storage._records import (
    _COUNT_STATE,
    _COUNT_UNATTENDED,
    _FINISH_RUNNING,
    _INSERT_TRIAL,
    _NEXT_NUMBER,
    _SET_NEXT_NUMBER,
    _START_WAITING,
    _TRIAL_BY_ID,
    _TRIAL_COLUMNS,
    _WAITING,
    _WAITING_IDS,
    Claim,
    ClaimStatus,
    Outcome,
    Snapshot,
    StudyRecord,
    StudySummary,
    _finite_or_none,
    _frozen,
    _record,
    utcnow,
)
from hpo.storage._recovery import _Recovery
from hpo.storage._timings import WorkerSpan, worker_spans
from hpo.storage.engine import Transactions, is_memory, make_engine, normalize_url, translate
from hpo.storage.migrations import HEAD
from hpo.storage.schema import (
    SCHEMA_VERSION,
    AlembicVersion,
    Base,
    IntermediateRow,
    SchemaInfo,
    StudyRow,
    TrialRow,
)
from hpo.trial import FrozenTrial, Proposal, TrialState


class _NotRunning(Exception):
    """Inside a claim: the previous trial's result cannot be written in one statement."""


def _finish_params(outcome: Outcome) -> dict[str, Any]:
    return {
        "tid": outcome.trial_id,
        "p_state": outcome.state.value,
        "p_value": _finite_or_none(outcome.value),
        "p_metrics": outcome.metrics or {},
        "p_error": outcome.error,
        "p_now": utcnow(),
    }


class _CoreOnly(Exception):
    """Inside a driver-level claim: a case only the Core path handles (a WAITING trial, the
    budget's end, a missing study); roll back and run the Core transaction instead."""


def _new_trial_values(
    study_id: int,
    number: int,
    state: TrialState,
    prop: Proposal,
    worker_id: str,
    heartbeat: bool,
) -> dict[str, Any]:
    """The row of a newly claimed (or enqueued) trial, as both claim paths insert it."""
    now = utcnow()
    running = state == TrialState.RUNNING
    return {
        "study_id": study_id,
        "number": number,
        "state": state.value,
        "params": prop.params,
        "value": None,
        "metrics": {},
        "user_attrs": dict(prop.info.get("user_attrs", {})),
        "started_at": now if running else None,
        "heartbeat_at": now if running and heartbeat else None,
        "worker_id": worker_id if running else None,
        "grid_id": prop.grid_id,
        "retry_of": prop.info.get("retry_of"),
        "finished_at": None,
        "error": None,
    }


class _DriverClaims:
    """The claim's statements compiled for SQLite's bare driver (see :mod:`._driver`)."""

    def __init__(self, dialect: Any) -> None:
        self.next_number = DriverStatement(_NEXT_NUMBER, dialect)
        self.finish = DriverStatement(_FINISH_RUNNING, dialect)
        self.waiting = DriverStatement(_WAITING_IDS.limit(1), dialect)
        self.insert = DriverStatement(_INSERT_TRIAL, dialect, _TRIAL_COLUMNS)
        self.set_next = DriverStatement(_SET_NEXT_NUMBER, dialect)


class Storage(_Recovery):
    """All persistence of studies and trials, behind one SQLAlchemy URL.

    Args:
        url: any SQLAlchemy URL; ``sqlite:///path.db`` (created if missing), ``sqlite://``
            (in memory, private to this process) or ``postgresql://user@host/db``.
    """

    def __init__(self, url: str, *, check_schema: bool = True) -> None:
        self.url = normalize_url(url)
        self.engine: Engine = make_engine(self.url)
        self.tx = Transactions(self.engine)
        self.in_memory = is_memory(self.url)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._driver = (  # the claim's hot path without SQLAlchemy's per-statement Python
            _DriverClaims(self.engine.dialect)
            if self.engine.dialect.name == "sqlite" and self.engine.dialect.driver == "pysqlite"
            else None
        )
        if check_schema:  # False only for `hpo db upgrade`, which must open an older schema
            self._init_schema()

    @property
    def display_url(self) -> str:
        """The URL with any password masked: what may be printed or logged."""
        return self.engine.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"Storage({self.display_url!r})"

    def dispose(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ schema
    def _init_schema(self) -> None:
        """Create the tables on first use; refuse a database of another schema version."""
        for attempt in range(3):
            try:
                self.tx.run(self._init_in_tx)
                return
            except StorageError as e:  # two processes creating the schema at once
                if attempt == 2 or not isinstance(e.__cause__, (OperationalError, IntegrityError)):
                    raise
                if (
                    "already exists" not in str(e.__cause__)
                    and "duplicate" not in str(e.__cause__).lower()
                ):
                    raise
            except IntegrityError:
                if attempt == 2:
                    raise

    def _init_in_tx(self, session: Session) -> None:
        conn = session.connection()
        tables = set(inspect(conn).get_table_names())
        if SchemaInfo.__tablename__ not in tables:
            ours = {t.name for t in Base.metadata.sorted_tables} - {AlembicVersion.__tablename__}
            if tables & ours:
                raise StorageError(
                    f"The database at {self!r} has tables named {sorted(tables & ours)} but no "
                    "hpo schema version: it was not written by hpo. Use another database."
                )
            Base.metadata.create_all(conn)
            session.add_all(
                [
                    SchemaInfo(key="schema_version", value=str(SCHEMA_VERSION)),
                    SchemaInfo(key="hpo_version", value=__version__),
                    AlembicVersion(version_num=HEAD),
                ]
            )
            return
        version = self._stored_schema_version(session)
        if version != SCHEMA_VERSION:
            if version > SCHEMA_VERSION:
                hint = "It was written by a newer hpo: upgrade hpo to open it."
            else:
                hint = (
                    f"Back it up, then upgrade it in place with: "
                    f"hpo db upgrade --storage '{self.display_url}'"
                )
            raise SchemaVersionError(
                f"The database at {self!r} has hpo schema version {version}; this hpo "
                f"({__version__}) reads version {SCHEMA_VERSION}. {hint}"
            )

    def _stored_schema_version(self, session: Session) -> int:
        found = session.get(SchemaInfo, "schema_version")
        if found is None:
            return -1
        try:
            return int(found.value)
        except ValueError:
            raise SchemaVersionError(
                f"The database at {self!r} stores schema version {found.value!r}, which is not a "
                "number: the hpo_schema table was edited or damaged. Restore it from a backup."
            ) from None

    def upgrade_schema(self) -> list[str]:
        """Migrate the database to this hpo's schema; return revisions applied (oldest first)."""
        from hpo.storage import migrations

        def fn(session: Session) -> list[str]:
            conn = session.connection()
            if SchemaInfo.__tablename__ not in set(inspect(conn).get_table_names()):
                raise SchemaVersionError(
                    f"The database at {self!r} holds no hpo schema to upgrade."
                )
            version = self._stored_schema_version(session)
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"The database at {self!r} has schema version {version}, newer than this "
                    f"hpo's ({SCHEMA_VERSION}): upgrade hpo instead."
                )
            applied = migrations.upgrade(conn, from_schema_version=version)
            conn.execute(delete(SchemaInfo).where(SchemaInfo.key == "hpo_version"))
            conn.execute(insert(SchemaInfo).values(key="hpo_version", value=__version__))
            return applied

        return self.tx.run(fn)

    # ------------------------------------------------------------------ studies
    def create_study(
        self,
        *,
        name: str,
        direction: str,
        space: dict[str, Any],
        sampler: dict[str, Any],
        objective: dict[str, Any],
        settings: dict[str, Any],
        user_attrs: dict[str, Any],
        seed: int,
    ) -> StudyRecord:
        def fn(session: Session) -> StudyRecord:
            row = StudyRow(
                name=name,
                direction=direction,
                space=space,
                sampler=sampler,
                objective=objective,
                settings=settings,
                user_attrs=user_attrs,
                seed=seed,
                next_number=0,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return _record(row)

        try:
            return self.tx.run(fn, integrity_errors=True)
        except IntegrityError as e:
            raise StudyExistsError(
                f"A study named {name!r} already exists in {self!r}. Load it, or use a new name."
            ) from e

    def get_study(self, name: str) -> StudyRecord:
        def fn(session: Session) -> StudyRecord | None:
            row = session.scalar(select(StudyRow).where(StudyRow.name == name))
            return _record(row) if row else None

        record = self.tx.run(fn, write=False)
        if record is None:
            names = self.study_names()
            hint = f" Studies here: {names}." if names else " This storage has no studies yet."
            raise StudyNotFoundError(f"No study named {name!r} in {self!r}.{hint}")
        return record

    def find_study(self, name: str) -> StudyRecord | None:
        try:
            return self.get_study(name)
        except StudyNotFoundError:
            return None

    def study_names(self) -> list[str]:
        return self.tx.run(
            lambda s: list(s.scalars(select(StudyRow.name).order_by(StudyRow.id))), write=False
        )

    def update_study(self, study_id: int, **fields: Any) -> None:
        self.tx.run(
            lambda s: s.execute(update(StudyRow).where(StudyRow.id == study_id).values(**fields))
        )

    def delete_study(self, name: str) -> None:
        record = self.get_study(name)

        def fn(session: Session) -> None:
            trial_ids = select(TrialRow.id).where(TrialRow.study_id == record.id)
            session.execute(delete(IntermediateRow).where(IntermediateRow.trial_id.in_(trial_ids)))
            session.execute(delete(TrialRow).where(TrialRow.study_id == record.id))
            session.execute(delete(StudyRow).where(StudyRow.id == record.id))

        self.tx.run(fn)

    def summaries(self) -> list[StudySummary]:
        def fn(session: Session) -> list[StudySummary]:
            rows = session.scalars(select(StudyRow).order_by(StudyRow.id)).all()
            counts: dict[int, dict[str, int]] = {}
            for study_id, state, n in session.execute(
                select(TrialRow.study_id, TrialRow.state, func.count()).group_by(
                    TrialRow.study_id, TrialRow.state
                )
            ):
                counts.setdefault(study_id, {})[state] = n
            best: dict[int, float | None] = {}
            for r in rows:
                agg = func.max if r.direction == "maximize" else func.min
                best[r.id] = session.scalar(
                    select(agg(TrialRow.value)).where(
                        TrialRow.study_id == r.id, TrialRow.state == TrialState.COMPLETE.value
                    )
                )
            return [
                StudySummary(
                    r.name, r.direction, counts.get(r.id, {}), best[r.id], r.created_at, r.objective
                )
                for r in rows
            ]

        return self.tx.run(fn, write=False)

    # ------------------------------------------------------------------ reading trials
    def snapshot(
        self, study_id: int, *, with_history: bool = True, with_curves: bool = False
    ) -> Snapshot:
        def fn(session: Session) -> Snapshot:
            next_number = session.scalar(
                select(StudyRow.next_number).where(StudyRow.id == study_id)
            )
            if not with_history:
                return Snapshot([], [], int(next_number or 0))
            trials = self._trials(session, study_id, None, with_curves)
            history = [t for t in trials if t.state.is_finished]
            pending = [t for t in trials if not t.state.is_finished]
            return Snapshot(history, pending, int(next_number or 0))

        return self.tx.run(fn, write=False)

    def trials(
        self,
        study_id: int,
        states: Sequence[TrialState] | None = None,
        *,
        with_curves: bool = False,
    ) -> list[FrozenTrial]:
        return self.tx.run(lambda s: self._trials(s, study_id, states, with_curves), write=False)

    def _trials(
        self,
        session: Session,
        study_id: int,
        states: Sequence[TrialState] | None,
        with_curves: bool,
    ) -> list[FrozenTrial]:
        query = select(TrialRow).where(TrialRow.study_id == study_id).order_by(TrialRow.number)
        if states:
            query = query.where(TrialRow.state.in_([s.value for s in states]))
        rows = session.scalars(query).all()
        curves: dict[int, dict[int, float]] = {}
        if with_curves and rows:
            points = session.execute(
                select(IntermediateRow.trial_id, IntermediateRow.step, IntermediateRow.value)
                .join(TrialRow, TrialRow.id == IntermediateRow.trial_id)
                .where(TrialRow.study_id == study_id)
            )
            for trial_id, step, value in points:
                curves.setdefault(trial_id, {})[step] = value
        return [_frozen(r, curves.get(r.id)) for r in rows]

    def trial(self, study_id: int, number: int) -> FrozenTrial:
        def fn(session: Session) -> FrozenTrial | None:
            if not 0 <= number < 2**31:  # beyond any stored number (a 32-bit INTEGER column)
                return None
            row = session.scalar(
                select(TrialRow).where(TrialRow.study_id == study_id, TrialRow.number == number)
            )
            if row is None:
                return None
            curve = dict(
                session.execute(
                    select(IntermediateRow.step, IntermediateRow.value)
                    .where(IntermediateRow.trial_id == row.id)
                    .order_by(IntermediateRow.step)
                ).all()
            )
            return _frozen(row, curve)

        found = self.tx.run(fn, write=False)
        if found is None:
            raise StorageError(f"Study {study_id} has no trial number {number}.")
        return found

    def counts(self, study_id: int) -> dict[str, int]:
        def fn(session: Session) -> dict[str, int]:
            rows = session.execute(
                select(TrialRow.state, func.count())
                .where(TrialRow.study_id == study_id)
                .group_by(TrialRow.state)
            )
            return {state: n for state, n in rows}

        return self.tx.run(fn, write=False)

    def worker_spans(self, study_id: int) -> list[WorkerSpan]:
        """Per worker: its first and last trial timestamps and its trials' training seconds,
        summed by the database (one row per worker, however many trials)."""
        return self.tx.run_core(
            lambda conn: worker_spans(conn, study_id, postgres=self.is_postgres), write=False
        )

    def count_interrupted(self, study_id: int) -> int:
        """FAILED trials that were released by Ctrl-C/SIGTERM and re-queued, not failures."""

        def fn(session: Session) -> int:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(TrialRow)
                    .where(
                        TrialRow.study_id == study_id,
                        TrialRow.state == TrialState.FAILED.value,
                        TrialRow.error.like("interrupted%"),
                    )
                )
                or 0
            )

        return self.tx.run(fn, write=False)

    def leaderboard(self, study_id: int, direction: str, top: int | None = 10) -> list[FrozenTrial]:
        """Completed trials, best first; ties broken by trial number.

        Uses the (study, state, value) index.
        """

        def fn(session: Session) -> list[FrozenTrial]:
            maximize = direction == "maximize"
            order = TrialRow.value.desc() if maximize else TrialRow.value.asc()
            where = (
                TrialRow.study_id == study_id,
                TrialRow.state == TrialState.COMPLETE.value,
                TrialRow.value.is_not(None),
            )
            query = select(TrialRow).where(*where).order_by(order, TrialRow.number)
            if top is not None:
                # The top-th best value first, straight off the (study, state, value) index;
                # then only rows at least that good are sorted. In one query, PostgreSQL with
                # stale statistics (a bulk load) sorts every completed trial instead.
                cut = session.scalar(
                    select(TrialRow.value)
                    .where(*where)
                    .order_by(order)
                    .offset(max(top - 1, 0))
                    .limit(1)
                )
                if cut is not None:
                    query = query.where(
                        TrialRow.value >= cut if maximize else TrialRow.value <= cut
                    )
                query = query.limit(top)
            return [_frozen(r) for r in session.scalars(query)]

        return self.tx.run(fn, write=False)

    def curves(
        self, study_id: int, states: Iterable[TrialState], *, step: int | None = None
    ) -> dict[int, dict[int, float]]:
        """Trial number -> {step: value} for trials in ``states`` (what pruners compare against).

        With ``step``, only that step's points: a pruning check then reads one row per peer
        (through the ``(step, trial_id)`` index), not every epoch of every peer.
        """

        def fn(conn: Connection) -> dict[int, dict[int, float]]:
            query = (
                select(TrialRow.number, IntermediateRow.step, IntermediateRow.value)
                .join(TrialRow, TrialRow.id == IntermediateRow.trial_id)
                .where(TrialRow.study_id == study_id, TrialRow.state.in_([s.value for s in states]))
            )
            if step is not None:
                query = query.where(IntermediateRow.step == step)
            out: dict[int, dict[int, float]] = {}
            for number, at, value in conn.execute(query):  # plain tuples: no ORM session
                out.setdefault(number, {})[at] = value
            return out

        return self.tx.run_core(fn, write=False)

    def peer_stats(
        self,
        study_id: int,
        states: Iterable[TrialState],
        step: int,
        *,
        exclude: int,
        than: float | None,
        maximize: bool,
        median: bool = False,
        among: NumberSlice | None = None,
    ) -> tuple[int, int, tuple[float, ...]]:
        """A rank-based pruning check's view of its peers at ``step``, in one short read:
        (peers with a finite value, how many beat ``than``, the middle value(s) if
        ``median``), counting only trials ``among`` allows when given (a Hyperband
        bracket). See :mod:`hpo.storage._peers`."""
        names = [s.value for s in states]
        return self.tx.run_core(
            lambda conn: peer_stats(
                conn, study_id, names, step, exclude=exclude, than=than, maximize=maximize,
                median=median, among=among,
            ),
            write=False,
        )  # fmt: skip

    # ------------------------------------------------------------------ claiming
    # The hot path (claim, finish) uses Core statements on the session's connection: one
    # short transaction per claim and per result, no ORM unit of work.
    def _lock_study(self, session: Session | Connection, study_id: int) -> int:
        """The study's next trial number, with the study row locked until commit."""
        conn = session.connection() if isinstance(session, Session) else session
        query = _NEXT_NUMBER.with_for_update() if self.is_postgres else _NEXT_NUMBER
        number = conn.execute(query, {"sid": study_id}).scalar()
        if number is None:
            raise StudyNotFoundError(
                f"The study (id {study_id}) was deleted from {self!r}; its workers stop."
            )
        return int(number)

    def _lock_trial(self, session: Session, trial_id: int) -> TrialRow | None:
        """The trial row, locked until commit on PostgreSQL (SQLite's write lock covers it)."""
        if self.is_postgres:
            return session.get(TrialRow, trial_id, with_for_update=True, populate_existing=True)
        return session.get(TrialRow, trial_id)

    @staticmethod
    def _count(conn: Connection, study_id: int, state: TrialState) -> int:
        return int(
            conn.execute(_COUNT_STATE, {"sid": study_id, "state": state.value}).scalar() or 0
        )

    @staticmethod
    def _not_budgeted(conn: Connection, study_id: int) -> int:
        """Numbered trials that hold no budget: FAILED ones, and RUNNING ones without a
        heartbeat (``Study.ask``), which may never be told; they count once told."""
        failed = Storage._count(conn, study_id, TrialState.FAILED)
        return failed + int(conn.execute(_COUNT_UNATTENDED, {"sid": study_id}).scalar() or 0)

    def _take_waiting(
        self,
        conn: Connection,
        study_id: int,
        next_number: int,
        worker_id: str,
        budget: int | None,
        heartbeat: bool,
    ) -> FrozenTrial | None:
        """Inside a claim: move the oldest WAITING trial to RUNNING, if the budget allows."""
        waiting = conn.execute(_WAITING_IDS, {"sid": study_id}).all()
        if not waiting:
            return None
        query = _TRIAL_BY_ID.with_for_update() if self.is_postgres else _TRIAL_BY_ID
        row = conn.execute(query, {"tid": min(waiting, key=lambda r: r.number).id}).first()
        if row is None or row.state != _WAITING:
            return None
        if budget is not None and next_number >= budget:  # else surely under it: skip the counts
            started = (
                next_number
                - self._not_budgeted(conn, study_id)
                - self._count(conn, study_id, TrialState.WAITING)
            )
            if started >= budget:
                return None
        now = utcnow()
        beat = now if heartbeat else None
        conn.execute(
            _START_WAITING, {"tid": row.id, "p_worker": worker_id, "p_now": now, "p_beat": beat}
        )
        return replace(
            _frozen(row),
            state=TrialState.RUNNING,
            worker_id=worker_id,
            started_at=now,
            heartbeat_at=beat,
        )

    def claim_waiting(
        self, study_id: int, worker_id: str, *, budget: int | None = None, heartbeat: bool = True
    ) -> FrozenTrial | None:
        """Move the oldest WAITING trial (enqueued or retry) to RUNNING for this worker."""

        def fn(conn: Connection) -> FrozenTrial | None:
            next_number = self._lock_study(conn, study_id)
            return self._take_waiting(conn, study_id, next_number, worker_id, budget, heartbeat)

        return self.tx.run_core(fn)

    def claim_new(
        self,
        study_id: int,
        worker_id: str,
        proposal: Proposal | Callable[[int], Proposal],
        *,
        expected_number: int | None = None,
        budget: int | None = None,
        heartbeat: bool = True,
        state: TrialState = TrialState.RUNNING,
        take_waiting: bool = False,
        finish: Outcome | None = None,
    ) -> Claim:
        """Create a trial with the next number, atomically (or take a WAITING one first).

        Args:
            proposal: the params to store, or a function of the trial number that makes them
                (cheap samplers propose inside the transaction).
            expected_number: the number the proposal was made for; if another worker took
                it meanwhile the claim returns NUMBER_TAKEN and the caller re-proposes.
            budget: the requested total; claims stop once COMPLETE + PRUNED + RUNNING +
                WAITING trials reach it. RUNNING trials without a heartbeat (``Study.ask``)
                are not counted: nobody waits for them, and they count once told.
            take_waiting: claim the oldest WAITING trial (enqueued or a retry) instead, if
                there is one, in the same transaction; the proposal is then unused.
            finish: the result of this worker's previous trial, written in the same
                transaction (one commit per trial instead of two). Whenever that cannot be
                done in one statement (the trial is no longer RUNNING) or the transaction
                fails, the result is written by :meth:`finish` on its own: never lost.
        """

        def fn(conn: Connection) -> Claim:
            number = self._lock_study(conn, study_id)  # study row first: the one lock order
            if (
                finish is not None
                and conn.execute(_FINISH_RUNNING, _finish_params(finish)).rowcount != 1
            ):
                raise _NotRunning  # roll back; the slow path below handles a late result
            if take_waiting:
                waiting = self._take_waiting(conn, study_id, number, worker_id, budget, heartbeat)
                if waiting is not None:
                    return Claim(ClaimStatus.CREATED, waiting)
            if expected_number is not None and number != expected_number:
                return Claim(ClaimStatus.NUMBER_TAKEN)
            if (
                budget is not None
                and number >= budget
                and number - self._not_budgeted(conn, study_id) >= budget
            ):
                return Claim(ClaimStatus.BUDGET_REACHED)
            prop = proposal(number) if callable(proposal) else proposal
            values = _new_trial_values(study_id, number, state, prop, worker_id, heartbeat)
            trial_id = conn.execute(_INSERT_TRIAL, values).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(_SET_NEXT_NUMBER, {"sid": study_id, "p_next": number + 1})
            return Claim(ClaimStatus.CREATED, _frozen(SimpleNamespace(id=trial_id, **values)))

        sql = self._driver
        # bound before the lock is taken: JSON and timestamps cost nothing while others wait
        finish_args = sql.finish.args(_finish_params(finish)) if sql and finish else None

        def on_driver(conn: Any) -> Claim | tuple[int, dict[str, Any]]:
            """``fn``'s common case on SQLite's bare connection, the same statements in the
            same order; whatever else happens (a WAITING trial, the budget's end, a deleted
            study) rolls back and is left to ``fn``. A new trial comes back as its row
            (id, values), made into a FrozenTrial once the lock is let go."""
            claims = cast(_DriverClaims, sql)
            found = conn.execute(claims.next_number.sql, claims.next_number.args({"sid": study_id}))
            row = found.fetchone()
            if row is None or row[0] is None:
                raise _CoreOnly
            number = int(row[0])
            if finish_args is not None:
                if conn.execute(claims.finish.sql, finish_args).rowcount != 1:
                    raise _NotRunning
            if take_waiting:
                waiting = conn.execute(claims.waiting.sql, claims.waiting.args({"sid": study_id}))
                if waiting.fetchone() is not None:
                    raise _CoreOnly
            if expected_number is not None and number != expected_number:
                return Claim(ClaimStatus.NUMBER_TAKEN)
            if budget is not None and number >= budget:
                raise _CoreOnly
            prop = proposal(number) if callable(proposal) else proposal
            values = _new_trial_values(study_id, number, state, prop, worker_id, heartbeat)
            trial_id = conn.execute(claims.insert.sql, claims.insert.args(values)).lastrowid
            conn.execute(
                claims.set_next.sql, claims.set_next.args({"sid": study_id, "p_next": number + 1})
            )
            return trial_id, values

        try:
            if sql is not None:
                try:
                    done = self.tx.run_driver(on_driver, integrity_errors=True)
                    if isinstance(done, Claim):
                        return done
                    return Claim(
                        ClaimStatus.CREATED, _frozen(SimpleNamespace(id=done[0], **done[1]))
                    )
                except _CoreOnly:
                    pass  # rolled back: the Core transaction below decides
            return self.tx.run_core(fn, integrity_errors=True)
        except _NotRunning:
            pass  # the previous trial stopped being RUNNING (declared stale): slow path below
        except IntegrityError as e:
            self._store(finish)
            return self._claim_conflict(e)
        except BaseException:
            self._store(finish)  # the claim failed, and rolled the result back with it
            raise
        self._store(finish)
        return self.claim_new(
            study_id,
            worker_id,
            proposal,
            expected_number=expected_number,
            budget=budget,
            heartbeat=heartbeat,
            state=state,
            take_waiting=take_waiting,
        )

    def _store(self, outcome: Outcome | None) -> None:
        if outcome is not None:
            self.finish(
                outcome.trial_id,
                outcome.state,
                value=outcome.value,
                metrics=outcome.metrics,
                error=outcome.error,
            )

    def _claim_conflict(self, e: IntegrityError) -> Claim:
        """A unique violation during a claim: which race was lost."""
        if "grid" in str(e.orig).lower() or "uq_trials_study_grid_point" in str(e):
            return Claim(ClaimStatus.GRID_TAKEN)
        if "number" in str(e.orig).lower():
            return Claim(ClaimStatus.NUMBER_TAKEN)
        raise translate(e, self.engine.url.render_as_string(hide_password=True)) from e

    # ------------------------------------------------------------------ running trials
    def heartbeat(self, trial_ids: Sequence[int]) -> None:
        if not trial_ids:
            return
        self.tx.run(
            lambda s: s.execute(
                update(TrialRow)
                .where(TrialRow.id.in_(trial_ids), TrialRow.state == TrialState.RUNNING.value)
                .values(heartbeat_at=utcnow())
            )
        )

    def report(self, trial_id: int, step: int, value: float, *, bracket: int | None = None) -> None:
        """Store one learning-curve point (the latest report for a step wins)."""
        self.report_many(trial_id, {step: value}, bracket=bracket)

    def report_many(
        self, trial_id: int, points: Mapping[int, float], *, bracket: int | None = None
    ) -> None:
        """Store several learning-curve points of one trial in one short transaction.

        The latest report for a step wins. One Core statement per existing/new split, no
        ORM unit of work: this runs once per flush of a trial's buffered epochs. Each point
        carries ``bracket``, the trial's ``Pruner.bracket_of`` (schema 5; None but under
        Hyperband), which a pruning check counts by.
        """
        if not points:
            return
        rows = [
            {"trial_id": trial_id, "step": int(k), "value": float(v)} for k, v in points.items()
        ]
        # NULL is the bracket's default: no parameter a point for it under other pruners
        shared: dict[str, Any] = {} if bracket is None else {"bracket": bracket}

        def fn(conn: Connection) -> None:
            table = cast(Table, IntermediateRow.__table__)
            study_id = conn.execute(
                select(TrialRow.study_id).where(TrialRow.id == trial_id)
            ).scalar()  # each point names its study (schema 4): the primary key finds it
            if study_id is None:
                raise StudyNotFoundError(
                    f"Trial id {trial_id} does not exist in {self!r}: its study was deleted."
                )
            conn.execute(
                delete(table).where(
                    table.c.trial_id == trial_id, table.c.step.in_([r["step"] for r in rows])
                )
            )
            conn.execute(insert(table), [{**r, "study_id": study_id, **shared} for r in rows])

        self.tx.run_core(fn)

    def finish(
        self,
        trial_id: int,
        state: TrialState,
        *,
        value: float | None = None,
        metrics: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Record a final state. Returns False if the trial had already been finished.

        A result that arrives after the trial was declared stale counts if it is the
        first result of its params (its retries are then superseded); otherwise it is
        kept on the row but not counted. See :mod:`hpo.storage._recovery`.
        """
        params = _finish_params(Outcome(trial_id, state, value, metrics or {}, error))
        # the common case, one statement: the trial is still RUNNING (atomic on both backends)
        if self._driver is not None:
            args = self._driver.finish.args(params)
            sql = self._driver.finish.sql
            if self.tx.run_driver(lambda c: c.execute(sql, args).rowcount) == 1:
                return True
        elif self.tx.run_core(lambda c: c.execute(_FINISH_RUNNING, params).rowcount) == 1:
            return True

        def fn(session: Session) -> bool:
            study_id = session.scalar(select(TrialRow.study_id).where(TrialRow.id == trial_id))
            if study_id is None:
                raise StudyNotFoundError(
                    f"Trial id {trial_id} does not exist in {self!r}: its study was deleted."
                )
            self._lock_study(session, study_id)  # study first, then trials: one lock order
            row = self._lock_trial(session, trial_id)
            if row is None:
                raise StudyNotFoundError(
                    f"Trial id {trial_id} does not exist in {self!r}: its study was deleted."
                )
            if row.state == TrialState.FAILED.value:  # declared stale, or superseded meanwhile
                return self._late_result(session, row, state, value, metrics or {})
            if row.state != TrialState.RUNNING.value:
                return False
            row.state = state.value
            row.value = _finite_or_none(value)
            row.metrics = metrics or {}
            row.error = error
            row.finished_at = utcnow()
            return True

        return self.tx.run(fn)

    def fail_stale(self, study_id: int, *, grace_seconds: float, max_retries: int) -> list[int]:
        """Fail RUNNING trials whose heartbeat is older than the grace period; re-queue retries.

        Safe to call from any number of workers at once: each stale trial is failed once
        (a read-only check first, so the common nothing-is-stale case takes no write lock).
        Returns the numbers of the trials failed now.
        """
        cutoff = utcnow() - timedelta(seconds=grace_seconds)
        stale_query = select(TrialRow).where(
            TrialRow.study_id == study_id,
            TrialRow.state == TrialState.RUNNING.value,
            TrialRow.heartbeat_at.is_not(None),
            TrialRow.heartbeat_at < cutoff,
        )
        any_stale = self.tx.run(
            lambda s: s.scalar(stale_query.with_only_columns(TrialRow.id).limit(1)), write=False
        )
        if any_stale is None:
            return []

        def fn(session: Session) -> list[int]:
            number = self._lock_study(session, study_id)  # study first, then trials: one lock order
            query = stale_query.order_by(TrialRow.number)
            if self.is_postgres:
                query = query.with_for_update()
            stale = session.scalars(query.execution_options(populate_existing=True)).all()
            failed = []
            for row in stale:
                row.state = TrialState.FAILED.value
                row.finished_at = utcnow()
                row.error = (
                    f"stale: no heartbeat from worker {row.worker_id} for more than "
                    f"{grace_seconds:g} s (worker died?)"
                )
                failed.append(row.number)
            session.flush()  # the failed rows leave the grid index before retries enter it
            for row in stale:
                attempts = int((row.user_attrs or {}).get("retry_attempt", 0))
                if attempts < max_retries:
                    session.add(self._retry_row(row, number, attempts + 1))
                    number += 1
            if failed:
                session.execute(
                    update(StudyRow).where(StudyRow.id == study_id).values(next_number=number)
                )
            return failed

        return self.tx.run(fn)

    @staticmethod
    def _retry_row(row: TrialRow, number: int, attempt: int) -> TrialRow:
        """A WAITING copy of ``row`` (same params and grid point) numbered ``number``."""
        return TrialRow(
            study_id=row.study_id,
            number=number,
            state=TrialState.WAITING.value,
            params=row.params,
            value=None,
            metrics={},
            user_attrs={**(row.user_attrs or {}), "retry_attempt": attempt},
            grid_id=row.grid_id,
            retry_of=row.number,
        )

    def release(self, trial_id: int, *, reason: str, requeue: bool) -> None:
        """A worker stopping mid-trial (Ctrl-C, SIGTERM): fail it, optionally re-queue its params.

        An interrupted attempt does not count against ``max_retries`` (the trial did not fail).
        """

        def fn(session: Session) -> None:
            study_id = session.scalar(select(TrialRow.study_id).where(TrialRow.id == trial_id))
            if study_id is None:
                return
            number = self._lock_study(session, study_id)  # study first, then the trial
            row = self._lock_trial(session, trial_id)
            if row is None or row.state != TrialState.RUNNING.value:
                return
            row.state = TrialState.FAILED.value
            row.finished_at = utcnow()
            row.error = reason
            if requeue:
                session.flush()
                attempt = int((row.user_attrs or {}).get("retry_attempt", 0))
                session.add(self._retry_row(row, number, attempt))
                session.execute(
                    update(StudyRow).where(StudyRow.id == study_id).values(next_number=number + 1)
                )

        self.tx.run(fn)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        def fn(session: Session) -> None:
            row = session.get(TrialRow, trial_id)
            if row is not None:
                row.user_attrs = {**(row.user_attrs or {}), key: value}

        self.tx.run(fn)
