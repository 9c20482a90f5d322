"""scikit-learn front door: :class:`HPOSearchCV`, a drop-in for GridSearchCV with hpo inside."""

from __future__ import annotations

from hpo.sklearn._search import HPOSearchCV

__all__ = ["HPOSearchCV"]
