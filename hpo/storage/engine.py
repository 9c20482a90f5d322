"""Engines tuned per backend, and a transaction runner that turns lock contention into waiting.

SQLite: WAL journal (readers never block the writer), a busy timeout, and
``BEGIN IMMEDIATE`` for write transactions so two writers never deadlock on a
lock upgrade. PostgreSQL: psycopg 3 with pre-ping. Any other SQLAlchemy URL is
used as given.

Two options of a SQLite URL are hpo's own (taken out before SQLite sees the URL):

- ``?synchronous=normal|full|extra|off`` (default ``normal``): with WAL, NORMAL survives
  any crash of a process but may lose the last commits on power loss or an OS crash;
  FULL syncs the WAL on every commit and loses nothing that was committed.
- ``?file_mode=0660`` (default ``0600``): the mode of a database file hpo creates (less
  the umask); folders it creates for it get the matching ``x`` bits (0700 by default).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from hpo.errors import ConfigError, StorageError
from hpo.paths import FILE_MODE, make_private_dirs
from hpo.storage import DEFAULT_STORAGE  # noqa: F401  (re-exported for callers of engine)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
SYNCHRONOUS = ("off", "normal", "full", "extra")
DEFAULT_SYNCHRONOUS = "normal"
_OWN_OPTIONS = ("synchronous", "file_mode")
_TRANSIENT = (
    "database is locked",
    "database is busy",
    "deadlock detected",
    "could not serialize",
    "server closed the connection",
    "connection reset",
)


def normalize_url(url: str) -> str:
    """Pick the psycopg 3 driver for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def display_url(url: str) -> str:
    """``url`` with its password masked (``postgresql://hpo:***@db/hpo``): what is shown."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def sqlite_options(url: str) -> tuple[str, str, int]:
    """hpo's own options of a SQLite URL: (URL without them, synchronous level, file mode).

    Raises:
        ConfigError: an unknown synchronous level or a file mode that is not octal.
    """
    parsed = make_url(url)
    level = str(parsed.query.get("synchronous", DEFAULT_SYNCHRONOUS)).lower()
    if level not in SYNCHRONOUS:
        raise ConfigError(
            f"The 'synchronous' option of SQLite URL {display_url(url)!r} must be one of "
            f"{list(SYNCHRONOUS)}. Got {parsed.query.get('synchronous')!r} instead."
        )
    raw_mode = parsed.query.get("file_mode")
    mode = FILE_MODE
    if raw_mode is not None:
        try:
            mode = int(str(raw_mode), 8)
        except ValueError:
            mode = -1
        if not 0 <= mode <= 0o777 or not mode & 0o600 == 0o600:
            raise ConfigError(
                f"The 'file_mode' option of SQLite URL {display_url(url)!r} must be an "
                f"octal mode that lets the owner read and write, such as 0600 or "
                f"0660. Got {raw_mode!r} instead."
            )
    stripped = parsed.difference_update_query(_OWN_OPTIONS).render_as_string(hide_password=False)
    return stripped, level, mode


def _create_private_file(path: Path, mode: int) -> None:
    """Create the empty database file with ``mode`` (SQLite makes its -wal/-shm files alike)."""
    if path.exists():
        return
    make_private_dirs(path.parent, mode | ((mode & 0o444) >> 2))
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode))
    except FileExistsError:  # another process made it meanwhile
        pass
    except PermissionError:  # a read-only folder: SQLite's own error says it better
        pass


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def is_memory(url: str) -> bool:
    parsed = make_url(url)
    return is_sqlite(url) and parsed.database in (None, "", ":memory:")


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (also SQLite's URI form ``sqlite:///file:PATH?...&uri=true``)."""
    parsed = make_url(url)
    if not is_sqlite(url) or is_memory(url):
        return None
    database = parsed.database or ""
    if parsed.query.get("uri") == "true" and database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with our per-backend settings; raises StorageError with a fix."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StorageError(
            f"Storage URL {display_url(url)!r} is not a valid SQLAlchemy URL; use e.g. "
            "'sqlite:///studies/hpo.db' or 'postgresql://user@host/db'."
        ) from e
    if is_sqlite(url):
        return _sqlite_engine(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "postgresql":
        kwargs.update(pool_size=2, max_overflow=4)
    try:
        return create_engine(url, **kwargs)
    except (ImportError, ArgumentError) as e:
        raise StorageError(_missing_driver_message(parsed, e)) from e


# SQLAlchemy dialect -> (the package its default driver comes from, how to get it)
_DRIVERS = {
    "postgresql": ("psycopg", "pip install 'hpo[postgres]'"),
    "mysql": (
        "mysqlclient (module MySQLdb)",
        "pip install mysqlclient, or use a 'mysql+pymysql://' URL after pip install pymysql",
    ),
    "mariadb": ("mysqlclient (module MySQLdb)", "pip install mysqlclient"),
    "mssql": ("pyodbc", "pip install pyodbc"),
    "oracle": ("oracledb", "pip install oracledb"),
}


def _missing_driver_message(parsed: Any, error: BaseException) -> str:
    """Which driver a URL needs and how to install it, instead of a bare ModuleNotFoundError."""
    shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    tested = (
        ""
        if backend == "postgresql"
        else " hpo has no extra for it: it is tested on SQLite "
        "and PostgreSQL (pip install 'hpo[postgres]')."
    )
    if isinstance(error, ImportError) and "+" in parsed.drivername:  # a driver named in the URL
        driver = parsed.get_driver_name()
        return (
            f"Storage URL {shown!r} needs the {backend} driver {driver}, which is not "
            f"installed ({error}). Install it with: pip install {driver}.{tested}"
        )
    if isinstance(error, ImportError) and backend in _DRIVERS:
        package, fix = _DRIVERS[backend]
        return (
            f"Storage URL {shown!r} needs the {backend} driver {package}, which is not "
            f"installed ({error}). Install it with: {fix}.{tested}"
        )
    return f"Cannot use storage URL {shown!r}: {error}.{tested}"


def _sqlite_engine(url: str) -> Engine:
    url, synchronous, file_mode = sqlite_options(url)
    memory = is_memory(url)
    path = sqlite_path(url)
    read_only = make_url(url).query.get("mode") == "ro"
    if path is not None and not read_only:
        try:
            _create_private_file(path, file_mode)
        except OSError as e:
            raise StorageError(
                f"Cannot create the folder {str(path.parent)!r} for SQLite storage "
                f"{display_url(url)!r}: {e}. "
                "Choose a writable path."
            ) from e
    if memory:  # one shared connection, or each session would see its own empty database
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("hpo_write", False)
        # straight to the driver: this runs once per transaction, on the hot path
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def is_transient(error: BaseException) -> bool:
    """Lock contention, deadlocks and dropped connections: worth retrying."""
    if not isinstance(error, (OperationalError, DBAPIError)):
        return False
    message = str(getattr(error, "orig", error)).lower()
    return any(t in message for t in _TRANSIENT) or bool(
        getattr(error, "connection_invalidated", False)
    )


class Transactions:
    """Runs functions in one short transaction each, retrying transient failures with backoff."""

    def __init__(self, engine: Engine, *, max_attempts: int = 12) -> None:
        self.engine = engine
        self._write_engine = engine.execution_options(hpo_write=True)
        self.max_attempts = max_attempts

    def run(
        self, fn: Callable[[Session], T], *, write: bool = True, integrity_errors: bool = False
    ) -> T:
        """Run ``fn(session)`` in one transaction; commit, or roll back and retry if transient.

        Args:
            write: take the write lock up front (``BEGIN IMMEDIATE`` on SQLite).
            integrity_errors: let a unique-constraint violation through as SQLAlchemy's
                ``IntegrityError`` (the caller turns it into an outcome); otherwise it
                becomes a StorageError like every other database error.
        """
        engine = self._write_engine if write else self.engine

        def once() -> T:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return fn(session)

        return self._retry(once, integrity_errors)

    def run_core(
        self, fn: Callable[[Connection], T], *, write: bool = True, integrity_errors: bool = False
    ) -> T:
        """Like :meth:`run` with a bare Connection: the hot path (claim, finish) needs no ORM."""
        engine = self._write_engine if write else self.engine

        def once() -> T:
            with engine.begin() as conn:
                return fn(conn)

        return self._retry(once, integrity_errors)

    def run_driver(self, fn: Callable[[Any], T], *, integrity_errors: bool = False) -> T:
        """Like :meth:`run_core` with SQLite's bare driver connection, in ``BEGIN IMMEDIATE``.

        For the claim's hot path only (see :mod:`hpo.storage._driver`): the write lock is
        held for ``fn`` and the commit, without SQLAlchemy's per-statement Python. The
        driver's errors become SQLAlchemy's (OperationalError, IntegrityError, ...), so
        retries, lock waits and error messages are those of :meth:`run_core`.
        """
        dbapi_error = self.engine.dialect.loaded_dbapi.Error

        def once() -> T:
            pooled = self.engine.raw_connection()
            try:
                conn: Any = pooled.driver_connection
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    result = fn(conn)
                    conn.execute("COMMIT")
                    return result
                except BaseException:
                    if conn.in_transaction:
                        try:
                            conn.execute("ROLLBACK")
                        except dbapi_error:  # never hand a connection mid-transaction back
                            pooled.invalidate()
                    raise
            except dbapi_error as e:
                raise DBAPIError.instance(None, None, e, dbapi_error) from e
            finally:
                pooled.close()

        return self._retry(once, integrity_errors)

    def _retry(self, once: Callable[[], T], integrity_errors: bool) -> T:
        delay = 0.005
        for attempt in range(1, self.max_attempts + 1):
            try:
                return once()
            except IntegrityError as e:
                if integrity_errors:
                    raise
                raise translate(e, self._url()) from e
            except (OperationalError, DBAPIError) as e:
                if attempt < self.max_attempts and is_transient(e):
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 1.0)
                    continue
                raise translate(e, self._url()) from e
        raise AssertionError("unreachable")

    def _url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)


def translate(error: BaseException, url: str) -> StorageError:
    """A StorageError that says what failed and what to do about it."""
    message = str(getattr(error, "orig", error))
    low = message.lower()
    if "readonly" in low or "read-only" in low:
        return StorageError(
            f"The database {url!r} is read-only ({message}). Make the file and its folder "
            "writable, or copy it somewhere writable."
        )
    if "unable to open" in low:
        path = sqlite_path(url) if is_sqlite(url) else None
        if (
            path is not None
            and path.exists()
            and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))
        ):
            return StorageError(
                f"The database {url!r} is read-only ({message}): SQLite needs to write the file "
                f"and create its -wal/-shm files next to it in {str(path.parent)!r}. Make both "
                "writable, or copy the file somewhere writable."
            )
        return StorageError(f"Cannot open the SQLite database {url!r} ({message}). Check the path.")
    if "does not exist" in low and 'database "' in low:
        return StorageError(
            f"Cannot connect to {url!r} ({message.strip().splitlines()[0]}). Create the database "
            "(e.g. `createdb NAME`) or fix the URL."
        )
    if "could not connect" in low or "connection refused" in low or "connection failed" in low:
        return StorageError(
            f"Cannot connect to {url!r} ({message.strip().splitlines()[0]}). "
            "Is the server running and the URL right?"
        )
    if "locked" in low or "busy" in low:
        return StorageError(
            f"The database {url!r} stayed locked for too long ({message}). "
            "Too many writers on one SQLite file? Use PostgreSQL for many machines."
        )
    return StorageError(f"Storage error on {url!r}: {message}")
