"""Scores by name, with their direction and what they need (labels or probabilities).

A study optimizes one metric; its direction comes from ``Metric.greater_is_better``
and model families know from ``needs_proba`` whether to pass ``predict_proba``
output, (n, k) for k classes, or predictions, (n,). Every ``fn`` is
``fn(y_true, y_pred_or_proba) -> float`` built on scikit-learn's implementations.

=================  ==========  =========  ===========================
name               better      input      tasks
=================  ==========  =========  ===========================
accuracy           higher      labels     binary, multiclass
balanced_accuracy  higher      labels     binary, multiclass
f1                 higher      labels     binary (binary f1), multiclass (macro)
roc_auc            higher      proba      binary, multiclass (one-vs-rest, macro)
log_loss           lower       proba      binary, multiclass
mse, rmse, mae     lower       values     regression
r2                 higher      values     regression
=================  ==========  =========  ===========================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn import metrics as skm

from hpo.errors import ConfigError

_CLASSIFICATION = ("binary", "multiclass")
_REGRESSION = ("regression",)


@dataclass(frozen=True)
class Metric:
    """A named score.

    Attributes:
        name: the registry name.
        greater_is_better: True when larger values are better (the study maximizes).
        needs_proba: True when ``fn`` takes class probabilities (n, k) instead of labels.
        tasks: the dataset tasks the metric fits.
        fn: ``fn(y_true, y_pred_or_proba) -> float``.
    """

    name: str
    greater_is_better: bool
    needs_proba: bool
    tasks: tuple[str, ...]
    fn: Callable[[np.ndarray, np.ndarray], float]

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(self.fn(np.asarray(y_true), np.asarray(y_pred)))

    @property
    def mode(self) -> Literal["max", "min"]:
        """``"max"`` or ``"min"``, as :class:`hpo.models.early_stopping.EarlyStopping` wants it."""
        return "max" if self.greater_is_better else "min"

    @property
    def direction(self) -> str:
        """``"maximize"`` or ``"minimize"``, as a study wants it."""
        return "maximize" if self.greater_is_better else "minimize"


def _proba_2d(proba: np.ndarray) -> np.ndarray:
    """(n,) positive-class probabilities -> (n, 2); (n, k) is returned as is."""
    proba = np.asarray(proba, dtype=np.float64)
    return np.column_stack([1.0 - proba, proba]) if proba.ndim == 1 else proba


def _f1(y_true: np.ndarray, y_pred: np.ndarray, average: str | None = None) -> float:
    if average is None:  # no task given: binary f1 for 0/1 labels, macro otherwise
        average = (
            "binary" if set(np.unique(np.concatenate([y_true, y_pred]))) <= {0, 1} else "macro"
        )
    return skm.f1_score(y_true, y_pred, average=average, zero_division=0.0)


def _roc_auc(y_true: np.ndarray, proba: np.ndarray) -> float:
    proba = _proba_2d(proba)
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y_true, proba[:, 1])
    return skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=np.arange(proba.shape[1]))


def _log_loss(y_true: np.ndarray, proba: np.ndarray) -> float:
    proba = _proba_2d(proba)
    return skm.log_loss(y_true, proba, labels=np.arange(proba.shape[1]))


def _rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(skm.mean_squared_error(y_true, y_pred)))


_METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", True, False, _CLASSIFICATION, skm.accuracy_score),
        Metric("balanced_accuracy", True, False, _CLASSIFICATION, skm.balanced_accuracy_score),
        Metric("f1", True, False, _CLASSIFICATION, _f1),
        Metric("roc_auc", True, True, _CLASSIFICATION, _roc_auc),
        Metric("log_loss", False, True, _CLASSIFICATION, _log_loss),
        Metric("mse", False, False, _REGRESSION, skm.mean_squared_error),
        Metric("rmse", False, False, _REGRESSION, _rmse),
        Metric("mae", False, False, _REGRESSION, skm.mean_absolute_error),
        Metric("r2", True, False, _REGRESSION, skm.r2_score),
    )
}
_DEFAULTS = {"binary": "accuracy", "multiclass": "accuracy", "regression": "r2"}


def metric_names(task: str | None = None) -> list[str]:
    """All metric names, or those that fit ``task``."""
    return [n for n, m in _METRICS.items() if task is None or task in m.tasks]


def get_metric(name: str, task: str | None = None) -> Metric:
    """The metric called ``name``, checked against ``task`` when given.

    With ``task`` given, ``f1`` is bound to binary f1 (binary) or macro f1 (multiclass);
    without it, f1 picks binary for 0/1 labels and macro otherwise.

    Raises:
        ConfigError: unknown name, or a metric that does not fit ``task``; the message
            lists the valid names.
    """
    if task is not None and task not in _DEFAULTS:
        raise ConfigError(f"Unknown task {task!r}; use one of {list(_DEFAULTS)}.")
    metric = _METRICS.get(name) if isinstance(name, str) else None
    if metric is None:
        valid = metric_names(task)
        raise ConfigError(f"Unknown metric {name!r}; use one of {valid}.")
    if task is not None and task not in metric.tasks:
        raise ConfigError(
            f"Metric {name!r} does not fit a {task} task; use one of {metric_names(task)}."
        )
    if name == "f1" and task is not None:
        average = "binary" if task == "binary" else "macro"
        return Metric("f1", True, False, metric.tasks, lambda y, p: _f1(y, p, average))
    return metric


def default_metric(task: str) -> str:
    """The metric a study uses when none is given: accuracy (classification) or r2
    (regression; scale-free and higher-is-better, so like accuracy it reads at a glance)."""
    if task not in _DEFAULTS:
        raise ConfigError(f"Unknown task {task!r}; use one of {list(_DEFAULTS)}.")
    return _DEFAULTS[task]


__all__ = ["Metric", "default_metric", "get_metric", "metric_names"]
