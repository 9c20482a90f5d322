"""The scikit-learn MLP model family: scores, per-epoch reports, early stopping, CV, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hpo.errors import ConfigError, TrialPruned
from hpo.models.datasets import load_dataset
from hpo.models.sklearn_mlp import SklearnMLPClassifierTrainer, SklearnMLPRegressorTrainer
from hpo.models.splits import shared_folds
from hpo.objective import NullReporter, TrialResult
from hpo.registry import get_model


class PruneAt(NullReporter):
    """Raises TrialPruned when told to report ``step`` (as a pruner would)."""

    def __init__(self, step: int) -> None:
        super().__init__(seed=0)
        self.step = step

    def report(self, step: int, value: float) -> None:
        super().report(step, value)
        if step == self.step:
            raise TrialPruned(f"pruned at {step}")


def test_registry_names_the_trainers():
    assert get_model("sklearn-mlp-classifier") is SklearnMLPClassifierTrainer
    assert get_model("sklearn-mlp-regressor") is SklearnMLPRegressorTrainer


def test_digits_scores_well_reports_every_epoch_and_restores_the_best_epoch():
    reporter = NullReporter(seed=0)
    trainer = SklearnMLPClassifierTrainer(max_epochs=200, patience=5)
    result = trainer.fit({"hidden_layer_sizes": (64,), "solver": "adam"}, "digits", reporter)
    assert isinstance(result, TrialResult) and result.value > 0.9
    curve = reporter.values
    n = result.metrics["n_epochs"]
    assert list(curve) == list(range(1, n + 1))  # one report per epoch
    assert n < 200 and result.metrics["stopped_early"]
    assert result.value == max(curve.values())
    assert curve[result.metrics["best_epoch"]] == result.value
    assert n == result.metrics["best_epoch"] + 5
    assert result.metrics["test_accuracy"] > 0.9 and result.metrics["train_seconds"] > 0
    fold = trainer.splits_.folds[0]  # the restored weights reproduce the best validation score
    assert (trainer.estimators_[0].predict(fold.X_val) == fold.y_val).mean() == result.value


def test_same_seed_same_result_and_other_seed_differs():
    def run(seed: int) -> list[float]:
        r = NullReporter(seed=seed)
        SklearnMLPClassifierTrainer(max_epochs=5).fit({"hidden_layer_sizes": (8,)}, "iris", r)
        return list(r.values.values())

    assert run(1) == run(1) != run(2)


def test_trials_on_one_dataset_share_its_splits_and_results_do_not_depend_on_that():
    data = load_dataset("iris")

    def run() -> tuple[list[float], object]:
        trainer, reporter = SklearnMLPClassifierTrainer(max_epochs=5), NullReporter(seed=3)
        trainer.fit({"hidden_layer_sizes": (8,)}, data, reporter)
        return list(reporter.values.values()), trainer.splits_

    first, splits = run()
    second, reused = run()
    assert reused is splits and second == first
    shared_folds(data, seed=99)  # another study's split replaces the kept one
    third, recomputed = run()
    assert recomputed is not splits and third == first


def test_binary_with_a_probability_metric_and_lbfgs():
    reporter = NullReporter(seed=0)
    trainer = SklearnMLPClassifierTrainer(metric="roc_auc", max_epochs=20, patience=3)
    result = trainer.fit(
        {"solver": "lbfgs", "hidden_layer_sizes": "16", "alpha": 1e-3}, "breast_cancer", reporter
    )
    assert result.value > 0.95 and result.metrics["test_roc_auc"] > 0.95
    assert len(reporter.values) == result.metrics["n_epochs"]


def test_minimized_metric_keeps_the_lowest_score():
    reporter = NullReporter(seed=0)
    result = SklearnMLPClassifierTrainer(metric="log_loss", max_epochs=30, patience=3).fit(
        {"hidden_layer_sizes": (16,), "learning_rate_init": 0.01}, "iris", reporter
    )
    assert result.value == min(reporter.values.values()) and "test_log_loss" in result.metrics


def test_cv_trains_folds_in_lockstep_and_reports_the_mean():
    reporter = NullReporter(seed=0)
    trainer = SklearnMLPClassifierTrainer(cv=3, max_epochs=40, patience=5)
    result = trainer.fit(
        {"hidden_layer_sizes": (16,), "learning_rate_init": 0.02}, "iris", reporter
    )
    assert len(trainer.estimators_) == 3
    assert len(reporter.values) == result.metrics["n_epochs"]
    assert result.value == max(reporter.values.values()) > 0.8
    fold_scores = [
        (m.predict(f.X_val) == f.y_val).mean()
        for m, f in zip(trainer.estimators_, trainer.splits_.folds, strict=True)
    ]
    assert np.mean(fold_scores) == pytest.approx(result.value)
    assert result.metrics["test_accuracy"] >= 0.8


def test_regression_beats_the_mean_predictor_in_original_units():
    reporter = NullReporter(seed=0)
    trainer = SklearnMLPRegressorTrainer(metric="mse", max_epochs=100, patience=5)
    result = trainer.fit(
        {"hidden_layer_sizes": (32,), "learning_rate_init": 0.01}, "diabetes", reporter
    )
    splits = trainer.splits_
    baseline = np.mean((splits.y_test - load_dataset("diabetes").y[splits.train_idx].mean()) ** 2)
    assert result.metrics["test_mse"] < 0.8 * baseline
    assert result.value == min(reporter.values.values()) > 1000  # in squared original units
    params = {"hidden_layer_sizes": (32,), "batch_size": 32, "learning_rate_init": 0.01}
    r2 = SklearnMLPRegressorTrainer(max_epochs=100).fit(
        params, {"name": "poly", "n_samples": 300}, NullReporter()
    )
    assert r2.value > 0.9 and r2.metrics["test_r2"] > 0.9


def test_pruning_propagates_and_stops_training():
    reporter = PruneAt(3)
    with pytest.raises(TrialPruned):
        SklearnMLPClassifierTrainer().fit({"hidden_layer_sizes": (8,)}, "iris", reporter)
    assert list(reporter.values) == [1, 2, 3]


def test_diverging_training_fails_with_a_reason():
    params = {
        "solver": "sgd",
        "learning_rate_init": 1e4,
        "momentum": 0.9,
        "hidden_layer_sizes": (32,),
    }
    with pytest.raises(ValueError, match="diverged.*Lower learning_rate_init"):
        SklearnMLPRegressorTrainer(max_epochs=30).fit(params, "diabetes", NullReporter())


def test_layers_from_n_layers_units_and_per_layer_units():
    trainer = SklearnMLPClassifierTrainer(max_epochs=1, batch_size=10_000)
    trainer.fit(
        {"n_layers": 3, "units": 8, "units_2": 4, "units_5": 99, "activation": "tanh"},
        "iris",
        NullReporter(),
    )
    model = trainer.estimators_[0]
    assert model.hidden_layer_sizes == (8, 4, 8) and model.batch_size == len(
        trainer.splits_.folds[0].y_train
    )
    trainer.fit(
        {
            "hidden_layer_sizes": "6-5",
            "max_epochs": 2,
            "learning_rate": "adaptive",
            "solver": "sgd",
            "momentum": 0.5,
            "nesterovs_momentum": False,
        },
        "iris",
        NullReporter(),
    )
    assert trainer.estimators_[0].hidden_layer_sizes == (6, 5) and trainer.n_epochs_ == 2


def test_params_override_fixed_params_and_constructor_options():
    trainer = SklearnMLPClassifierTrainer(max_epochs=50, hidden_layer_sizes=(4,), alpha=0.1)
    result = trainer.fit({"max_epochs": 3, "hidden_layer_sizes": (5,)}, "iris", NullReporter())
    assert result.metrics["n_epochs"] == 3 and trainer.estimators_[0].hidden_layer_sizes == (5,)
    assert trainer.estimators_[0].alpha == 0.1


def test_constructor_stores_arguments_verbatim():
    trainer = SklearnMLPRegressorTrainer(metric="mae", patience=4, cv=None, alpha=0.5)
    assert (trainer.metric, trainer.patience, trainer.fixed_params) == ("mae", 4, {"alpha": 0.5})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"patience": 0},
            "The 'patience' parameter of SklearnMLPClassifierTrainer must be an int >= 1. Got 0 "
            "instead.",
        ),
        (
            {"max_epochs": 2.5},
            "The 'max_epochs' parameter of SklearnMLPClassifierTrainer must be an int >= 1. Got "
            "2.5 instead.",
        ),
        (
            {"min_delta": -0.1},
            "The 'min_delta' parameter of SklearnMLPClassifierTrainer must be a float >= 0. Got "
            "-0.1 instead.",
        ),
        (
            {"cv": 1},
            "The 'cv' parameter of SklearnMLPClassifierTrainer must be None or an int >= 2. Got 1 "
            "instead.",
        ),
        (
            {"test_size": 1.5},
            "The 'test_size' parameter of SklearnMLPClassifierTrainer must be a float in [0, 1). "
            "Got 1.5 instead.",
        ),
        (
            {"metric": "auc"},
            "The 'metric' parameter of SklearnMLPClassifierTrainer must be a str among "
            "['accuracy', 'balanced_accuracy', 'f1', 'log_loss', 'roc_auc']. Got 'auc' instead.",
        ),
        (
            {"metric": "r2"},
            "The 'metric' parameter of SklearnMLPClassifierTrainer must be a str among "
            "['accuracy', 'balanced_accuracy', 'f1', 'log_loss', 'roc_auc']. Got 'r2' instead.",
        ),
        (
            {"dropout": 0.1},
            "Unknown parameter 'dropout' of SklearnMLPClassifierTrainer; valid parameters are "
            "['activation', 'alpha'",
        ),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        SklearnMLPClassifierTrainer(**kwargs)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"lr": 0.1},
            (
                "Unknown parameter 'lr' of SklearnMLPClassifierTrainer; valid parameters are "
                "['activation', 'alpha', 'batch_size'",
            ),
        ),
        (
            {"activation": "gelu"},
            (
                "The 'activation' parameter of SklearnMLPClassifierTrainer must be",
                "Got 'gelu' instead.",
            ),
        ),
        (
            {"solver": "rmsprop"},
            (
                "The 'solver' parameter of SklearnMLPClassifierTrainer must be",
                "Got 'rmsprop' instead.",
            ),
        ),
        (
            {"learning_rate_init": 0.0},
            (
                "The 'learning_rate_init' parameter of SklearnMLPClassifierTrainer must be",
                "Got 0.0 instead.",
            ),
        ),
        (
            {"momentum": 1.5},
            ("The 'momentum' parameter of SklearnMLPClassifierTrainer must be", "Got 1.5 instead."),
        ),
        (
            {"beta_2": 1.0},
            ("The 'beta_2' parameter of SklearnMLPClassifierTrainer must be", "Got 1.0 instead."),
        ),
        (
            {"batch_size": 0},
            ("The 'batch_size' parameter of SklearnMLPClassifierTrainer must be", "Got 0 instead."),
        ),
        (
            {"units_2": 0, "n_layers": 2},
            (
                "The 'units_2' parameter of SklearnMLPClassifierTrainer must be an int >= 1. Got "
                "0 instead."
            ),
        ),
        (
            {"nesterovs_momentum": "yes"},
            (
                "The 'nesterovs_momentum' parameter of SklearnMLPClassifierTrainer must be",
                "Got 'yes' instead.",
            ),
        ),
        (
            {"hidden_layer_sizes": (64, 0)},
            (
                "The 'hidden_layer_sizes' parameter of SklearnMLPClassifierTrainer must be ints "
                ">= 1 such as (64, 32)",
            ),
        ),
        (
            {"hidden_layer_sizes": (8,), "units": 4},
            ("got both 'hidden_layer_sizes' and 'n_layers'/'units'/'units_k'",),
        ),
    ],
)
def test_bad_params_fail_before_training(params, message):
    reporter = NullReporter()
    with pytest.raises(ConfigError, match=".*".join(map(re.escape, message))):
        SklearnMLPClassifierTrainer().fit(params, "iris", reporter)
    assert reporter.values == {}


def test_wrong_task_names_the_other_model():
    with pytest.raises(
        ConfigError, match=r"'diabetes' with task 'regression'.*'sklearn-mlp-regressor'"
    ):
        SklearnMLPClassifierTrainer().fit({}, "diabetes", NullReporter())
    with pytest.raises(
        ConfigError, match=r"'iris' with task 'multiclass'.*'sklearn-mlp-classifier'"
    ):
        SklearnMLPRegressorTrainer().fit({}, "iris", NullReporter())


def test_xor_truth_table_without_holdout():
    trainer = SklearnMLPClassifierTrainer(
        test_size=0, validation_fraction=0, max_epochs=300, patience=300
    )
    params = {"hidden_layer_sizes": (8,), "activation": "tanh", "learning_rate_init": 0.05}
    result = trainer.fit(params, "xor", NullReporter(seed=1))
    assert result.value == 1.0 and "test_accuracy" not in result.metrics
