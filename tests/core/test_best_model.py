"""study.best_model(): torch weights reloaded, scikit-learn MLPs trained again to the same model."""

from __future__ import annotations

import numpy as np
import pytest

import hpo
from hpo.errors import ConfigError
from hpo.models.datasets import load_dataset
from hpo.space import Float, Int


@pytest.mark.slow
def test_sklearn_family_is_trained_again_to_the_trials_model(sqlite_url):
    study = hpo.create_study(
        "skl",
        storage=sqlite_url,
        model="sklearn-mlp-classifier",
        dataset="iris",
        space={"alpha": Float(1e-5, 1e-1, log=True), "units": Int(4, 16)},
        model_options={"max_epochs": 15, "cv": 2},
        seed=0,
    )
    study.optimize(n_trials=3)
    model = study.best_model()  # raises if the retrained score differs from the stored one
    data = load_dataset("iris")
    pred = model.predict(data.X)
    assert pred.shape == (len(data.y),) and set(np.unique(pred)) <= set(data.classes)
    assert model.predict_proba(data.X).shape == (len(data.y), 3)
    assert len(model.members_) == 2  # cv=2: the two fold models, an ensemble as in the trial
    assert np.mean(pred == np.asarray(data.classes)[data.y]) > 0.5


@pytest.mark.slow
def test_torch_family_reloads_saved_weights(sqlite_url, tmp_path):
    pytest.importorskip("torch")
    study = hpo.create_study(
        "tor",
        storage=sqlite_url,
        model="torch-mlp-classifier",
        dataset="iris",
        space={"lr": Float(1e-3, 1e-1, log=True)},
        model_options={"max_epochs": 5},
        seed=0,
    )
    study.optimize(n_trials=2)
    model = study.best_model()
    data = load_dataset("iris")
    assert model.predict(data.X).shape == (len(data.y),)
    assert model.meta["best_epoch"] == study.best_trial.metrics["best_epoch"]


def test_refusals_name_the_study_and_trial(sqlite_url):
    plain = hpo.create_study(
        "plain", storage=sqlite_url, space={"x": Float(0, 1)}, objective=lambda p, r: p["x"], seed=0
    )
    plain.optimize(n_trials=2)
    with pytest.raises(ConfigError, match="'plain'.*best_params"):
        plain.best_model()
    pytest.importorskip("torch")
    bare = hpo.create_study(
        "bare",
        storage=sqlite_url,
        model="torch-mlp-classifier",
        dataset="iris",
        space={"lr": Float(1e-3, 1e-1, log=True)},
        model_options={"max_epochs": 2},
        seed=0,
        artifacts=False,
    )
    bare.optimize(n_trials=1)
    with pytest.raises(ConfigError, match=r"Trial 0 of study 'bare'"):
        bare.best_model()
