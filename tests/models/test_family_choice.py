"""FamilyChoice: one objective over both model families, RMSE next to R²."""

from __future__ import annotations

import numpy as np
import pytest

from hpo.errors import ConfigError
from hpo.model_objective import callable_path
from hpo.models.family_choice import FamilyChoice
from hpo.models.sklearn_mlp import SklearnMLPClassifierTrainer, SklearnMLPRegressorTrainer
from hpo.objective import NullReporter


class Spy:
    """A trainer that records what it was asked to fit."""

    metric, test_size, validation_fraction, cv, split_seed = "accuracy", 0.2, 0.2, None, 0

    def __init__(self) -> None:
        self.calls: list[tuple[dict, object]] = []

    def fit(self, params, data, reporter):
        self.calls.append((dict(params), data))
        return {"value": 0.5, "seen": sorted(params)}


def test_the_family_parameter_picks_the_trainer_and_is_not_passed_on() -> None:
    a, b = Spy(), Spy()
    choice = FamilyChoice({"a": a, "b": b}, "xor")
    result = choice({"family": "b", "lr": 0.1}, NullReporter())
    assert a.calls == [] and b.calls == [({"lr": 0.1}, "xor")]
    assert result.value == 0.5 and result.metrics == {"seen": ["lr"]}


def test_an_unknown_family_names_the_parameter_and_the_value() -> None:
    choice = FamilyChoice({"sklearn": Spy()}, "xor")
    with pytest.raises(
        ConfigError, match=r"'family' parameter must be one of \['sklearn'\]. Got 'keras'"
    ):
        choice({"family": "keras"}, NullReporter())
    with pytest.raises(ConfigError, match="at least one trainer"):
        FamilyChoice({}, "xor")


def test_rmse_is_exactly_the_rmse_of_the_test_predictions() -> None:
    trainer = SklearnMLPRegressorTrainer(metric="r2", max_epochs=20)
    choice = FamilyChoice({"sklearn": trainer}, "concrete")
    result = choice(
        {"family": "sklearn", "hidden_layer_sizes": (16,), "learning_rate_init": 0.01},
        NullReporter(),
    )
    (model,), splits = trainer.estimators_, trainer.splits_
    fold = splits.folds[0]
    test_pred = fold.unscale_y(model.predict(fold.transform(splits.X_test)))
    val_pred = fold.unscale_y(model.predict(fold.X_val))
    assert result.metrics["test_rmse"] == pytest.approx(
        np.sqrt(np.mean((test_pred - splits.y_test) ** 2)), rel=1e-9
    )
    assert result.metrics["rmse"] == pytest.approx(
        np.sqrt(np.mean((val_pred - fold.unscale_y(fold.y_val)) ** 2)), rel=1e-6
    )


def test_classifiers_get_no_rmse_and_an_instance_stores_no_import_path() -> None:
    choice = FamilyChoice(
        {"sklearn": SklearnMLPClassifierTrainer(metric="accuracy", max_epochs=2)}, "iris"
    )
    result = choice({"family": "sklearn"}, NullReporter())
    assert "test_rmse" not in result.metrics and "test_accuracy" in result.metrics
    assert callable_path(choice) is None  # an instance has no module:qualname to import
