"""Persistence of studies and trials: SQLite by default, PostgreSQL (or any SQLAlchemy URL) by URL."""

from __future__ import annotations

from hpo.storage.engine import DEFAULT_STORAGE, is_memory, is_sqlite, normalize_url, sqlite_path
from hpo.storage.storage import (
    Claim,
    ClaimStatus,
    Outcome,
    Snapshot,
    Storage,
    StudyRecord,
    StudySummary,
    utcnow,
)

__all__ = ["Storage", "StudyRecord", "StudySummary", "Snapshot", "Claim", "ClaimStatus", "Outcome",
           "DEFAULT_STORAGE", "get_storage", "is_memory", "is_sqlite", "sqlite_path", "utcnow"]

_OPEN: dict[str, Storage] = {}


def get_storage(url: str | Storage | None = None) -> Storage:
    """The process-wide Storage for ``url`` (engines and pools are reused, not reopened)."""
    if isinstance(url, Storage):
        return url
    key = normalize_url(url or DEFAULT_STORAGE)
    if key not in _OPEN or is_memory(key) is False and _OPEN[key].engine is None:
        _OPEN[key] = Storage(key)
    return _OPEN[key]
