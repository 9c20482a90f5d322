"""Linear models trained by SGD (``SGDClassifier`` / ``SGDRegressor``) as an hpo model family.

The whole family: the estimator, the params a trial may set, and scores for losses
that have no probabilities. Everything else (epochs, early stopping, folds, test
score, parameter checks by scikit-learn) comes from
:class:`~hpo.models.sklearn_partial_fit.PartialFitTrainer`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, softmax
from sklearn.linear_model import SGDClassifier, SGDRegressor

from hpo.models.sklearn_partial_fit import PartialFitTrainer

_PARAMS = (
    "loss",
    "penalty",
    "alpha",
    "l1_ratio",
    "fit_intercept",
    "epsilon",
    "learning_rate",
    "eta0",
    "power_t",
    "average",
)


class SklearnSGDClassifierTrainer(PartialFitTrainer):
    """``SGDClassifier`` (default ``loss="log_loss"``), one ``partial_fit`` pass per epoch.

    Probabilities come from ``decision_function`` (see :meth:`predict_proba`): for losses
    without probabilities (``hinge``, ``perceptron``...) they are scores, fine for
    accuracy and roc_auc but not calibrated, so a log_loss of them means little.
    """

    estimator_cls = SGDClassifier
    accepted_params = _PARAMS
    tasks = ("binary", "multiclass")
    sibling = "sklearn-sgd-regressor"

    def estimator_kwargs(self, params: Any) -> dict[str, Any]:
        return {"loss": "log_loss", **params}

    def predict_proba(self, member: Any, X: np.ndarray) -> np.ndarray:
        """sigmoid(decision) for two classes, softmax(decisions) for more.

        Not scikit-learn's one-vs-rest ``predict_proba``: that one saturates to ties (two
        classes at 1.0) when decisions are large, and its argmax then disagrees with
        ``predict``; a softmax keeps the order of the decisions. For losses other than
        ``log_loss`` these are scores, not calibrated probabilities.
        """
        scores = member.decision_function(X)
        if scores.ndim == 1:
            p = expit(scores)
            return np.column_stack([1.0 - p, p])
        return softmax(scores, axis=1)

    def divergence_hint(self, hp: Any) -> str:
        return "Lower eta0, or use learning_rate='optimal'."


class SklearnSGDRegressorTrainer(PartialFitTrainer):
    """``SGDRegressor`` on standardized targets, one ``partial_fit`` pass per epoch."""

    estimator_cls = SGDRegressor
    accepted_params = _PARAMS
    tasks = ("regression",)
    sibling = "sklearn-sgd-classifier"

    def divergence_hint(self, hp: Any) -> str:
        return "Lower eta0, or use learning_rate='invscaling'."


__all__ = ["SklearnSGDClassifierTrainer", "SklearnSGDRegressorTrainer"]
