"""``python -m hpo``: the same command line as the ``hpo`` script."""

from __future__ import annotations

from hpo.cli import app

if __name__ == "__main__":
    app(prog_name="hpo")
