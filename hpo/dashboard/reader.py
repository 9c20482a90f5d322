"""A read-only connection to an hpo database: the only way the dashboard touches storage.

Why not :class:`hpo.storage.Storage`: opening one creates the schema on a fresh
database (a write), and its SQLite engine switches the journal mode. The dashboard
must never write and never hold a lock a worker waits on, so it opens its own engine:

* SQLite: the file is opened through a ``file:...?mode=ro`` URI (SQLite itself refuses
  every write) with ``PRAGMA query_only`` on top; each request reads in one short
  deferred transaction, which in WAL mode never blocks a writer.
* PostgreSQL: every session starts with ``default_transaction_read_only=on``.

The URL shown anywhere (pages, errors, logs) comes from :attr:`Reader.safe_url`, which
never holds the password.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from hpo.errors import SchemaVersionError, StorageError
from hpo.storage.engine import is_memory, is_sqlite, normalize_url, sqlite_path, translate
from hpo.storage.schema import SCHEMA_VERSION, SchemaInfo

T = TypeVar("T")
_READ_TIMEOUT_S = 5.0


def safe_url(url: str) -> str:
    """``url`` as text with any password replaced by ``***``."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "<not a database URL>"


def read_only_engine(url: str) -> Engine:
    """An engine that cannot write to ``url``; raises StorageError naming the URL and the fix."""
    url = normalize_url(url)
    shown = safe_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StorageError(
            f"--storage {shown!r} is not a database URL; use e.g. "
            "'sqlite:///studies/hpo.db' or 'postgresql://user@host/db'."
        ) from e
    if is_sqlite(url):
        if is_memory(url):
            raise StorageError(
                f"--storage {shown!r} is an in-memory database, private to the "
                "process that made it; point the dashboard at a database file."
            )
        path = sqlite_path(url)
        assert path is not None
        if not path.is_file():
            raise StorageError(
                f"--storage {shown!r}: no SQLite database at {str(path)!r}. "
                "Run a study first, or fix the path."
            )
        uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro&uri=true"
        engine = create_engine(
            f"sqlite+pysqlite:///{uri}",
            connect_args={"timeout": _READ_TIMEOUT_S, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(_READ_TIMEOUT_S * 1000)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.connection.driver_connection.execute("BEGIN")  # deferred: a read snapshot

        return engine
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "postgresql":
        kwargs.update(
            pool_size=2,
            max_overflow=4,
            connect_args={
                "options": "-c default_transaction_read_only=on -c statement_timeout=10000",
                "connect_timeout": 5,
            },
        )
    try:
        return create_engine(url, **kwargs)
    except (ImportError, ArgumentError) as e:
        raise StorageError(f"Cannot open --storage {shown!r}: {e}.") from e


class Reader:
    """Runs read-only queries against one hpo database, each in its own short transaction.

    Args:
        url: the SQLAlchemy URL of a database hpo wrote (SQLite file or PostgreSQL).
    """

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.safe_url = safe_url(self.url)
        self.engine = read_only_engine(self.url)
        self.dialect = self.engine.dialect.name

    def check_schema(self) -> None:
        """Refuse a database hpo did not write, or one of another schema version."""

        def fn(conn: Connection) -> int | None:
            if SchemaInfo.__tablename__ not in inspect(conn).get_table_names():
                return None
            found = conn.execute(
                select(SchemaInfo.value).where(SchemaInfo.key == "schema_version")
            ).scalar()
            return int(found) if found is not None else -1

        version = self.run(fn)
        if version is None:
            raise StorageError(
                f"The database {self.safe_url!r} holds no hpo studies (no "
                "hpo_schema table). Point --storage at a database hpo wrote."
            )
        if version != SCHEMA_VERSION:
            raise SchemaVersionError(
                f"The database {self.safe_url!r} has hpo schema version "
                f"{version}; this dashboard reads version {SCHEMA_VERSION}."
            )

    def run(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` inside one read transaction, rolled back (nothing to commit) at the end."""
        try:
            with self._connect() as conn:
                return fn(conn)
        except SQLAlchemyError as e:
            raise translate(e, self.safe_url) from e

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            try:
                yield conn
            finally:
                conn.rollback()

    def dispose(self) -> None:
        self.engine.dispose()
