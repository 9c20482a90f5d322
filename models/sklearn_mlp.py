"""scikit-learn MLPs as an hpo model family: ``MLPClassifier`` / ``MLPRegressor`` epoch by epoch.

The loop (per-epoch validation and reports, early stopping with the best epoch's
weights restored, lockstep ``cv`` folds whose ensemble gives the test score,
divergence checks) is :class:`~hpo.models.base.EpochTrainer`'s; one epoch is one
``partial_fit`` pass (:mod:`hpo.models.sklearn_partial_fit`), so the optimizer state
(Adam's moments, the ``adaptive`` schedule) carries over between epochs.

L-BFGS is not stochastic and has no ``partial_fit``: with ``solver="lbfgs"`` one epoch
is ``LBFGS_STEPS_PER_EPOCH`` L-BFGS iterations via ``warm_start`` (its curvature memory
restarts each epoch, a small price for per-epoch validation).

The course's contrasts: ``shuffle=False`` keeps the rows in order every epoch, and
``batch_size="full"`` takes the whole training part in one step per epoch
(``batch_size=1``: pure stochastic gradient).

The layers come from ``hidden_layer_sizes`` or ``n_layers``/``units``/``units_k``
(:func:`~hpo.models.base.resolve_layers`, default one layer of 100); the other
params are ``MLPClassifier``'s own, checked by scikit-learn. Regression targets are
standardized on each fold's training rows; scores are in original units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sklearn.neural_network import MLPClassifier, MLPRegressor

from hpo.models.base import LAYER_PARAM_NAMES, TrainingRun, is_layer_param, resolve_layers
from hpo.models.sklearn_partial_fit import PartialFitTrainer
from hpo.models.splits import Fold
from hpo.validation import Options, check_param

LBFGS_STEPS_PER_EPOCH = 10
_ESTIMATOR_PARAMS = (
    "activation",
    "alpha",
    "batch_size",
    "beta_1",
    "beta_2",
    "epsilon",
    "learning_rate",
    "learning_rate_init",
    "momentum",
    "nesterovs_momentum",
    "power_t",
    "shuffle",
    "solver",
)
FULL_BATCH = "full"  # batch_size spelling for one full-batch step per epoch
_LAYER_PARAMS = ("hidden_layer_sizes", "n_layers", "units")
ACCEPTED_PARAMS: tuple[str, ...] = tuple(
    sorted((*_ESTIMATOR_PARAMS, *_LAYER_PARAMS, "max_epochs", "patience", "min_delta"))
)


class _SklearnMLPTrainer(PartialFitTrainer):
    """What the classifier and the regressor share: layers, L-BFGS epochs, weights."""

    accepted_params = _ESTIMATOR_PARAMS
    names_note = (
        ", the layers (hidden_layer_sizes, or n_layers, units, units_1, units_2, ...) "
        "and max_epochs, patience, min_delta"
    )
    state_attrs = ("coefs_", "intercepts_")
    default_max_epochs = 200

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return (*super().param_names(), *LAYER_PARAM_NAMES)

    def parse(self, params: Mapping[str, Any], task: str | tuple[str, ...]) -> dict[str, Any]:
        layers = {k: v for k, v in params.items() if is_layer_param(k)}
        if isinstance(params.get("batch_size"), str):  # scikit-learn's message would not say "full"
            check_param(
                "batch_size", params["batch_size"], [Options({"auto", FULL_BATCH})], owner=self.name
            )
        full = params.get("batch_size") == FULL_BATCH  # scikit-learn knows "auto" or an int
        rest = {
            k: v for k, v in params.items() if k not in layers and not (full and k == "batch_size")
        }
        kwargs = super().parse(rest, task)
        kwargs["hidden_layer_sizes"] = resolve_layers(layers, owner=self.name, default_units=100)
        kwargs["batch_size"] = FULL_BATCH if full else kwargs.get("batch_size", "auto")
        return kwargs

    def build(self, hp: dict[str, Any], fold: Fold, run: TrainingRun) -> Any:
        kwargs = {**hp, "shuffle": False}  # the loop orders the rows (hp's shuffle)
        if kwargs["batch_size"] == FULL_BATCH:
            kwargs["batch_size"] = len(fold.y_train)
        elif isinstance(kwargs["batch_size"], int):
            kwargs["batch_size"] = min(kwargs["batch_size"], len(fold.y_train))
        return self.estimator_cls(**kwargs, random_state=run.seed, max_iter=1)

    def train_epoch(self, member: Any, fold: Fold, run: TrainingRun) -> float | None:
        if member.solver != "lbfgs":
            return super().train_epoch(member, fold, run)
        member.set_params(warm_start=True, max_iter=LBFGS_STEPS_PER_EPOCH)
        member.fit(fold.X_train, fold.y_train)
        return self.epoch_loss(member)

    def epoch_loss(self, member: Any) -> float:
        return float(member.loss_) if math.isfinite(member.loss_) else math.nan

    def divergence_hint(self, hp: Any) -> str:
        return "Lower learning_rate_init, or use solver='adam'."


class SklearnMLPClassifierTrainer(_SklearnMLPTrainer):
    """``MLPClassifier`` trained epoch by epoch (binary and multiclass datasets)."""

    estimator_cls = MLPClassifier
    tasks = ("binary", "multiclass")
    sibling = "sklearn-mlp-regressor"


class SklearnMLPRegressorTrainer(_SklearnMLPTrainer):
    """``MLPRegressor`` trained epoch by epoch on standardized targets (regression datasets)."""

    estimator_cls = MLPRegressor
    tasks = ("regression",)
    sibling = "sklearn-mlp-classifier"


__all__ = [
    "ACCEPTED_PARAMS",
    "LBFGS_STEPS_PER_EPOCH",
    "SklearnMLPClassifierTrainer",
    "SklearnMLPRegressorTrainer",
]
