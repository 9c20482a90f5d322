"""Study names, and the folders derived from a study (never from its name alone).

A study's name is data, not a path. It is checked once, when the study is created
(:func:`check_study_name`), identically on every backend, and its artifact folder is
``<artifacts root>/study-<id>-<slug>-<digest>``: the database id makes it unique within
the database, the digest (of id, name and creation time) keeps two databases that share
one artifacts root apart, and the slug (the name with every character outside
``[A-Za-z0-9._-]`` replaced) is only there for people. :func:`study_folder` checks that
the folder stays inside the root whatever the stored name holds.

Folders and files hpo creates are private by default (0700 / 0600, further restricted
by the umask); :func:`make_private_dirs` creates every missing component that way.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

from hpo.errors import ConfigError

__all__ = [
    "MAX_NAME_LENGTH",
    "DIR_MODE",
    "FILE_MODE",
    "check_study_name",
    "study_folder",
    "make_private_dirs",
]

MAX_NAME_LENGTH = 200  # the name column holds 255 characters on every backend
DIR_MODE = 0o700
FILE_MODE = 0o600
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SLUG_LENGTH = 40


def _bad_char(name: str) -> str | None:
    """The first character a name may not hold, described, or None."""
    for ch in name:
        if ch in "/\\":
            return f"the path separator {ch!r}"
        if ch == "\x00":
            return "a NUL character"
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            return f"the control character {ch!r}"
    return None


def check_study_name(name: Any) -> str:
    """Return ``name`` if it may name a new study; else raise ConfigError saying why.

    Allowed: 1..200 characters, no path separator, no ``..``, no NUL or other control
    or format character, no leading or trailing whitespace. The same rule holds on
    SQLite and PostgreSQL (the database is never the one to refuse a name).
    """
    if not isinstance(name, str):
        raise ConfigError(
            f"The 'name' parameter of create_study must be a str. Got {name!r} instead."
        )
    shown = name if len(name) <= 60 else f"{name[:40]}...({len(name)} characters)"
    fix = "Use letters, digits, spaces and . _ - (e.g. 'digits-mlp')."
    if not name.strip():
        raise ConfigError(
            f"The 'name' parameter of create_study must be a non-empty str. Got {name!r} instead."
        )
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigError(
            f"The 'name' parameter of create_study must be at most {MAX_NAME_LENGTH} "
            f"characters. Got {shown!r} instead."
        )
    bad = _bad_char(name)
    if bad is not None:
        raise ConfigError(
            f"The 'name' parameter of create_study must not contain {bad}. "
            f"Got {shown!r} instead. {fix}"
        )
    if ".." in name:
        raise ConfigError(
            f"The 'name' parameter of create_study must not contain '..'. "
            f"Got {shown!r} instead. {fix}"
        )
    if name != name.strip():
        raise ConfigError(
            f"The 'name' parameter of create_study must not start or end with "
            f"whitespace. Got {shown!r} instead."
        )
    return name


def _slug(name: str) -> str:
    slug = _SLUG_UNSAFE.sub("-", name)[:_SLUG_LENGTH].strip(".-")
    return slug or "study"


def study_folder(root: Path, study_id: int, name: str, created_at: datetime | None) -> Path:
    """``root/study-<id>-<slug>-<digest>``: one folder per study, always inside ``root``.

    Raises:
        ConfigError: the folder would not be a direct child of ``root`` (cannot happen
            with the slug's alphabet; checked so that it stays impossible).
    """
    stamp = created_at.isoformat() if created_at is not None else ""
    digest = hashlib.sha256(f"{int(study_id)}\x00{name}\x00{stamp}".encode()).hexdigest()[:8]
    folder = root / f"study-{int(study_id)}-{_slug(name)}-{digest}"
    if folder.parent != root or os.sep in folder.name or folder.name in (".", ".."):
        raise ConfigError(
            f"Study {name!r}: its artifact folder {str(folder)!r} would leave {str(root)!r}."
        )
    return folder


def make_private_dirs(path: Path, mode: int = DIR_MODE) -> Path:
    """``mkdir -p`` where each folder created gets ``mode`` (less the umask); existing ones stay."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=mode)
        except FileExistsError:  # another worker made it meanwhile
            pass
    return path
