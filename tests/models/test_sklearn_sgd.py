"""The SGD linear-model family: a third family that is only an estimator and a few params."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier

from hpo.errors import ConfigError, TrialPruned
from hpo.models.datasets import load_dataset
from hpo.models.sklearn_sgd import SklearnSGDClassifierTrainer, SklearnSGDRegressorTrainer
from hpo.objective import NullReporter
from hpo.registry import get_model


def test_registered_under_both_names() -> None:
    assert get_model("sklearn-sgd-classifier") is SklearnSGDClassifierTrainer
    assert get_model("sklearn-sgd-regressor") is SklearnSGDRegressorTrainer


def test_digits_learns_reports_every_epoch_and_restores_the_best_epoch() -> None:
    reporter = NullReporter(seed=0)
    trainer = SklearnSGDClassifierTrainer(max_epochs=60, patience=4)
    result = trainer.fit({"alpha": 1e-4}, "digits", reporter)
    curve, best = reporter.values, result.metrics["best_epoch"]
    assert list(curve) == list(range(1, result.metrics["n_epochs"] + 1))
    assert result.value == curve[best] == max(curve.values()) > 0.9
    assert result.metrics["test_accuracy"] > 0.9
    fold, model = trainer.splits_.folds[0], trainer.estimators_[0]
    assert isinstance(model, SGDClassifier) and model.loss == "log_loss"
    assert (model.predict(fold.X_val) == fold.y_val).mean() == result.value  # best weights restored


def test_same_seed_same_curve_other_seed_differs() -> None:
    def curve(seed: int) -> list[float]:
        reporter = NullReporter(seed=seed)
        SklearnSGDClassifierTrainer(max_epochs=4, metric="log_loss").fit({}, "wine", reporter)
        return list(reporter.values.values())

    assert curve(1) == curve(1) != curve(2)


def test_a_loss_without_probabilities_is_scored_on_decision_scores() -> None:
    reporter = NullReporter(seed=0)
    result = SklearnSGDClassifierTrainer(metric="roc_auc", max_epochs=10).fit(
        {"loss": "hinge", "penalty": "elasticnet", "l1_ratio": 0.2}, "breast_cancer", reporter
    )
    assert result.value > 0.95 and result.metrics["test_roc_auc"] > 0.9


def test_cv_folds_in_lockstep_and_regression_in_original_units() -> None:
    reporter = NullReporter(seed=0)
    trainer = SklearnSGDRegressorTrainer(metric="mse", cv=3, max_epochs=30, patience=3)
    result = trainer.fit({"alpha": 1e-3, "eta0": 0.005}, "diabetes", reporter)
    assert len(trainer.estimators_) == 3 and result.value == min(reporter.values.values())
    splits = trainer.splits_
    baseline = np.mean((splits.y_test - load_dataset("diabetes").y[splits.train_idx].mean()) ** 2)
    assert result.metrics["test_mse"] < 0.8 * baseline


def test_pruning_stops_training() -> None:
    class PruneAt2(NullReporter):
        def report(self, step: int, value: float) -> None:
            super().report(step, value)
            if step == 2:
                raise TrialPruned("pruned")

    reporter = PruneAt2()
    with pytest.raises(TrialPruned):
        SklearnSGDClassifierTrainer().fit({}, "iris", reporter)
    assert list(reporter.values) == [1, 2]


def test_divergence_fails_with_the_fix() -> None:
    params = {"learning_rate": "constant", "eta0": 1e200, "penalty": None}
    with pytest.raises(ValueError, match=r"SklearnSGDRegressorTrainer diverged at epoch \d+.*eta0"):
        SklearnSGDRegressorTrainer(max_epochs=20).fit(
            params, {"name": "poly", "n_samples": 200}, NullReporter()
        )


@pytest.mark.parametrize(
    ("params", "field", "value"),
    [
        ({"penalty": "l3"}, "penalty", "'l3'"),
        ({"alpha": -1.0}, "alpha", "-1.0"),
        ({"loss": "mse"}, "loss", "'mse'"),
    ],
)
def test_scikit_learn_checks_its_own_params_and_we_name_the_trainer(
    params: dict, field: str, value: str
) -> None:
    with pytest.raises(
        ConfigError, match=rf"'{field}' parameter of SklearnSGDClassifierTrainer.*Got {value}"
    ):
        SklearnSGDClassifierTrainer(**params)


def test_loop_owned_params_are_refused() -> None:
    with pytest.raises(
        ConfigError, match=r"Unknown parameter 'max_iter' of SklearnSGDClassifierTrainer"
    ):
        SklearnSGDClassifierTrainer(max_iter=5)
    with pytest.raises(
        ConfigError, match=r"'diabetes' with task 'regression'.*'sklearn-sgd-regressor'"
    ):
        SklearnSGDClassifierTrainer().fit({}, "diabetes", NullReporter())
