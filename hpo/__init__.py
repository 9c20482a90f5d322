"""hpo: hyperparameter optimization for neural networks.

    import hpo
    from hpo.space import Float, Int, Categorical

    study = hpo.create_study("demo", space={"x": Float(-5, 5)}, objective=lambda p, r: p["x"] ** 2)
    study.optimize(n_trials=20)
    print(study.leaderboard())

``import hpo`` is light (PEP 562): each name below is imported on first use, so a worker
or ``hpo --help`` pays only for what it touches (SQLAlchemy, pandas and rich load with
the study and storage layers, not with the package).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hpo._version import __version__

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "create_study": "hpo.study",
    "load_study": "hpo.study",
    "delete_study": "hpo.study",
    "list_studies": "hpo.study",
    "Study": "hpo.study",
    "StudySettings": "hpo.settings",
    "register_model": "hpo.registry",
    "FrozenTrial": "hpo.trial",
    "TrialState": "hpo.trial",
    "Reporter": "hpo.objective",
    "TrialResult": "hpo.objective",
    "MedianPruner": "hpo.pruning",
    "SuccessiveHalvingPruner": "hpo.pruning",
    "NopPruner": "hpo.pruning",
    "HyperbandPruner": "hpo.pruning",
    "HPOError": "hpo.errors",
    "InvalidSpaceError": "hpo.errors",
    "ConfigError": "hpo.errors",
    "StorageError": "hpo.errors",
    "SchemaVersionError": "hpo.errors",
    "StudyNotFoundError": "hpo.errors",
    "StudyExistsError": "hpo.errors",
    "StudyMismatchError": "hpo.errors",
    "SearchSpaceExhausted": "hpo.errors",
    "TrialPruned": "hpo.errors",
}
_SUBMODULES = ("samplers", "space", "models")

__all__ = [
    "__version__",
    "create_study",
    "load_study",
    "delete_study",
    "list_studies",
    "Study",
    "StudySettings",
    "register_model",
    "FrozenTrial",
    "TrialState",
    "Reporter",
    "TrialResult",
    "MedianPruner",
    "SuccessiveHalvingPruner",
    "NopPruner",
    "HyperbandPruner",
    "HPOError",
    "InvalidSpaceError",
    "ConfigError",
    "StorageError",
    "SchemaVersionError",
    "StudyNotFoundError",
    "StudyExistsError",
    "StudyMismatchError",
    "SearchSpaceExhausted",
    "TrialPruned",
    "samplers",
    "space",
    "models",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"hpo.{name}")
    else:
        raise AttributeError(f"module 'hpo' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # static analysers and IDEs see the eager imports
    from hpo import models, samplers, space
    from hpo.errors import (
        ConfigError,
        HPOError,
        InvalidSpaceError,
        SchemaVersionError,
        SearchSpaceExhausted,
        StorageError,
        StudyExistsError,
        StudyMismatchError,
        StudyNotFoundError,
        TrialPruned,
    )
    from hpo.objective import Reporter, TrialResult
    from hpo.pruning import MedianPruner, NopPruner, SuccessiveHalvingPruner
    from hpo.registry import register_model
    from hpo.settings import StudySettings
    from hpo.study import Study, create_study, delete_study, list_studies, load_study
    from hpo.trial import FrozenTrial, TrialState
