"""SQLAlchemy statements compiled once and run on SQLite's bare driver connection.

Why: at several workers on one SQLite file the write lock is the bottleneck, and a claim
holds it for as long as its transaction runs in Python. Through SQLAlchemy Core each
statement costs tens of microseconds of Python around SQLite's few; a claim runs five.
A :class:`DriverStatement` is the SQL text SQLAlchemy compiles for the engine's own
dialect, with the bind processors SQLAlchemy itself would apply (JSON, DATETIME, float),
so a row written through it is exactly the row the Core path writes; only the
per-execute machinery (compilation cache lookups, events, result wrapping) is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class DriverStatement:
    """One Core statement as (SQL text, bound arguments) for the driver's qmark paramstyle.

    Args:
        statement: a Core statement whose binds are named (``bindparam("sid")``); constants
            in it (``state == 'RUNNING'``) are bound as SQLAlchemy would bind them.
        dialect: the engine's dialect (its JSON serializer and type processors are used).
        column_keys: for an INSERT, the columns given (as ``conn.execute(insert, values)``
            would infer them from ``values``).
    """

    def __init__(
        self,
        statement: ClauseElement,
        dialect: Dialect,
        column_keys: Sequence[str] | None = None,
    ) -> None:
        if dialect.paramstyle != "qmark":
            raise ValueError(f"DriverStatement needs a qmark driver, not {dialect.paramstyle!r}")
        compiled = cast(
            SQLCompiler,
            statement.compile(
                dialect=dialect, column_keys=list(column_keys) if column_keys is not None else None
            ),
        )
        self.sql: str = compiled.string
        self._binds: list[tuple[str, Callable[[Any], Any] | None, bool, Any]] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            self._binds.append((name, processor, bool(bind.required), bind.value))

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The positional arguments for ``params`` (by bind name), processed like SQLAlchemy."""
        out = []
        for name, processor, required, constant in self._binds:
            value = params[name] if required else params.get(name, constant)
            out.append(value if processor is None else processor(value))  # None too, as SQLAlchemy
        return tuple(out)

    def __repr__(self) -> str:
        return f"DriverStatement({self.sql!r})"
