"""``hpo dashboard``: a live, read-only web view of the studies in one database.

* :mod:`~hpo.dashboard.reader` -- the read-only engine (SQLite ``mode=ro``; PostgreSQL
  read-only sessions) and the password-free URL every page shows.
* :mod:`~hpo.dashboard.queries` -- studies, a leaderboard page (filtered, sorted and
  paginated in SQL), one trial, workers, learning curves, a change marker.
* :mod:`~hpo.dashboard.figures` -- plot data reduced on the server: history, parallel
  coordinates, parameter importance, slice/contour, study comparison.
* :mod:`~hpo.dashboard.app` -- the Starlette routes; :mod:`~hpo.dashboard.server` runs them
  under uvicorn.

It imports no study code: everything it shows comes from the database. Starlette,
uvicorn and plotly come with the ``dashboard`` extra (``pip install 'hpo[dashboard]'``).
"""

from __future__ import annotations

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> object:
    if name == "create_app":
        from hpo.dashboard.app import create_app

        return create_app
    if name == "serve":
        from hpo.dashboard.server import serve

        return serve
    raise AttributeError(f"module 'hpo.dashboard' has no attribute {name!r}")
