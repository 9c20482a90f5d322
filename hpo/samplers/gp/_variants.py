"""TEMPORARY (branch h6optuna): Optuna's GP choices behind switches, for benchmarks only.

``HPO_GP_VARIANTS`` (comma-separated names) is read once at import. Removed before merge.
"""

from __future__ import annotations

import os

ACTIVE: frozenset[str] = frozenset(os.environ.get("HPO_GP_VARIANTS", "").split(",")) - {""}


def on(name: str) -> bool:
    """Whether the variant ``name`` (or ``all_bo``, every BO-side variant) is switched on."""
    return name in ACTIVE or ("all_bo" in ACTIVE and name != "random_startup")
