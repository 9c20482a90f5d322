"""The one epoch-training loop (EpochTrainer), seen through a family written in the test."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from hpo.errors import ConfigError
from hpo.models.base import EpochTrainer, TrainingRun, resolve_layers
from hpo.models.sklearn_sgd import SklearnSGDClassifierTrainer
from hpo.models.splits import Fold
from hpo.objective import NullReporter


class GradientDescentRegressor(EpochTrainer):
    """Least squares by full-batch gradient descent: a whole family in a few lines."""

    tasks = ("regression",)
    sibling = "sklearn-sgd-classifier"

    def parse(self, params: Mapping[str, Any], task: str | tuple[str, ...]) -> float:
        return float(params.get("lr", 0.1))

    def build(self, hp: float, fold: Fold, run: TrainingRun) -> dict[str, Any]:
        return {"w": run.context.normal(size=fold.X_train.shape[1]), "lr": hp}

    def train_epoch(self, member: dict[str, Any], fold: Fold, run: TrainingRun) -> float:
        residual = fold.X_train @ member["w"] - fold.y_train
        member["w"] = member["w"] - member["lr"] * fold.X_train.T @ residual / len(residual)
        return float(np.mean(residual**2))

    def predict(self, member: dict[str, Any], X: np.ndarray) -> np.ndarray:
        return X @ member["w"]

    def get_state(self, member: dict[str, Any]) -> np.ndarray:
        return member["w"]

    def set_state(self, member: dict[str, Any], state: np.ndarray) -> None:
        member["w"] = state


POLY = {"name": "poly", "n_samples": 120}


def test_a_new_family_gets_reports_early_stopping_restore_and_test_score() -> None:
    reporter = NullReporter(seed=0)
    trainer = GradientDescentRegressor(metric="mse", max_epochs=300, patience=3, min_delta=1e-3)
    result = trainer.fit({"lr": 0.3}, POLY, reporter)
    curve, best = reporter.values, result.metrics["best_epoch"]
    assert list(curve) == list(range(1, result.metrics["n_epochs"] + 1))
    assert result.metrics["stopped_early"] and result.metrics["n_epochs"] == best + 3
    assert result.value == curve[best] == trainer.best_score_
    assert {"test_mse", "train_loss", "train_seconds"} <= set(result.metrics)
    fold = trainer.splits_.folds[0]  # the members hold the best epoch's weights again
    member = trainer.members_[0]
    mse = np.mean((fold.unscale_y(fold.X_val @ member["w"]) - fold.unscale_y(fold.y_val)) ** 2)
    assert mse == pytest.approx(result.value)


def test_params_override_the_epoch_options_and_are_checked() -> None:
    trainer = GradientDescentRegressor(max_epochs=50)
    result = trainer.fit({"max_epochs": 4, "patience": 100}, POLY, NullReporter())
    assert result.metrics["n_epochs"] == 4 and not result.metrics["stopped_early"]
    with pytest.raises(
        ConfigError, match=r"'max_epochs' parameter of GradientDescentRegressor.*Got 0 instead"
    ):
        trainer.fit({"max_epochs": 0}, POLY, NullReporter())


def test_divergence_names_the_epoch_and_the_hint() -> None:
    with (
        pytest.raises(
            ValueError, match=r"GradientDescentRegressor diverged at epoch \d+: training loss"
        ),
        np.errstate(over="ignore", invalid="ignore"),
    ):
        GradientDescentRegressor(max_epochs=500, patience=500).fit(
            {"lr": 50.0}, POLY, NullReporter()
        )


@pytest.mark.parametrize(
    ("options", "field", "value"),
    [
        ({"patience": 0}, "patience", "0"),
        ({"cv": 1}, "cv", "1"),
        ({"test_size": 1.0}, "test_size", "1.0"),
        ({"validation_fraction": -0.1}, "validation_fraction", "-0.1"),
        ({"split_seed": "a"}, "split_seed", "'a'"),
        ({"metric": "accuracy"}, "metric", "'accuracy'"),
    ],
)
def test_shared_options_are_checked_for_every_family(options: dict, field: str, value: str) -> None:
    with pytest.raises(
        ConfigError, match=rf"'{field}' parameter of GradientDescentRegressor.*Got {value} instead"
    ):
        GradientDescentRegressor(**options)


def test_one_trainer_serves_concurrent_trials_without_sharing_their_state() -> None:
    """Per-trial state lives in the fit call: two threads on one trainer get what each gets alone"""
    trainer = SklearnSGDClassifierTrainer(max_epochs=8, patience=8, metric="log_loss")
    alone = {
        seed: trainer.fit({"alpha": 1e-3}, "digits", NullReporter(seed=seed)).value
        for seed in (1, 2)
    }
    together: dict[int, float] = {}

    def run(seed: int) -> None:
        together[seed] = trainer.fit({"alpha": 1e-3}, "digits", NullReporter(seed=seed)).value

    threads = [threading.Thread(target=run, args=(seed,)) for seed in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == alone and alone[1] != alone[2]


@pytest.mark.parametrize(
    ("params", "sizes"),
    [
        ({}, (7,)),
        ({"n_layers": 2}, (7, 7)),
        ({"units": 3, "units_2": 5, "n_layers": 3}, (3, 5, 3)),
        ({"hidden_layer_sizes": "4-2"}, (4, 2)),
        ({"units_2": 4}, (7, 4)),
    ],
)
def test_layers_resolve_one_way_for_every_family(params: dict, sizes: tuple) -> None:
    assert resolve_layers(params, owner="T", default_units=7) == sizes


def test_layers_refuse_a_bad_width_by_name() -> None:
    with pytest.raises(ConfigError, match=r"'units_3' parameter of T.*Got 0 instead"):
        resolve_layers({"n_layers": 3, "units_3": 0}, owner="T", default_units=7)
    with pytest.raises(ConfigError, match=r"'n_layers' parameter of T.*Got -1 instead"):
        resolve_layers({"n_layers": -1}, owner="T", default_units=7)
