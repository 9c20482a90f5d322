"""One Ctrl-C stops ``hpo worker`` even when the objective's library swallows KeyboardInterrupt.

scikit-learn's ``partial_fit`` catches KeyboardInterrupt, warns "Training interrupted by
user." and returns; the worker used to go on claiming trials until a second Ctrl-C.
Real ``hpo worker`` processes on SQLite files.
"""

from __future__ import annotations

import signal
from typing import cast

import pytest

import hpo
from hpo.space import Categorical, Float
from hpo.trial import TrialState
from tests.execution.helpers import FAST_SETTINGS, finish, start_cli_worker, wait_for


def _mid_epoch(study: hpo.Study) -> hpo.FrozenTrial | None:
    running = study.get_trials([TrialState.RUNNING], with_curves=True)
    return next((t for t in running if t.intermediate), None)


def _check_stopped_at(study: hpo.Study, interrupted: hpo.FrozenTrial) -> None:
    trials = study.trials
    assert max(t.number for t in trials if t.retry_of is None) == interrupted.number  # nothing new
    stopped = [t for t in trials if t.number == interrupted.number][0]
    assert stopped.state == TrialState.FAILED and cast(str, stopped.error).startswith("interrupted")
    assert [(t.state, t.params) for t in trials if t.retry_of == interrupted.number] == [
        (TrialState.WAITING, interrupted.params)
    ]


@pytest.mark.slow
def test_one_ctrl_c_stops_a_worker_whose_objective_swallows_it(sqlite_url, study_name):
    study = hpo.create_study(
        study_name, storage=sqlite_url, space={"x": Float(0.0, 1.0)}, seed=0, **FAST_SETTINGS
    )
    worker = start_cli_worker(
        sqlite_url,
        study_name,
        "--trials",
        "50",
        "--objective",
        "tests.execution.helpers:swallows_ctrl_c",
        sleep=3.0,
    )
    interrupted = wait_for(lambda: _mid_epoch(study), timeout=60)
    worker.send_signal(signal.SIGINT)
    code, _, err = finish(worker, timeout=30)
    assert code == 130, err
    assert "Interrupted" in err
    _check_stopped_at(study, interrupted)


@pytest.mark.slow
def test_one_ctrl_c_stops_a_worker_on_a_scikit_learn_study(sqlite_url, study_name):
    """The real thing: most of an epoch is spent inside partial_fit, where the signal lands."""
    study = hpo.create_study(
        study_name,
        storage=sqlite_url,
        model="sklearn-mlp-classifier",
        dataset="digits",
        space={
            "hidden_layer_sizes": Categorical([(512, 512)]),
            "alpha": Float(1e-5, 1e-3, log=True),
        },
        model_options={"max_epochs": 200, "patience": 200},
        seed=0,
        **FAST_SETTINGS,
    )
    worker = start_cli_worker(sqlite_url, study_name, "--trials", "50")
    interrupted = wait_for(lambda: _mid_epoch(study), timeout=120)
    worker.send_signal(signal.SIGINT)
    code, _, err = finish(worker, timeout=60)
    assert code == 130, err
    _check_stopped_at(study, interrupted)
