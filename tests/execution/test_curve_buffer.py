"""Learning-curve points are buffered, yet nothing a pruner or a result needs is ever late."""

from __future__ import annotations

import hpo
from hpo.execution import running
from hpo.space import Float
from hpo.storage.storage import Storage
from hpo.trial import TrialState


def _spy_writes(monkeypatch) -> list[dict[int, float]]:
    calls: list[dict[int, float]] = []
    real = Storage.report_many

    def spy(self, trial_id, points, **kwargs):
        calls.append(dict(points))
        return real(self, trial_id, points, **kwargs)

    monkeypatch.setattr(Storage, "report_many", spy)
    return calls


def _epochs(n: int):
    def objective(params, reporter):
        for step in range(1, n + 1):
            reporter.report(step, params["x"] + 1.0 / step)
        return params["x"]

    return objective


def test_many_short_epochs_cost_one_write_per_trial(sqlite_url, monkeypatch) -> None:
    monkeypatch.setattr(running, "FLUSH_SECONDS", 3600.0)  # only the end-of-trial flush
    calls = _spy_writes(monkeypatch)
    study = hpo.create_study(
        "buffered", space={"x": Float(0, 1)}, objective=_epochs(50), storage=sqlite_url, seed=0
    )
    study.optimize(n_trials=3)
    assert len(calls) == 3  # 150 epochs, 3 transactions
    stored = study.storage.curves(study.id, [TrialState.COMPLETE])
    assert all(sorted(c) == list(range(1, 51)) for c in stored.values())  # nothing lost


def test_a_pruning_step_is_written_before_peers_are_read(sqlite_url, monkeypatch) -> None:
    """At an ASHA rung, the trial's own point is in the database before it compares itself."""
    monkeypatch.setattr(running, "FLUSH_SECONDS", 3600.0)
    seen: list[bool] = []
    real_stats = Storage.peer_stats  # what an ASHA check reads of its peers (one row)

    def peer_stats(self, study_id, states, step, **kwargs):
        me = self.curves(study_id, [TrialState.RUNNING], step=step)
        seen.append(any(step in c for c in me.values()))
        return real_stats(self, study_id, states, step, **kwargs)

    monkeypatch.setattr(Storage, "peer_stats", peer_stats)
    study = hpo.create_study(
        "rungs",
        space={"x": Float(0, 1)},
        objective=_epochs(9),
        storage=sqlite_url,
        seed=0,
        pruner={"name": "asha", "min_resource": 1, "reduction_factor": 3},
    )
    study.optimize(n_trials=4)
    assert seen and all(seen)


def test_peer_reads_at_one_step_return_one_point_per_peer(sqlite_url) -> None:
    study = hpo.create_study(
        "steps", space={"x": Float(0, 1)}, objective=_epochs(20), storage=sqlite_url, seed=0
    )
    study.optimize(n_trials=5)
    at_7 = study.storage.curves(study.id, [TrialState.COMPLETE], step=7)
    assert len(at_7) == 5 and all(list(c) == [7] for c in at_7.values())
    whole = study.storage.curves(study.id, [TrialState.COMPLETE])
    assert all(at_7[n][7] == whole[n][7] for n in at_7)


def test_the_latest_report_for_a_step_wins(sqlite_url) -> None:
    study = hpo.create_study(
        "rewrite",
        space={"x": Float(0, 1)},
        objective=lambda p, r: p["x"],
        storage=sqlite_url,
        seed=0,
    )
    trial = study.ask()
    study.storage.report_many(trial.trial_id, {1: 0.5, 2: 0.25})
    study.storage.report_many(trial.trial_id, {2: 0.125, 3: 0.0})
    trial.report(4, 1.0)
    study.tell(trial, 0.0)  # tell writes what report() buffered
    curve = study.storage.curves(study.id, [TrialState.COMPLETE])[trial.number]
    assert curve == {1: 0.5, 2: 0.125, 3: 0.0, 4: 1.0}
