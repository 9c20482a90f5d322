"""optimize(callbacks=[...]): called once per finished trial, in the process that ran it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import hpo
from hpo.errors import ConfigError, TrialPruned
from hpo.space import Float
from hpo.trial import TrialState


def curve_objective(params, reporter):
    """Three epochs; x > 2 fails, x < -2 is pruned, the rest complete."""
    x = params["x"]
    for step in range(3):
        reporter.report(step, x * x + 1.0 / (step + 1))
    if x > 2:
        raise RuntimeError("too big")
    if x < -2:
        raise TrialPruned("too small")
    return x * x


class FileLog:
    """A picklable callback: one JSON line per trial, tagged with the process id."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, study, trial) -> None:
        with open(self.path, "a") as f:
            f.write(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "number": trial.number,
                        "state": trial.state.value,
                        "value": trial.value,
                        "curve": {str(k): v for k, v in trial.intermediate.items()},
                        "study": study.name,
                    }
                )
                + "\n"
            )


def test_each_finished_trial_is_passed_once_as_stored(sqlite_url, tmp_path):
    study = hpo.create_study(
        "cb", storage=sqlite_url, space={"x": Float(-3, 3)}, objective=curve_objective, seed=1
    )
    seen = []
    study.optimize(n_trials=12, callbacks=[lambda s, t: seen.append((s.name, t))])
    stored = {t.number: t for t in study.trials}
    assert sorted(t.number for _, t in seen) == sorted(stored)  # each once, failures included
    assert all(name == "cb" for name, _ in seen)
    for _, t in seen:
        assert t.state == stored[t.number].state and t.value == stored[t.number].value
        assert t.state.is_finished
        assert t.intermediate == stored[t.number].intermediate and sorted(t.intermediate) == [
            0,
            1,
            2,
        ]
    states = {t.state for _, t in seen}
    assert TrialState.COMPLETE in states


def test_callbacks_run_in_the_worker_processes(sqlite_url, tmp_path):
    log = tmp_path / "log.jsonl"
    study = hpo.create_study(
        "cbp", storage=sqlite_url, space={"x": Float(-1, 1)}, objective=curve_objective, seed=2
    )
    study.optimize(n_trials=6, n_workers=2, callbacks=[FileLog(log)])
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(r["number"] for r in lines) == list(range(6))
    assert os.getpid() not in {r["pid"] for r in lines}  # ran where the trials ran
    assert all(r["state"] == "COMPLETE" and len(r["curve"]) == 3 for r in lines)


def test_a_raising_callback_stops_and_leaves_nothing_running(sqlite_url):
    study = hpo.create_study(
        "cbr", storage=sqlite_url, space={"x": Float(-1, 1)}, objective=curve_objective, seed=3
    )

    def boom(s, t):
        if t.number == 1:
            raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        study.optimize(n_trials=10, callbacks=[boom])
    counts = study.counts()
    assert counts.get("RUNNING", 0) == 0
    assert counts["COMPLETE"] == 2  # trials 0 and 1 stored before the callback saw 1
    study.optimize(n_trials=4)  # the re-queued trial runs first; the study goes on
    assert study.counts()["COMPLETE"] == 4


def test_non_callable_callback_is_refused_before_running(sqlite_url):
    study = hpo.create_study(
        "cbx", storage=sqlite_url, space={"x": Float(-1, 1)}, objective=curve_objective, seed=4
    )
    with pytest.raises(ConfigError, match=r"callbacks.*'oops'"):
        study.optimize(n_trials=2, callbacks=["oops"])
    assert study.counts() == {}
