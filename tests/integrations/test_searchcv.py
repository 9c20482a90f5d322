"""HPOSearchCV on real scikit-learn estimators, real SQLite files and real worker processes."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import hpo
from hpo.errors import ConfigError, StudyMismatchError
from hpo.pruning import MedianPruner
from hpo.sklearn import HPOSearchCV
from hpo.space import Categorical, Float, Int


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def logreg_search(**kw):
    kw.setdefault("n_trials", 6)
    kw.setdefault("cv", 3)
    kw.setdefault("random_state", 0)
    return HPOSearchCV(LogisticRegression(max_iter=300), {"C": Float(1e-2, 10.0, log=True)}, **kw)


def test_cv_results_follow_scikit_learns_format(iris):
    X, y = iris
    search = logreg_search(return_train_score=True).fit(X, y)
    grid = GridSearchCV(
        LogisticRegression(max_iter=300), {"C": [0.1, 1.0]}, cv=3, return_train_score=True
    ).fit(X, y)
    res = search.cv_results_
    assert set(grid.cv_results_) <= set(res)  # every key GridSearchCV has, same names
    assert {"trial_number", "state", "n_epochs"} <= set(res)
    assert len(res["params"]) == 6 and list(res["trial_number"]) == list(range(6))
    assert isinstance(res["param_C"], np.ma.MaskedArray)
    for k in range(6):  # the per-split columns agree with the means
        splits = [res[f"split{i}_test_score"][k] for i in range(3)]
        assert res["mean_test_score"][k] == pytest.approx(np.mean(splits))
    best = search.best_index_
    assert res["rank_test_score"][best] == 1
    assert search.best_score_ == pytest.approx(res["mean_test_score"].max())
    assert search.best_params_ == res["params"][best]
    assert search.best_estimator_.C == search.best_params_["C"]
    assert search.predict(X).shape == y.shape and search.score(X, y) > 0.9
    assert hasattr(search, "refit_time_") and search.n_splits_ == 3


def test_pipeline_names_and_mixed_space(iris):
    X, y = iris
    pipe = Pipeline(
        [("scale", StandardScaler()), ("mlp", MLPClassifier(max_iter=60, random_state=0))]
    )
    space = {
        "mlp__alpha": Float(1e-5, 1e-1, log=True),
        "mlp__hidden_layer_sizes": Categorical([(8,), (16,)]),
        "mlp__batch_size": Int(16, 64),
        "scale__with_mean": [True, False],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = HPOSearchCV(pipe, space, sampler="random", n_trials=4, cv=2, random_state=1).fit(
            X, y
        )
    assert set(search.best_params_) == set(space)
    assert search.best_estimator_.named_steps["mlp"].alpha == search.best_params_["mlp__alpha"]
    assert search.best_estimator_.named_steps["mlp"].hidden_layer_sizes in [(8,), (16,)]


def test_same_random_state_same_search(iris):
    X, y = iris
    a = logreg_search().fit(X, y).cv_results_["params"]
    b = logreg_search().fit(X, y).cv_results_["params"]
    assert a == b


def test_n_jobs_runs_trials_in_hpo_worker_processes(iris, tmp_path):
    X, y = iris
    url = f"sqlite:///{tmp_path / 'cv.db'}"
    search = logreg_search(n_jobs=2, storage=url, study_name="par").fit(X, y)
    assert len(search.cv_results_["params"]) == 6
    workers = {t.worker_id for t in hpo.load_study("par", storage=url).trials}
    pids = {w.split(":")[1] for w in workers}
    # worker processes ran them (how many each took depends on the machine's load)
    assert 1 <= len(pids) <= 2 and str(os.getpid()) not in pids


def test_resumes_from_its_storage(iris, storage_url, study_name):
    X, y = iris
    first = logreg_search(n_trials=4, storage=storage_url, study_name=study_name).fit(X, y)
    again = logreg_search(n_trials=7, storage=storage_url, study_name=study_name).fit(X, y)
    assert again.cv_results_["params"][:4] == first.cv_results_["params"]
    assert len(again.cv_results_["params"]) == 7
    assert hpo.load_study(study_name, storage=storage_url).counts() == {"COMPLETE": 7}
    assert again.study_ == {"name": study_name, "storage": storage_url}


def test_resume_with_other_data_is_refused_and_writes_nothing(iris, tmp_path):
    X, y = iris
    url = f"sqlite:///{tmp_path / 'cv.db'}"
    logreg_search(n_trials=3, storage=url, study_name="fp").fit(X, y)
    with pytest.raises(StudyMismatchError, match="'fp'"):
        logreg_search(n_trials=5, storage=url, study_name="fp").fit(X[:120], y[:120])
    assert hpo.load_study("fp", storage=url).counts() == {"COMPLETE": 3}


def test_pruner_stops_partial_fit_trials_across_epochs(digits, tmp_path):
    X, y = digits
    url = f"sqlite:///{tmp_path / 'cv.db'}"
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("mlp", MLPClassifier(hidden_layer_sizes=(16,), random_state=0)),
        ]
    )
    search = HPOSearchCV(
        pipe,
        {"mlp__learning_rate_init": Float(1e-5, 1e-1, log=True)},
        sampler="random",
        n_trials=10,
        cv=2,
        max_epochs=6,
        storage=url,
        study_name="prune",
        random_state=0,
        pruner=MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    ).fit(X, y)
    res = search.cv_results_
    states = list(res["state"])
    assert "PRUNED" in states and "COMPLETE" in states
    study = hpo.load_study("prune", storage=url)
    for t in study.trials:  # curves are stored per epoch; pruned trials stopped early
        assert len(t.intermediate) == (6 if t.state.value == "COMPLETE" else len(t.intermediate))
        if t.state.value == "PRUNED":
            assert 2 <= len(t.intermediate) < 6
    assert states[search.best_index_] == "COMPLETE"
    assert all(
        res["rank_test_score"][i] > states.count("COMPLETE")
        for i, s in enumerate(states)
        if s == "PRUNED"
    )
    pruned = states.index("PRUNED")
    assert np.isfinite(res["mean_test_score"][pruned])  # the scores it reached before it stopped


def test_multimetric_needs_refit_to_name_the_metric(iris):
    X, y = iris
    with pytest.raises(ConfigError, match=r"refit.*True"):
        logreg_search(scoring=["accuracy", "f1_macro"]).fit(X, y)
    search = logreg_search(scoring=["accuracy", "f1_macro"], refit="f1_macro").fit(X, y)
    assert {"mean_test_accuracy", "rank_test_f1_macro"} <= set(search.cv_results_)
    assert search.best_score_ == pytest.approx(search.cv_results_["mean_test_f1_macro"].max())
    assert search.multimetric_


def test_refit_false_and_callable(iris):
    X, y = iris
    no_refit = logreg_search(refit=False).fit(X, y)
    assert not hasattr(no_refit, "best_estimator_") and "C" in no_refit.best_params_
    last = logreg_search(refit=lambda results: len(results["params"]) - 1).fit(X, y)
    assert last.best_index_ == 5 and hasattr(last, "best_estimator_")


def test_failed_fits_warn_and_rank_last(iris):
    X, y = iris
    # penalty=None with C set is fine; an invalid eta0 of 0 for a constant schedule fails
    search = HPOSearchCV(
        SGDClassifier(learning_rate="constant", random_state=0, max_iter=50),
        {"eta0": Categorical([0.0, 0.01, 0.1])},
        sampler="grid",
        n_trials=2,
        cv=2,
    )
    with pytest.warns(FitFailedWarning):
        search.fit(X, y)
    res = search.cv_results_
    failed = [i for i, s in enumerate(res["state"]) if s == "FAILED"]
    assert failed and all(np.isnan(res["mean_test_score"][i]) for i in failed)
    assert all(res["rank_test_score"][i] == len(res["params"]) - len(failed) + 1 for i in failed)
    assert res["params"][search.best_index_]["eta0"] > 0


@pytest.mark.parametrize(
    "kw, field, bad",
    [
        ({"n_trials": 0}, "n_trials", "0"),
        ({"n_jobs": 0}, "n_jobs", "0"),
        ({"max_epochs": -2}, "max_epochs", "-2"),
        ({"random_state": "seed"}, "random_state", "'seed'"),
    ],
)
def test_bad_arguments_name_the_field_and_write_nothing(iris, tmp_path, kw, field, bad):
    X, y = iris
    url = f"sqlite:///{tmp_path / 'cv.db'}"
    with pytest.raises(ConfigError, match=rf"'{field}'.*{bad}"):
        logreg_search(storage=url, study_name="bad", **kw).fit(X, y)
    assert hpo.list_studies(url) == []


def test_unknown_parameter_name_is_refused(iris, tmp_path):
    X, y = iris
    url = f"sqlite:///{tmp_path / 'cv.db'}"
    search = HPOSearchCV(LogisticRegression(), {"mlp__alpha": Float(0.1, 1.0)}, storage=url)
    with pytest.raises(ConfigError, match=r"'space'.*'mlp__alpha'"):
        search.fit(X, y)
    assert hpo.list_studies(url) == []
