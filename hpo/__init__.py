"""hpo: hyperparameter optimization for neural networks.

    import hpo
    from hpo.space import Float, Int, Categorical

    study = hpo.create_study("demo", space={"x": Float(-5, 5)}, objective=lambda p, r: p["x"] ** 2)
    study.optimize(n_trials=20)
    print(study.leaderboard())
"""

from __future__ import annotations

from hpo import samplers, space
from hpo.errors import (
    ConfigError,
    HPOError,
    InvalidSpaceError,
    SchemaVersionError,
    SearchSpaceExhausted,
    StorageError,
    StudyMismatchError,
    StudyNotFoundError,
    TrialPruned,
)
from hpo.objective import Reporter, TrialResult
from hpo.pruning import MedianPruner, NopPruner, SuccessiveHalvingPruner
from hpo.registry import register_model
from hpo.study import Study, create_study, delete_study, list_studies, load_study
from hpo.trial import FrozenTrial, TrialState

__version__ = "0.1.0"

__all__ = [
    "create_study", "load_study", "delete_study", "list_studies", "Study", "register_model",
    "samplers", "space", "FrozenTrial", "TrialState", "Reporter", "TrialResult",
    "MedianPruner", "SuccessiveHalvingPruner", "NopPruner",
    "HPOError", "InvalidSpaceError", "ConfigError", "StorageError", "SchemaVersionError",
    "StudyNotFoundError", "StudyMismatchError", "SearchSpaceExhausted", "TrialPruned",
]
