"""``Study.best_model()``: the best trial's trained model, for the built-in model families.

Decided per family, by what the family keeps:

* PyTorch families save ``model.pt`` + ``model.json`` in the trial's artifact folder (the
  ``keep_weights`` best trials keep theirs): the weights are reloaded
  (:func:`hpo.models.torch_trainer.load_model`), nothing is trained.
* scikit-learn families save nothing (an MLP is cheap to train again): the best trial is
  trained again with its params, its seed and the study's fixed splits, which reproduces
  the trial's model exactly (the refit's validation score is checked against the stored
  value); it is returned as a :class:`FittedModel`. This is the trial's model (trained on
  the trial's training rows), not a refit on all rows as ``HPOSearchCV(refit=True)`` does.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from hpo.errors import ConfigError
from hpo.objective import NullReporter

if TYPE_CHECKING:
    from hpo.study import Study

__all__ = ["best_model", "FittedModel"]


class FittedModel:
    """A retrained family's model: one member per fold, each with its fold's input scaling.

    With ``cv`` the members predict as an ensemble (mean probabilities, or mean values), as
    the trial's test score was computed. Predictions go through the family's own
    ``predict``/``predict_proba(member, X)`` (the model-family contract).
    """

    def __init__(
        self,
        trainer: Any,
        members: list[Any],
        folds: list[Any],
        task: str,
        classes: list[Any] | None,
    ) -> None:
        self.trainer = trainer
        self.members_ = members
        self.folds_ = folds
        self.task = task
        self.classes_ = None if classes is None else np.asarray(classes)

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, k) class probabilities for raw (n, d) X."""
        if self.task == "regression":
            raise ValueError("predict_proba needs a classifier; this model is a regressor.")
        return np.mean(
            [
                self.trainer.predict_proba(m, f.transform(X))
                for m, f in zip(self.members_, self.folds_, strict=True)
            ],
            axis=0,
        )

    def predict(self, X: Any) -> np.ndarray:
        """(n,) labels (classification) or values (regression) for raw (n, d) X."""
        if self.task != "regression":
            index = np.argmax(self.predict_proba(X), axis=1)
            return index if self.classes_ is None else self.classes_[index]
        return np.mean(
            [
                f.unscale_y(self.trainer.predict(m, f.transform(X)))
                for m, f in zip(self.members_, self.folds_, strict=True)
            ],
            axis=0,
        )


def best_model(study: Study) -> Any:
    """The best COMPLETE trial's model (see the module docstring for how each family does it).

    Raises:
        ConfigError: the study is not a built-in model family's, its saved weights are gone,
            or its dataset is not known to this process (pass ``dataset=`` to load_study).
        ValueError: no completed trial yet.
    """
    spec = study.objective_spec
    model = spec.get("model")
    if not model:
        raise ConfigError(
            f"Study {study.name!r} runs a callable objective, so hpo has no model to give "
            "back; rebuild yours from study.best_params."
        )
    best = study.best_trial
    folder = (
        study.artifacts_root / f"trial-{best.number}" if study.artifacts_root is not None else None
    )
    if folder is not None and (folder / "model.pt").is_file():
        from hpo.models.torch_trainer import load_model

        return load_model(folder)
    if model.startswith("torch-"):
        raise ConfigError(
            f"Trial {best.number} of study {study.name!r} has no saved weights in "
            f"{str(folder) if folder else 'an artifacts folder'!s} (artifacts=False, or deleted). "
            "Keep artifacts (the default) to get models back."
        )
    return _retrain_sklearn(study, best)


def _retrain_sklearn(study: Study, best: Any) -> FittedModel:
    from hpo.execution.running import trial_seed
    from hpo.model_objective import ModelObjective

    objective = study.objective
    if not isinstance(objective, ModelObjective):
        raise ConfigError(
            f"Study {study.name!r} was made with an in-memory dataset this process does "
            "not have; pass it again: load_study(name, storage=..., dataset=(X, y))."
        )
    trainer = ModelObjective(
        objective.model, objective.dataset, objective.metric, objective.options
    ).trainer  # a fresh trainer: fit stores its models on it
    data = objective.data
    result = trainer.fit(
        dict(best.params), data, NullReporter(best.number, trial_seed(study.seed, best.number))
    )
    if best.value is not None and not math.isclose(
        result.value, best.value, rel_tol=1e-6, abs_tol=1e-9
    ):
        raise ConfigError(
            f"Training trial {best.number} of study {study.name!r} again gave {result.value!r}, "
            f"not its stored {best.value!r}: the dataset or the model family changed since."
        )
    return FittedModel(
        trainer,
        list(trainer.members_),
        list(trainer.splits_.folds),
        data.task,
        getattr(data, "classes", None),
    )
