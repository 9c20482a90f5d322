"""A trial from ``Study.ask()`` that is never told holds no budget and keeps no worker waiting.

Real SQLite files, real runs: ``optimize`` in this process, two local worker processes, and
the ``hpo worker`` command. The asked trial is told afterwards (or not at all) and counts once.
"""

from __future__ import annotations

import logging

import hpo
from hpo.trial import TrialState
from tests.execution.helpers import FAST_SETTINGS, SPACE, fast, finish, start_cli_worker


def _study(url: str, name: str, sampler: str = "random") -> hpo.Study:
    return hpo.create_study(
        name,
        storage=url,
        space=SPACE,
        objective=fast,
        sampler=sampler,
        seed=3,
        settings=FAST_SETTINGS,
    )


def _states(study: hpo.Study) -> dict[int, TrialState]:
    return {t.number: t.state for t in study.trials}


def test_an_untold_ask_trial_does_not_hold_the_budget(sqlite_url, study_name, caplog):
    study = _study(sqlite_url, study_name)
    asked = study.ask()
    with caplog.at_level(logging.WARNING, logger="hpo.worker"):
        study.optimize(3, show_progress=False)
    # the run reached its total without the asked trial, and said it did not count it
    assert study.counts() == {"COMPLETE": 3, "RUNNING": 1}
    assert _states(study)[asked.number] == TrialState.RUNNING
    assert "taken with Study.ask() are still RUNNING (#0)" in caplog.text
    # tell still works afterwards; it counts once, as a trial of its own
    told = study.tell(asked, 0.25)
    assert (told.state, told.value) == (TrialState.COMPLETE, 0.25)
    assert study.counts() == {"COMPLETE": 4}
    # a resume to the same total runs nothing more: the told trial is not counted twice
    study.optimize(4, show_progress=False)
    assert study.counts() == {"COMPLETE": 4}


def test_history_sampler_and_worker_processes(sqlite_url, study_name):
    """The GP path checks the budget on its snapshot first; two processes share the run."""
    study = _study(sqlite_url, study_name, sampler="gp")
    first, second = study.ask(), study.ask()
    study.tell(second, 0.5)  # one told before the run: it counts
    study.optimize(4, n_workers=2, show_progress=False)
    counts = study.counts()
    assert counts == {"COMPLETE": 4, "RUNNING": 1}, counts
    assert _states(study)[first.number] == TrialState.RUNNING
    study.tell(first, 0.1)
    assert study.counts() == {"COMPLETE": 5}


def test_hpo_worker_command_finishes_despite_an_untold_trial(sqlite_url, study_name):
    study = _study(sqlite_url, study_name)
    study.enqueue({"x": 0.5})
    asked = study.ask()  # the enqueued trial, now RUNNING without a heartbeat
    assert asked.params == {"x": 0.5}
    code, stats, err = finish(
        start_cli_worker(
            sqlite_url,
            study_name,
            "--trials",
            "2",
            "--objective",
            "tests.execution.helpers:fast",
            "--no-progress",
        ),
        timeout=60,
    )
    assert code == 0, err
    assert study.counts() == {"COMPLETE": 2, "RUNNING": 1}
    assert "still RUNNING (#0)" in err
