"""Every error hpo raises on purpose.

Hierarchy::

    HPOError
    ├── InvalidSpaceError (ValueError)   a search space or parameter definition is wrong
    ├── ConfigError (ValueError)         a study option, model, dataset, metric or sampler is wrong
    ├── StorageError                     the database cannot be opened, read or written
    │   └── SchemaVersionError           the database was written by another schema version
    ├── StudyNotFoundError (KeyError)    no study of that name in the storage
    ├── StudyExistsError (ConfigError, StorageError)  create_study: the name is taken
    ├── StudyMismatchError               a resumed study differs from the stored one
    ├── SearchSpaceExhausted             a finite sampler (grid) has proposed every point
    └── TrialPruned                      raised inside an objective to stop a hopeless trial

Messages follow one shape: what, which object, expected, got, and the fix.
Third-party errors are translated at the boundary (``raise StorageError(msg) from e``).
"""

from __future__ import annotations


class HPOError(Exception):
    """Base class of every error raised by hpo."""


class InvalidSpaceError(HPOError, ValueError):
    """A parameter or search space definition is invalid."""


class ConfigError(HPOError, ValueError):
    """A study, model, dataset, metric or sampler option is invalid."""


class StorageError(HPOError):
    """The storage backend failed to open, read or write."""


class SchemaVersionError(StorageError):
    """The database schema version is not the one this hpo understands."""


class StudyNotFoundError(HPOError, KeyError):
    """No study with the requested name exists in the storage."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StudyExistsError(ConfigError, StorageError):
    """A study of that name already exists (the one error every losing creator gets)."""


class StudyMismatchError(HPOError):
    """A study was resumed with a definition that differs from the stored one."""


class SearchSpaceExhausted(HPOError):
    """A finite sampler has already proposed every point of its space."""


class TrialPruned(HPOError):
    """Raised by an objective (or its reporter) to end a trial as PRUNED."""


class WorkerInterrupted(BaseException):
    """SIGTERM arrived: stop after releasing the running trial (a BaseException, like Ctrl-C)."""
