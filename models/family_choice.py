"""One objective over several model families: the search space picks the family.

The course compares the scikit-learn MLP and the PyTorch FCNN on the same problem; with
a ``family`` parameter in the space (and each family's own parameters conditional on
it, ``when=("family", "==", "torch")``), one study, one leaderboard, ranks both::

    families = FamilyChoice({"sklearn": SklearnMLPRegressorTrainer(metric="r2"),
                             "torch": TorchMLPRegressorTrainer(metric="r2")}, "concrete")

    def objective(params, reporter):
        return families(params, reporter)

Inactive parameters never reach the objective (the space drops them), so each trainer
gets only its own. For an ``r2`` regression the result also carries ``rmse`` and
``test_rmse`` (in the target's units): RMSE follows exactly from R² and the variance
of the same rows, ``RMSE = std(y) * sqrt(1 - R²)``, so no trainer needs changing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.objective import Reporter, TrialResult


class FamilyChoice:
    """``objective(params, reporter)``: train the family ``params[param]`` names.

    Args:
        trainers: family name -> a trainer (anything with ``fit(params, data, reporter)``
            and the split options ``test_size``, ``validation_fraction``, ``cv``,
            ``split_seed`` of the built-in trainers).
        dataset: a dataset spec (see :func:`hpo.models.datasets.load_dataset`).
        param: the name of the search-space parameter that picks the family.
    """

    def __init__(self, trainers: Mapping[str, Any], dataset: Any, *, param: str = "family") -> None:
        if not trainers:
            raise ConfigError("FamilyChoice needs at least one trainer; got none.")
        self.trainers = dict(trainers)
        self.dataset = dataset
        self.param = param
        self._spread: dict[str, tuple[float, float | None]] = {}  # family -> (test std, val std)

    def __call__(self, params: Mapping[str, Any], reporter: Reporter) -> TrialResult:
        family = params.get(self.param)
        if family not in self.trainers:
            raise ConfigError(
                f"The {self.param!r} parameter must be one of {sorted(self.trainers)}. "
                f"Got {family!r} instead; add it to the space as a Categorical."
            )
        trainer = self.trainers[family]
        own = {k: v for k, v in params.items() if k != self.param}
        result = TrialResult.coerce(trainer.fit(own, self.dataset, reporter))
        if getattr(trainer, "metric", None) == "r2":
            self._add_rmse(family, trainer, result)
        return result

    def _add_rmse(self, family: str, trainer: Any, result: TrialResult) -> None:
        if family not in self._spread:
            self._spread[family] = _target_spread(trainer, self.dataset)
        test_std, val_std = self._spread[family]
        if "test_r2" in result.metrics:
            result.metrics["test_rmse"] = test_std * math.sqrt(
                max(0.0, 1.0 - result.metrics["test_r2"])
            )
        if val_std is not None and result.value is not None:
            result.metrics["rmse"] = val_std * math.sqrt(max(0.0, 1.0 - float(result.value)))


def _target_spread(trainer: Any, dataset: Any) -> tuple[float, float | None]:
    """Population std of the test targets, and of the validation targets (holdout only)."""
    from hpo.models.datasets import load_dataset
    from hpo.models.splits import make_folds

    splits = make_folds(
        load_dataset(dataset),
        test_size=trainer.test_size,
        validation_fraction=trainer.validation_fraction,
        cv=trainer.cv,
        seed=trainer.split_seed,
    )
    val_std = None if trainer.cv is not None else float(np.std(splits.folds[0].y_val))
    return float(np.std(splits.y_test)) if len(splits.y_test) else 0.0, val_std


__all__ = ["FamilyChoice"]
