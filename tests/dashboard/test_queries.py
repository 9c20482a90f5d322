"""The dashboard's read layer on real databases (a SQLite file and PostgreSQL): what every
query returns, that it never writes, and that a password never leaves it."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import cast

import numpy as np
import pytest
from sqlalchemy import text

import hpo
from hpo.dashboard import figures, queries
from hpo.dashboard.reader import Reader, safe_url
from hpo.errors import ConfigError, StorageError
from hpo.space import Categorical, Float, Int

SPACE = {
    "lr": Float(1e-4, 1e-1, log=True),
    "layers": Int(1, 4),
    "act": Categorical(["relu", "tanh"]),
}


def _value(params: dict) -> float:
    return -abs(math.log10(params["lr"]) + 2) - 0.1 * params["layers"] + (params["act"] == "relu")


def make_study(url: str, name: str, n: int = 30) -> hpo.Study:
    """``n`` trials told by hand: curves on each, every 7th pruned, every 5th failed, one retry."""
    study = hpo.create_study(
        name, space=SPACE, storage=url, direction="maximize", sampler="random", seed=3
    )
    for i in range(n):
        trial = study.ask()
        value = _value(trial.params)
        for step in range(4):
            study.storage.report(trial.trial_id, step, value * (step + 1) / 4)
        if i % 5 == 4:
            study.tell(trial, state="FAILED", error=f"boom {i}")
        elif i % 7 == 6:
            study.tell(trial, state="PRUNED", value=value / 2)
        else:
            study.tell(trial, value, metrics={"test_accuracy": value - 0.01, "best_epoch": 3})
    interrupted = study.ask()
    study.storage.release(interrupted.trial_id, reason="interrupted", requeue=True)
    return study


@pytest.fixture
def study_and_reader(storage_url: str, study_name: str):
    study = make_study(storage_url, study_name)
    reader = Reader(storage_url)
    yield study, reader
    reader.dispose()


def test_leaderboard_pages_cover_every_trial_once_best_first(study_and_reader) -> None:
    study, reader = study_and_reader
    seen, page, pages = [], 1, 1
    while page <= pages:
        data = reader.run(
            lambda c, p=page: queries.trials_page(
                c, study.id, queries.TrialQuery(page=p, page_size=7)
            )
        )
        pages = data["pages"]
        seen += data["trials"]
        page += 1
    stored = study.trials
    assert sorted(t["number"] for t in seen) == sorted(t.number for t in stored)
    values = [t["value"] for t in seen if t["value"] is not None]
    assert values == sorted(values, reverse=True)  # maximize: best first, no value last
    assert seen[0]["number"] == study.best_trial.number == data["best_number"]
    assert all(t["value"] is None for t in seen[len(values) :])


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_value_pages_of_complete_trials_are_exact_with_ties(
    storage_url: str, study_name: str, direction: str
) -> None:
    """The index-served value pages: same order as sorting by (value, number), ties included."""
    study = hpo.create_study(
        study_name, space=SPACE, storage=storage_url, direction=direction, sampler="random", seed=5
    )
    for i in range(23):
        trial = study.ask()
        study.tell(trial, float(i % 4))  # four distinct values, many ties
    sign = -1 if direction == "maximize" else 1
    expected = [
        t.number
        for t in sorted(study.trials, key=lambda t: (sign * cast(float, t.value), t.number))
    ]
    reader = Reader(storage_url)
    got = []
    for page in range(1, 6):
        data = reader.run(
            lambda c, p=page: queries.trials_page(  # type: ignore[misc]
                c, study.id, queries.TrialQuery(states=["COMPLETE"], page=p, page_size=5)
            )
        )
        got += [t["number"] for t in data["trials"]]
    reader.dispose()
    assert got == expected


def test_leaderboard_filters_and_sorts_in_sql(study_and_reader) -> None:
    study, reader = study_and_reader
    query = queries.TrialQuery(
        states=["COMPLETE"],
        ranges={"lr": (1e-3, 3e-2)},
        choices={"act": ["tanh"]},
        sort="param:layers",
        page_size=500,
    )
    data = reader.run(lambda c: queries.trials_page(c, study.id, query))
    expected = [
        t
        for t in study.trials
        if t.state.value == "COMPLETE"
        and 1e-3 <= t.params["lr"] <= 3e-2
        and t.params["act"] == "tanh"
    ]
    assert data["total"] == len(expected) > 0
    assert {t["number"] for t in data["trials"]} == {t.number for t in expected}
    layers = [t["params"]["layers"] for t in data["trials"]]
    assert layers == sorted(layers)
    by_metric = reader.run(
        lambda c: queries.trials_page(
            c,
            study.id,
            queries.TrialQuery(sort="metric:test_accuracy", descending=True, states=["COMPLETE"]),
        )
    )
    accuracies = [t["metrics"]["test_accuracy"] for t in by_metric["trials"]]
    assert accuracies == sorted(accuracies, reverse=True)


@pytest.mark.parametrize(
    ("query", "field", "bad"),
    [
        (queries.TrialQuery(states=["DONE"]), "state", "DONE"),
        (queries.TrialQuery(sort="param:nope"), "sort", "nope"),
        (queries.TrialQuery(sort="weird"), "sort", "weird"),
        (queries.TrialQuery(ranges={"depth": (1, 2)}), "depth", "depth"),
        (queries.TrialQuery(page=0), "page", "0"),
        (queries.TrialQuery(page_size=5000), "page_size", "5000"),
    ],
)
def test_bad_leaderboard_query_names_field_and_value(study_and_reader, query, field, bad) -> None:
    study, reader = study_and_reader
    with pytest.raises(ConfigError, match=field) as info:
        reader.run(lambda c: queries.trials_page(c, study.id, query))
    assert bad in str(info.value)


def test_trial_detail_with_curve_and_retry_chain(study_and_reader) -> None:
    study, reader = study_and_reader
    retried = next(t for t in study.trials if t.retry_of is not None)
    detail = reader.run(lambda c: queries.trial(c, study.id, retried.retry_of))
    assert detail["error"] == "interrupted"
    assert [r["number"] for r in detail["retry_chain"]] == [retried.retry_of, retried.number]
    best = reader.run(lambda c: queries.trial(c, study.id, study.best_trial.number))
    assert best["curve"]["steps"] == [0, 1, 2, 3]
    assert best["metrics"]["test_accuracy"] == pytest.approx(study.best_value - 0.01)
    assert best["retry_chain"] == []
    with pytest.raises(LookupError, match="999"):
        reader.run(lambda c: queries.trial(c, study.id, 999))


def test_studies_workers_and_version(study_and_reader) -> None:
    study, reader = study_and_reader
    (summary,) = [s for s in reader.run(queries.studies) if s["id"] == study.id]
    assert summary["counts"] == {s: study.counts().get(s, 0) for s in queries.STATES}
    assert summary["best_value"] == pytest.approx(study.best_value)
    assert summary["sampler"] == "random" and summary["last_activity"] is not None
    before = reader.run(lambda c: queries.version(c, study.id))
    trial = study.ask()
    during = reader.run(lambda c: queries.version(c, study.id))
    study.storage.report(trial.trial_id, 0, 0.5)
    after_epoch = reader.run(lambda c: queries.version(c, study.id))
    assert len({before, during, after_epoch}) == 3  # a new trial and a new epoch both change it
    from hpo.storage import utcnow

    (worker,) = reader.run(lambda c: queries.workers(c, study.id, utcnow()))
    assert worker["worker"] == "ask" and worker["running"] == 1 and worker["seconds_ago"] < 60


def test_history_keeps_every_improvement_and_the_envelope(study_and_reader) -> None:
    study, reader = study_and_reader
    full = reader.run(lambda c: figures.history(c, study.id))
    small = reader.run(lambda c: figures.history(c, study.id, max_points=8))
    complete = [t for t in study.trials if t.state.value == "COMPLETE"]
    assert full["complete"]["n"] == len(complete) and not full["downsampled"]
    assert small["downsampled"] and len(small["complete"]["x"]) <= 8
    assert small["best"] == full["best"]  # the best-so-far line is never thinned
    values = [t.value for t in complete]
    assert max(small["complete"]["y"]) == max(values) and min(small["complete"]["y"]) == min(values)
    assert full["best"]["y"][-2] == pytest.approx(study.best_value)
    assert full["failed"]["n"] == study.counts()["FAILED"]


def test_thinning_is_bounded_and_keeps_extremes() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=100_000)
    numbers = np.arange(100_000)
    keep = figures._thin(numbers, values, 2000)
    assert len(keep) <= 2000
    assert int(np.argmax(values)) in keep and int(np.argmin(values)) in keep
    x, y = figures.best_so_far(numbers, values, maximize=False)
    assert y == sorted(y, reverse=True) and y[-1] == values.min()


def test_parallel_importance_and_slice(study_and_reader) -> None:
    study, reader = study_and_reader
    par = reader.run(lambda c: figures.parallel(c, study.id))
    lr = par["axes"][0]
    assert lr["label"] == "lr (log)" and lr["ticktext"] == ["0.0001", "0.001", "0.01", "0.1"]
    assert par["axes"][2]["ticktext"] == ["relu", "tanh"]
    imp = reader.run(lambda c: figures.importance(c, study.id))
    assert "Permutation importance" in imp["method"]
    assert sorted(imp["names"]) == ["act", "layers", "lr"]
    assert sum(imp["importance"]) == pytest.approx(1.0)
    assert imp["names"][-1] == "layers"  # the parameter with the smallest effect ranks last
    sl = reader.run(lambda c: figures.slice_contour(c, study.id, "lr", "layers"))
    assert len(sl["grid"]["z"]) == 24 and sl["shown"] == len(sl["value"])
    with pytest.raises(ConfigError, match="depth"):
        reader.run(lambda c: figures.slice_contour(c, study.id, "depth", "lr"))


def test_reader_cannot_write(study_and_reader) -> None:
    study, reader = study_and_reader
    with pytest.raises(StorageError):
        reader.run(lambda c: c.execute(text("UPDATE studies SET name = 'x'")))
    assert hpo.load_study(study.name, storage=study.storage).name == study.name


def test_sqlite_file_is_untouched_by_every_route(tmp_path: Path) -> None:
    """Serving every route leaves the database's bytes as they were (WAL checkpointed first)."""
    from starlette.testclient import TestClient

    from hpo.dashboard.app import create_app

    url = f"sqlite:///{tmp_path / 'ro.db'}"
    study = make_study(url, "ro")
    study.storage.engine.dispose()  # checkpoint and drop the WAL: the file alone holds the data
    db = tmp_path / "ro.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    client = TestClient(create_app(url))
    sid = study.id
    for path in [
        "/api/studies",
        f"/api/studies/{sid}",
        f"/api/studies/{sid}/version",
        f"/api/studies/{sid}/trials?sort=param:lr&state=COMPLETE",
        f"/api/studies/{sid}/trials/0",
        f"/api/studies/{sid}/history",
        f"/api/studies/{sid}/curves",
        f"/api/studies/{sid}/parallel",
        f"/api/studies/{sid}/importance",
        f"/api/studies/{sid}/slice?x=lr&y=act",
        f"/api/studies/{sid}/workers",
        f"/api/compare?ids={sid}",
    ]:
        assert client.get(path).status_code == 200, path
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not (tmp_path / "ro.db-wal").exists() or (tmp_path / "ro.db-wal").stat().st_size == 0


def test_missing_or_foreign_database_is_refused_without_creating_anything(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "hpo.db"
    with pytest.raises(StorageError, match="nope"):
        Reader(f"sqlite:///{missing}")
    assert not missing.parent.exists()
    foreign = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    reader = Reader(f"sqlite:///{foreign}")
    with pytest.raises(StorageError, match="hpo_schema"):
        reader.check_schema()


def test_password_never_shown() -> None:
    url = "postgresql://alice:s3cret-pw@db.example:5432/hpo"
    assert "s3cret" not in safe_url(url) and "***" in safe_url(url)
    from hpo.dashboard.server import banner

    assert not any("s3cret" in line for line in banner(safe_url(url), "127.0.0.1", 8080))


@pytest.mark.postgres
def test_postgres_password_stays_out_of_every_answer(pg_url: str, study_name: str) -> None:
    """Trust auth ignores the password, so a URL carrying one still connects."""
    from starlette.testclient import TestClient

    from hpo.dashboard.app import create_app

    study = make_study(pg_url, study_name, n=12)
    with_password = pg_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret-pw@")
    client = TestClient(create_app(with_password))
    for path in [
        "/api/info",
        "/api/studies",
        f"/api/studies/{study.id}",
        f"/api/studies/{study.id}/trials",
        "/api/studies/999999",
    ]:
        body = client.get(path).text
        assert "s3cret" not in body, path
    assert "***" in client.get("/api/info").json()["storage"]
