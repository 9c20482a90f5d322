"""The overhead split is computed from what the database holds."""

from __future__ import annotations

from datetime import datetime, timedelta

import hpo
from hpo.reports.overhead import overhead_split
from hpo.space import Float
from hpo.trial import FrozenTrial, TrialState

T0 = datetime(2026, 1, 1)


def _trial(n: int, worker: str, start: float, end: float, own: float | None) -> FrozenTrial:
    return FrozenTrial(
        number=n,
        state=TrialState.COMPLETE,
        params={},
        value=0.0,
        metrics={} if own is None else {"duration_s": own},
        started_at=T0 + timedelta(seconds=start),
        finished_at=T0 + timedelta(seconds=end),
        worker_id=worker,
    )


def test_split_counts_gaps_and_bookkeeping_as_overhead() -> None:
    split = overhead_split(
        [
            _trial(0, "a", 0.0, 1.0, 0.9),  # 0.1 s of writes around a 0.9 s objective
            _trial(1, "a", 1.5, 2.5, 1.0),  # a 0.5 s gap before it (claim, sampler)
            _trial(2, "b", 0.0, 2.0, None),  # no own timing: the whole span counts as training
        ]
    )
    assert split is not None and split.n_workers == 2
    assert split.worker_seconds == 2.5 + 2.0
    assert abs(split.training_seconds - (0.9 + 1.0 + 2.0)) < 1e-9
    assert abs(split.overhead_fraction - 0.6 / 4.5) < 1e-9


def test_no_timings_no_split() -> None:
    assert overhead_split([FrozenTrial(number=0, state=TrialState.RUNNING, params={})]) is None


def test_real_study_split_is_a_fraction(sqlite_url) -> None:
    study = hpo.create_study(
        "split", space={"x": Float(0, 1)}, objective=lambda p, r: p["x"], storage=sqlite_url, seed=0
    )
    study.optimize(n_trials=5)
    split = overhead_split(study.trials)
    assert split is not None and split.n_workers == 1
    assert 0.0 <= split.overhead_fraction <= 1.0
    assert split.training_seconds <= split.worker_seconds


def test_hpo_show_reports_the_overhead_fraction(sqlite_url) -> None:
    from typer.testing import CliRunner

    from hpo.cli import app

    study = hpo.create_study(
        "shown", space={"x": Float(0, 1)}, objective=lambda p, r: p["x"], storage=sqlite_url, seed=0
    )
    study.optimize(n_trials=3)
    result = CliRunner().invoke(
        app, ["show", "shown", "--storage", sqlite_url], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "% training," in result.output and "% hpo overhead (1 worker" in result.output


def test_the_database_sums_the_same_split_as_the_trials(storage_url, study_name) -> None:
    """`hpo show` asks the database for per-worker sums; they equal the split of the trials."""
    from sqlalchemy import insert

    from hpo.reports.overhead import stored_overhead_split
    from hpo.storage.schema import TrialRow
    from hpo.storage.storage import utcnow

    study = hpo.create_study(
        study_name, space={"x": Float(0, 1)}, objective=lambda p, r: p["x"], storage=storage_url
    )
    assert stored_overhead_split(study.storage, study.id) is None  # no timings yet
    study.optimize(n_trials=4)  # real trials, with their own duration_s
    # rows the run cannot make: other workers, odd or missing duration_s, unfinished trials
    now = utcnow()
    odd: list[object] = [None, -1.0, "2.0", True, 0.25, 100.0, 3]
    rows = [
        {
            "study_id": study.id,
            "number": 10 + i,
            "state": "COMPLETE" if i < len(odd) else "RUNNING",
            "params": {"x": 0.5},
            "value": 0.5,
            "metrics": {} if own is None else {"duration_s": own},
            "user_attrs": {},
            "started_at": now + timedelta(seconds=1.5 * i),
            "finished_at": None if i >= len(odd) else now + timedelta(seconds=1.5 * i + 1.25),
            "worker_id": f"w{i % 3}",
        }
        for i, own in enumerate([*odd, 1.0])
    ]
    with study.storage.engine.begin() as conn:
        conn.execute(insert(TrialRow), rows)
    expected = overhead_split(study.storage.trials(study.id))
    stored = stored_overhead_split(study.storage, study.id)
    assert expected is not None and stored is not None
    assert stored.n_workers == expected.n_workers == 4
    assert abs(stored.worker_seconds - expected.worker_seconds) < 1e-3
    assert abs(stored.training_seconds - expected.training_seconds) < 1e-3
