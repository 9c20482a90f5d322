"""Durability is a choice made in the SQLite URL: ?synchronous=normal (default) or full."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import hpo
from hpo.errors import ConfigError
from hpo.storage import Storage

LEVELS = {"off": 0, "normal": 1, "full": 2, "extra": 3}


@pytest.mark.parametrize(
    ("query", "level"),
    [
        ("", "normal"),
        ("?synchronous=full", "full"),
        ("?synchronous=FULL", "full"),
        ("?synchronous=normal", "normal"),
    ],
)
def test_synchronous_level_is_applied_to_every_connection(tmp_path, query, level):
    store = Storage(f"sqlite:///{tmp_path / 'hpo.db'}{query}")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == LEVELS[level]
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    store.dispose()


def test_a_study_runs_with_full_durability(tmp_path):
    url = f"sqlite:///{tmp_path / 'hpo.db'}?synchronous=full"
    study = hpo.create_study(
        "s", storage=url, space={"x": hpo.space.Float(0, 1)}, objective=lambda p, r: p["x"], seed=0
    )
    study.optimize(n_trials=3)
    assert hpo.load_study("s", storage=url).counts() == {"COMPLETE": 3}
    assert study.artifacts_root.parent == tmp_path / "artifacts"  # the option is not in the path


def test_unknown_level_is_refused_naming_it(tmp_path):
    with pytest.raises(ConfigError, match=r"'synchronous' option.*Got 'fast'"):
        Storage(f"sqlite:///{tmp_path / 'hpo.db'}?synchronous=fast")
    assert not (tmp_path / "hpo.db").exists()
