"""The ``hpo`` command line (commands in :mod:`hpo.cli.app`, views and study files beside it)."""

from __future__ import annotations

from hpo.cli import optuna_commands  # noqa: F401  (registers import-optuna on the app)
from hpo.cli.app import app

__all__ = ["app"]
