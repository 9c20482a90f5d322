"""Persistence of studies and trials: SQLite by default, PostgreSQL (or any SQLAlchemy URL) by URL.

The package imports lazily (PEP 562): ``DEFAULT_STORAGE`` costs nothing, and SQLAlchemy
is loaded by the first name that needs it, so ``hpo --help`` does not pay for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

DEFAULT_STORAGE = "sqlite:///studies/hpo.db"

_EXPORTS: dict[str, str] = {
    "Storage": "hpo.storage.storage",
    "StudyRecord": "hpo.storage.storage",
    "StudySummary": "hpo.storage.storage",
    "Snapshot": "hpo.storage.storage",
    "Claim": "hpo.storage.storage",
    "ClaimStatus": "hpo.storage.storage",
    "Outcome": "hpo.storage.storage",
    "utcnow": "hpo.storage.storage",
    "display_url": "hpo.storage.engine",
    "is_memory": "hpo.storage.engine",
    "is_sqlite": "hpo.storage.engine",
    "normalize_url": "hpo.storage.engine",
    "sqlite_path": "hpo.storage.engine",
}

__all__ = [
    "DEFAULT_STORAGE",
    "get_storage",
    "Storage",
    "StudyRecord",
    "StudySummary",
    "Snapshot",
    "Claim",
    "ClaimStatus",
    "Outcome",
    "utcnow",
    "display_url",
    "is_memory",
    "is_sqlite",
    "normalize_url",
    "sqlite_path",
]

_OPEN: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'hpo.storage' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def get_storage(url: str | Storage | None = None) -> Storage:
    """The process-wide Storage for ``url`` (engines and pools are reused, not reopened)."""
    from hpo.storage.engine import is_memory, normalize_url
    from hpo.storage.storage import Storage

    if isinstance(url, Storage):
        return url
    key = normalize_url(url or DEFAULT_STORAGE)
    if key not in _OPEN or is_memory(key) is False and _OPEN[key].engine is None:
        _OPEN[key] = Storage(key)
    return _OPEN[key]


if TYPE_CHECKING:
    from hpo.storage.engine import display_url, is_memory, is_sqlite, normalize_url, sqlite_path
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
