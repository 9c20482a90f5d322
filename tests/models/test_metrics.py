"""The metric registry against scikit-learn's own functions."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn import metrics as skm

from hpo.errors import ConfigError
from hpo.models.metrics import default_metric, get_metric, metric_names

rng = np.random.default_rng(0)
Y_BIN = rng.integers(0, 2, 50)
P_BIN = np.clip(Y_BIN * 0.6 + rng.uniform(0, 0.4, 50), 0.01, 0.99)
Y_MC = np.arange(60) % 3
P_MC = rng.dirichlet(np.ones(3), 60)
P_MC[np.arange(60), Y_MC] += 0.5
P_MC /= P_MC.sum(axis=1, keepdims=True)
Y_REG = rng.normal(size=40)
PRED_REG = Y_REG + rng.normal(0, 0.3, 40)


@pytest.mark.parametrize(
    ("name", "task", "y", "out", "expected"),
    [
        ("accuracy", "binary", Y_BIN, P_BIN > 0.5, skm.accuracy_score(Y_BIN, P_BIN > 0.5)),
        (
            "balanced_accuracy",
            "multiclass",
            Y_MC,
            P_MC.argmax(1),
            skm.balanced_accuracy_score(Y_MC, P_MC.argmax(1)),
        ),
        ("f1", "binary", Y_BIN, (P_BIN > 0.5).astype(int), skm.f1_score(Y_BIN, P_BIN > 0.5)),
        (
            "f1",
            "multiclass",
            Y_MC,
            P_MC.argmax(1),
            skm.f1_score(Y_MC, P_MC.argmax(1), average="macro"),
        ),
        ("roc_auc", "binary", Y_BIN, P_BIN, skm.roc_auc_score(Y_BIN, P_BIN)),
        (
            "roc_auc",
            "binary",
            Y_BIN,
            np.column_stack([1 - P_BIN, P_BIN]),
            skm.roc_auc_score(Y_BIN, P_BIN),
        ),
        ("roc_auc", "multiclass", Y_MC, P_MC, skm.roc_auc_score(Y_MC, P_MC, multi_class="ovr")),
        ("log_loss", "binary", Y_BIN, P_BIN, skm.log_loss(Y_BIN, P_BIN)),
        ("log_loss", "multiclass", Y_MC, P_MC, skm.log_loss(Y_MC, P_MC)),
        ("mse", "regression", Y_REG, PRED_REG, skm.mean_squared_error(Y_REG, PRED_REG)),
        ("rmse", "regression", Y_REG, PRED_REG, np.sqrt(skm.mean_squared_error(Y_REG, PRED_REG))),
        ("mae", "regression", Y_REG, PRED_REG, skm.mean_absolute_error(Y_REG, PRED_REG)),
        ("r2", "regression", Y_REG, PRED_REG, skm.r2_score(Y_REG, PRED_REG)),
    ],
)
def test_metrics_match_sklearn(name, task, y, out, expected):
    metric = get_metric(name, task)
    assert metric(y, out) == pytest.approx(expected, rel=1e-12)
    assert isinstance(metric(y, out), float)


def test_directions_and_inputs():
    assert [m for m in metric_names() if not get_metric(m).greater_is_better] == [
        "log_loss",
        "mse",
        "rmse",
        "mae",
    ]
    assert [m for m in metric_names() if get_metric(m).needs_proba] == ["roc_auc", "log_loss"]
    assert get_metric("log_loss").mode == "min" and get_metric("r2").direction == "maximize"


def test_log_loss_handles_a_class_missing_from_y_true():
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1]])
    assert get_metric("log_loss")(np.array([0, 1]), proba) == pytest.approx(-np.log(0.8))


def test_defaults_and_names_per_task():
    assert default_metric("binary") == default_metric("multiclass") == "accuracy"
    assert default_metric("regression") == "r2"
    assert metric_names("regression") == ["mse", "rmse", "mae", "r2"]
    assert "roc_auc" in metric_names("multiclass")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: get_metric("auc"),
            "Unknown metric 'auc'; use one of ['accuracy', 'balanced_accuracy', 'f1', 'roc_auc', "
            "'log_loss', 'mse'",
        ),
        (
            lambda: get_metric("auc", "regression"),
            "Unknown metric 'auc'; use one of ['mse', 'rmse', 'mae', 'r2'].",
        ),
        (
            lambda: get_metric("r2", "binary"),
            "Metric 'r2' does not fit a binary task; use one of ['accuracy', 'balanced_accuracy', "
            "'f1', 'roc_auc', 'log_loss'].",
        ),
        (
            lambda: get_metric("accuracy", "regression"),
            "Metric 'accuracy' does not fit a regression task; use one of ['mse', 'rmse', 'mae', "
            "'r2'].",
        ),
        (
            lambda: default_metric("ranking"),
            "Unknown task 'ranking'; use one of ['binary', 'multiclass', 'regression'].",
        ),
    ],
)
def test_bad_metric_lists_valid_names(call, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        call()
