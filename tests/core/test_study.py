"""Study lifecycle on real SQLite files: create, resume, ask/tell, enqueue, failures, bad input."""

from __future__ import annotations

import math
import re

import pytest

import hpo
from hpo.errors import ConfigError, StorageError, StudyMismatchError, StudyNotFoundError
from hpo.space import Categorical, Float, Int
from hpo.trial import TrialState
from tests.core.objectives import quadratic, slow_quadratic

SPACE = {"x": Float(-3.0, 3.0), "n": Int(1, 4), "act": Categorical(["relu", "tanh"])}


def make(url, name="s", **kw):
    kw.setdefault("objective", quadratic)
    return hpo.create_study(name, storage=url, space=SPACE, seed=0, **kw)


def test_optimize_reaches_total_and_resume_continues(sqlite_url):
    study = make(sqlite_url)
    study.optimize(n_trials=8)
    assert study.counts() == {"COMPLETE": 8}
    first = {t.number: t.params for t in study.trials}
    again = make(sqlite_url, load_if_exists=True)
    again.optimize(n_trials=12)
    trials = again.trials
    assert [t.number for t in trials] == list(range(12))
    assert {t.number: t.params for t in trials if t.number < 8} == first  # never re-run
    again.optimize(n_trials=12)  # already there: nothing to do
    assert again.counts() == {"COMPLETE": 12}
    assert all(sorted(t.intermediate) == [0, 1, 2] for t in trials)


def test_same_seed_replays_the_same_proposals(tmp_path):
    a = make(f"sqlite:///{tmp_path / 'a.db'}")
    b = make(f"sqlite:///{tmp_path / 'b.db'}")
    a.optimize(n_trials=5)
    b.optimize(n_trials=5)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]


def test_leaderboard_best_first_and_best_trial(sqlite_url):
    study = make(sqlite_url)
    study.optimize(n_trials=10)
    board = study.leaderboard(top=3)
    assert list(board.index) == [1, 2, 3]
    assert board["value"].is_monotonic_increasing
    assert study.best_value == board["value"].iloc[0]
    assert set(SPACE) <= set(board.columns)
    maxi = make(sqlite_url, name="m", direction="maximize")
    maxi.optimize(n_trials=5)
    assert maxi.leaderboard()["value"].is_monotonic_decreasing


def test_failures_and_nan_are_stored_and_the_study_goes_on(sqlite_url):
    def flaky(params, reporter):
        if params["n"] == 1:
            raise RuntimeError("exploded on purpose")
        if params["n"] == 2:
            return float("nan")
        return params["x"]

    study = make(sqlite_url, objective=flaky)
    study.optimize(n_trials=6)
    counts = study.counts()
    assert counts["COMPLETE"] == 6 and counts.get("FAILED", 0) >= 1
    errors = [t.error for t in study.trials if t.state == TrialState.FAILED]
    assert any("RuntimeError: exploded on purpose" in e for e in errors)
    assert all(e for e in errors)


def test_always_failing_objective_stops(sqlite_url):
    def broken(params, reporter):
        raise ValueError("bad")

    study = make(sqlite_url, objective=broken)
    study.optimize(n_trials=3)
    assert study.counts() == {"FAILED": 10}


def test_ask_tell_enqueue(sqlite_url):
    study = hpo.create_study("at", storage=sqlite_url, space=SPACE, seed=1)
    number = study.enqueue({"x": 0.5, "n": 2, "act": "tanh"})
    trial = study.ask()
    assert trial.number == number and trial.params == {"x": 0.5, "n": 2, "act": "tanh"}
    trial.report(0, 3.0)
    done = study.tell(trial, 0.25, metrics={"acc": 0.9})
    assert (
        done.state == TrialState.COMPLETE
        and done.metrics == {"acc": 0.9}
        and done.intermediate == {0: 3.0}
    )
    with pytest.raises(ConfigError, match="already COMPLETE; each trial is told once"):
        study.tell(trial, 0.1)
    nan_trial = study.ask()
    assert study.tell(nan_trial, math.nan).state == TrialState.FAILED
    with pytest.raises(
        hpo.InvalidSpaceError, match=re.escape("enqueue(params)['x'] = 9 is outside")
    ):
        study.enqueue({"x": 9, "n": 2, "act": "tanh"})
    with pytest.raises(ConfigError, match="has no objective to run"):
        study.optimize(n_trials=3)


def test_pruned_trials_keep_their_curve(sqlite_url):
    def curve(params, reporter):
        for step in range(10):
            reporter.report(step, params["x"] + 0.0 * step)
        return params["x"]

    study = make(
        sqlite_url,
        objective=curve,
        direction="maximize",
        pruner=hpo.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
    )
    study.optimize(n_trials=15)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned, "a median pruner on a monotone objective prunes the worse half"
    assert all(
        len(t.intermediate) < 10 and t.value == t.intermediate[max(t.intermediate)] for t in pruned
    )


def test_resume_mismatch_and_name_errors(sqlite_url):
    make(sqlite_url)
    with pytest.raises(ConfigError, match=re.escape("Study 's' already exists in")):
        make(sqlite_url)
    with pytest.raises(
        StudyMismatchError,
        match=re.escape(
            "Study 's' already exists with direction 'minimize'; got 'maximize'. Use load_study() "
            "or a new name."
        ),
    ):
        make(sqlite_url, direction="maximize", load_if_exists=True)
    with pytest.raises(
        StudyMismatchError, match=re.escape("different search space (differs in ['x'])")
    ):
        hpo.create_study(
            "s",
            storage=sqlite_url,
            space={**SPACE, "x": Float(-1, 1)},
            objective=quadratic,
            load_if_exists=True,
        )
    with pytest.raises(StudyNotFoundError, match=re.escape("No study named 'nope'")):
        hpo.load_study("nope", storage=sqlite_url)


def test_a_resumed_study_keeps_its_pruner_and_refuses_another(sqlite_url):
    hb = {"name": "hyperband", "min_resource": 1, "max_resource": 27, "reduction_factor": 3}
    make(sqlite_url, pruner=hb).optimize(n_trials=2)
    same = make(sqlite_url, pruner=dict(hb), load_if_exists=True)  # the same, spelled again
    assert same.settings.pruner == hpo.pruning.make_pruner(hb).to_config()
    unnamed = make(sqlite_url, load_if_exists=True)  # none named: the stored one stays
    assert unnamed.settings.pruner["name"] == "hyperband"
    with pytest.raises(
        StudyMismatchError,
        match=re.escape("Study 's' already exists with pruner {'name': 'hyperband'")
        + ".*"
        + re.escape("A study's pruner cannot change: resume it without pruner="),
    ):
        make(sqlite_url, pruner="asha", load_if_exists=True)
    assert len(hpo.load_study("s", storage=sqlite_url).trials) == 2  # nothing written


def test_bad_input_writes_nothing(sqlite_url):
    store_before = hpo.list_studies(sqlite_url)
    with pytest.raises(ConfigError, match=r"'direction' parameter .* Got 'up'"):
        make(sqlite_url, name="bad", direction="up")
    with pytest.raises(ConfigError, match=re.escape("Unknown sampler 'bayes'")):
        make(sqlite_url, name="bad", sampler="bayes")
    with pytest.raises(ConfigError, match=re.escape("Unknown pruner 'mean'")):
        make(sqlite_url, name="bad", pruner="mean")
    with pytest.raises(ConfigError, match=re.escape("Unknown model 'svm'")):
        hpo.create_study("bad", storage=sqlite_url, space=SPACE, model="svm", dataset="digits")
    with pytest.raises(ConfigError, match=re.escape("unknown option(s) ['retries']")):
        make(sqlite_url, name="bad", retries=3)
    with pytest.raises(
        ConfigError,
        match=re.escape("The 'n_trials' parameter of optimize must be an int >= 1. Got 0 instead."),
    ):
        make(sqlite_url, name="ok").optimize(n_trials=0)
    assert [s.name for s in hpo.list_studies(sqlite_url)] == [s.name for s in store_before] + ["ok"]


def test_in_memory_storage_is_single_process():
    study = hpo.create_study("mem", storage="sqlite://", space=SPACE, objective=quadratic, seed=0)
    study.optimize(n_trials=3)
    assert study.counts() == {"COMPLETE": 3}
    with pytest.raises(ConfigError, match="in-memory storage"):
        study.optimize(n_trials=6, n_workers=2)


def test_unusable_storage_urls(tmp_path):
    with pytest.raises(StorageError, match="not a valid SQLAlchemy URL"):
        hpo.list_studies("not a url")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="Choose a writable path"):
        hpo.list_studies(f"sqlite:///{blocker}/sub/hpo.db")


@pytest.mark.slow
def test_two_workers_share_a_study(sqlite_url, monkeypatch, tmp_path):
    monkeypatch.setenv("HPO_TEST_SLEEP", "0.1")
    monkeypatch.setenv("HPO_TEST_RENDEZVOUS", str(tmp_path / "rendezvous"))  # both get a trial
    study = make(sqlite_url, objective=slow_quadratic)
    study.optimize(n_trials=12, n_workers=2)
    trials = study.trials
    assert study.counts() == {"COMPLETE": 12}
    assert sorted(t.number for t in trials) == list(range(12))
    assert len({t.worker_id for t in trials}) == 2
