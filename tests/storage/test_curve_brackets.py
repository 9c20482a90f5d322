"""Schema 5: each curve point carries its trial's Hyperband bracket (NULL otherwise).

On SQLite and PostgreSQL: the reporter and the importer write it; the migration fills it
in a schema-4 database (a file written by hpo at schema 4, and one made to look so here);
a migration that fails midway leaves schema 4 as it was; and a check counts the points
left without one through their trials' numbers, to the same result as marked points.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, text, update
from typer.testing import CliRunner

import hpo
from hpo.cli import app
from hpo.pruning import HyperbandPruner, make_pruner
from hpo.space import Float
from hpo.storage.bulk import add_trials
from hpo.storage.migrations import HEAD, REVISIONS
from hpo.storage.schema import IntermediateRow, StudyRow, TrialRow
from hpo.storage.storage import Storage
from hpo.trial import FrozenTrial, TrialState
from tests.storage._python_rule import assert_pruned_as_python_rule

FIXTURE = Path(__file__).parent / "fixtures" / "schema_v4.db"  # see make_schema_v4.py


def _objective(params: dict[str, Any], reporter: Any) -> float:
    for step in range(1, 10):
        reporter.report(step, params["x"] + 0.05 * (9 - step))
    return float(params["x"])


def _study(url: str, name: str, pruner: Any) -> hpo.Study:
    return hpo.create_study(
        name, space={"x": Float(0, 1)}, objective=_objective, storage=url, pruner=pruner,
        sampler="random", seed=0,
    )  # fmt: skip


def _points(store: Storage, study_id: int) -> list[tuple[int, int | None]]:
    """(trial number, stored bracket) of each of the study's curve points."""
    query = (
        select(TrialRow.number, IntermediateRow.bracket)
        .join(TrialRow, TrialRow.id == IntermediateRow.trial_id)
        .where(IntermediateRow.study_id == study_id)
    )
    with store.engine.connect() as conn:
        return [(n, b) for n, b in conn.execute(query)]


def _assert_brackets_as_the_pruner_says(store: Storage) -> None:
    """Every point of a Hyperband study carries its trial's bracket; others carry NULL."""
    with store.engine.connect() as conn:
        studies = conn.execute(select(StudyRow.id, StudyRow.settings)).all()
    for study_id, settings in studies:
        pruner = make_pruner(settings.get("pruner"))
        points = _points(store, study_id)
        assert points
        assert [b for _, b in points] == [pruner.bracket_of(n) for n, _ in points], study_id


def test_the_reporter_writes_each_points_bracket(storage_url, study_name):
    hb = _study(storage_url, f"{study_name}-hb", HyperbandPruner(1, 9, 3, seed=2))
    hb.optimize(20, show_progress=False)
    asha = _study(storage_url, f"{study_name}-asha", "asha")
    asha.optimize(4, show_progress=False)
    points = _points(hb.storage, hb.id)
    assert len({b for _, b in points}) > 1  # several brackets
    assert all(b == hb.pruner.bracket_of(n) for n, b in points)
    assert {b for _, b in _points(asha.storage, asha.id)} == {None}


def test_imported_points_carry_their_bracket(storage_url, study_name):
    study = _study(storage_url, study_name, HyperbandPruner(1, 9, 3))
    curve = {1: 0.4, 3: 0.3, 9: 0.1}
    trials = [
        FrozenTrial(k, TrialState.COMPLETE, {"x": 0.5}, 0.1, intermediate=curve) for k in range(8)
    ]
    add_trials(study.storage, study.id, trials, study.pruner.bracket_of)
    points = _points(study.storage, study.id)
    assert len(points) == 24 and len({b for _, b in points}) > 1
    assert all(b == study.pruner.bracket_of(n) for n, b in points)


@pytest.mark.parametrize("seed", [0, 5])
def test_points_without_a_bracket_are_counted_by_their_number(storage_url, study_name, seed):
    """A point left NULL (written before schema 5, or by hand) counts where its number
    says: the check over a mix equals the check that tests every number."""
    pruner = HyperbandPruner(1, 9, 3, seed=seed)
    study = _study(storage_url, study_name, pruner)
    study.optimize(30, show_progress=False)
    store = study.storage
    ids = [t.trial_id for t in study.get_trials()]
    forget = [int(i) for i in np.random.default_rng(seed).choice(ids, size=len(ids) // 2)]
    with store.engine.begin() as conn:
        conn.execute(
            update(IntermediateRow).where(IntermediateRow.trial_id.in_(forget)).values(bracket=None)
        )
    assert {b for _, b in _points(store, study.id)} >= {None, 0, 1}
    states = [TrialState(s) for s in pruner.peer_states]
    for number in range(0, 32, 3):
        among = pruner.peers_among(number)
        by_number = dataclasses.replace(among, bracket=None)
        for step in range(1, 10):
            for than, median in ((0.5, False), (0.3, True), (None, False)):
                ask = dict(exclude=number, than=than, maximize=False, median=median)
                stats = store.peer_stats(study.id, states, step, among=among, **ask)
                assert stats == store.peer_stats(study.id, states, step, among=by_number, **ask)


def _sql(path: Path, query: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture
def v4_db(tmp_path: Path) -> Path:
    path = tmp_path / "v4.db"
    shutil.copy(FIXTURE, path)
    return path


def test_upgrade_fills_the_brackets_of_a_file_written_at_schema_4(v4_db: Path) -> None:
    points = "SELECT trial_id, study_id, step, value FROM intermediate_values ORDER BY 1, 3"
    before = _sql(v4_db, points)
    url = f"sqlite:///{v4_db}"
    result = CliRunner().invoke(app, ["db", "upgrade", "--storage", url])
    assert result.exit_code == 0, result.output
    assert REVISIONS[5] in result.output
    assert _sql(v4_db, points) == before
    store = Storage(url)
    _assert_brackets_as_the_pruner_says(store)
    store.dispose()
    assert _sql(v4_db, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert _sql(v4_db, "PRAGMA integrity_check") == [("ok",)]

    # The upgraded Hyperband study goes on, pruned as its Python rule says throughout.
    study = hpo.load_study("hyperband-v4", storage=url, objective=_objective)
    study.optimize(8, show_progress=False)
    pruner = study.pruner
    assert_pruned_as_python_rule(
        [t for t in study.get_trials(with_curves=True) if t.state != TrialState.RUNNING],
        lambda n, step, curve, peers: pruner.prune_trial(n, step, curve, peers, maximize=False),
    )
    _assert_brackets_as_the_pruner_says(study.storage)


def _schema(path: Path) -> list[tuple]:
    return _sql(path, "SELECT type, name, sql FROM sqlite_master ORDER BY name")


def _fail_after(monkeypatch: pytest.MonkeyPatch, calls: int) -> None:
    """Make the migration's bracket computation fail after ``calls`` trials."""
    real = HyperbandPruner.bracket
    done = [0]

    def bracket(self: HyperbandPruner, number: int) -> int:
        done[0] += 1
        if done[0] > calls:
            raise RuntimeError("the disk is full")
        return real(self, number)

    monkeypatch.setattr(HyperbandPruner, "bracket", bracket)


def test_a_failed_upgrade_leaves_schema_4_as_it_was(v4_db: Path, monkeypatch) -> None:
    tables = (
        "studies",
        "trials",
        "intermediate_values",
        "hpo_schema",
        "alembic_version",
    )  # keys first
    before = {t: sorted(_sql(v4_db, f"SELECT * FROM {t}")) for t in tables}
    schema = _schema(v4_db)
    _fail_after(monkeypatch, 40)  # past the first Hyperband study (31 trials), in the second
    store = Storage(f"sqlite:///{v4_db}", check_schema=False)
    with pytest.raises(RuntimeError, match="disk is full"):
        store.upgrade_schema()
    store.dispose()
    assert _schema(v4_db) == schema
    assert {t: sorted(_sql(v4_db, f"SELECT * FROM {t}")) for t in tables} == before

    monkeypatch.undo()  # the same file upgrades once the cause is gone
    store = Storage(f"sqlite:///{v4_db}", check_schema=False)
    assert store.upgrade_schema() == [REVISIONS[5]]
    _assert_brackets_as_the_pruner_says(store)
    store.dispose()


def _back_to_schema_4(store: Storage) -> None:
    """Make a database written here look as hpo at schema 4 left it."""
    with store.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_intermediate_study_step_bracket_value"))
        conn.execute(text("ALTER TABLE intermediate_values DROP COLUMN bracket"))
        conn.execute(
            text(
                "CREATE INDEX ix_intermediate_study_step_value "
                "ON intermediate_values (study_id, step, value)"
            )
        )
        conn.execute(text(f"UPDATE alembic_version SET version_num = '{REVISIONS[4]}'"))
        conn.execute(text("UPDATE hpo_schema SET value = '4' WHERE key = 'schema_version'"))


def _columns(store: Storage) -> list[str]:
    from sqlalchemy import inspect

    return [c["name"] for c in inspect(store.engine).get_columns("intermediate_values")]


def test_upgrade_from_schema_4_on_each_backend(fresh_url, monkeypatch):
    """The same migration on SQLite and PostgreSQL: a failure midway changes nothing, the
    retry fills every Hyperband point."""
    for name, pruner in [("a", HyperbandPruner(1, 9, 3)), ("b", HyperbandPruner(1, 27, 3, 7))]:
        _study(fresh_url, name, pruner).optimize(12, show_progress=False)
    _study(fresh_url, "c", "median").optimize(3, show_progress=False)
    store = Storage(fresh_url)
    _back_to_schema_4(store)
    store.dispose()

    _fail_after(monkeypatch, 16)  # in the second study
    store = Storage(fresh_url, check_schema=False)
    with pytest.raises(RuntimeError, match="disk is full"):
        store.upgrade_schema()
    assert "bracket" not in _columns(store)
    with store.engine.connect() as conn:
        version = "SELECT value FROM hpo_schema WHERE key = 'schema_version'"
        assert conn.execute(text(version)).scalar() == "4"
    store.dispose()

    monkeypatch.undo()
    store = Storage(fresh_url, check_schema=False)
    assert store.upgrade_schema() == [REVISIONS[5]]
    store.dispose()
    store = Storage(fresh_url)  # opens at schema 5
    _assert_brackets_as_the_pruner_says(store)
    store.dispose()
