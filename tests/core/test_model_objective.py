"""ModelObjective: a stored (model, dataset, metric, options) spec as an objective callable."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from hpo import create_study
from hpo.errors import ConfigError
from hpo.model_objective import ModelObjective
from hpo.models.datasets import Dataset
from hpo.space import Float

SPACE = {"alpha": Float(1e-4, 1e-1, log=True)}


def _arrays() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    return X, (X[:, 0] > 0).astype(int)


def test_named_datasets_travel_as_their_spec_and_load_lazily() -> None:
    objective = ModelObjective("sklearn-mlp-classifier", "iris", options={"max_epochs": 1})
    assert isinstance(objective.data, Dataset) and objective.data.name == "iris"
    shipped = pickle.loads(pickle.dumps(objective))
    assert shipped._data is None and shipped.data.n_samples == 150  # re-loaded where it trains


def test_preloaded_arrays_travel_with_the_objective() -> None:
    objective = ModelObjective("sklearn-mlp-classifier", _arrays()).preload()
    shipped = pickle.loads(pickle.dumps(objective))
    assert shipped._data is not None and shipped.data.n_samples == 80


def test_preload_checks_in_memory_data_before_a_study_is_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    X, y = _arrays()
    with pytest.raises(ConfigError, match="tuple"):
        create_study(
            "bad", space=SPACE, storage=url, model="sklearn-mlp-classifier", dataset=(X, y, y)
        )
    study = create_study(
        "arrays",
        space=SPACE,
        storage=url,
        model="sklearn-mlp-classifier",
        dataset=(X, y),
        model_options={"max_epochs": 2},
        seed=0,
    )
    study.optimize(2)
    assert study.counts()["COMPLETE"] == 2


def test_bad_model_options_fail_when_the_objective_is_built() -> None:
    with pytest.raises(
        ConfigError, match=r"'patience' parameter of SklearnMLPClassifierTrainer.*Got 0"
    ):
        ModelObjective("sklearn-mlp-classifier", "iris", options={"patience": 0})
