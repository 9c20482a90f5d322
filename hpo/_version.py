"""The one version string: the installed distribution's metadata (pyproject.toml's ``version``)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hpo")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
