"""Issue 9 #2: a study name never becomes a filesystem path; folders and files are private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import hpo
from hpo.errors import ConfigError
from hpo.paths import check_study_name, study_folder
from hpo.space import Float
from hpo.storage import Storage

SPACE = {"x": Float(0.0, 1.0)}

BAD_NAMES = [
    ("../../x", "'/'"),
    ("/abs/path", "'/'"),
    ("victim/.", "'/'"),
    ("a\\b", "'\\\\\\\\'"),
    ("..", "'..'"),
    ("x..y", "'..'"),
    ("a\x00b", "NUL"),
    ("a\nb", "control character"),
    ("a\x1bb", "control character"),
    ("a\u202eb", "control character"),  # right-to-left override
    ("a" * 10_000, "at most 200"),
    ("", "non-empty"),
    ("   ", "non-empty"),
    (" lead", "whitespace"),
]


def _write_weights(params, reporter):
    folder = reporter.artifact_dir()
    (folder / "weights.bin").write_text(str(params["x"]))
    return params["x"]


@pytest.mark.parametrize(("name", "why"), BAD_NAMES, ids=[repr(n[:12]) for n, _ in BAD_NAMES])
def test_unsafe_names_are_refused_on_both_backends_and_write_nothing(storage_url, name, why):
    before = Storage(storage_url).study_names()
    with pytest.raises(ConfigError, match=rf"'name' parameter of create_study.*{why}"):
        hpo.create_study(name, storage=storage_url, space=SPACE, objective=_write_weights)
    after = Storage(storage_url).study_names()
    if storage_url.startswith("sqlite"):
        assert after == before
    else:  # PostgreSQL is one database shared with concurrent tests: check our name only
        assert name not in after


def test_the_message_shows_the_offending_name():
    with pytest.raises(ConfigError, match=r"Got '\.\./\.\./x' instead"):
        check_study_name("../../x")
    with pytest.raises(ConfigError, match=r"\(10000 characters\)"):
        check_study_name("b" * 10_000)


def test_reasonable_names_pass():
    for name in ("digits-mlp", "Digits MLP v2", "a.b_c-d", "étude", "x" * 200, "1"):
        assert check_study_name(name) == name


def test_folders_derive_from_the_id_stay_inside_the_root_and_never_coincide(tmp_path):
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    root = tmp_path / "weights"
    a = hpo.create_study(
        "a b",
        storage=url,
        space=SPACE,
        objective=_write_weights,
        artifacts=str(root),
        keep_weights=1,
        seed=0,
    )
    b = hpo.create_study(
        "a?b",
        storage=url,
        space=SPACE,
        objective=_write_weights,
        artifacts=str(root),
        keep_weights=1,
        seed=1,
    )
    a.optimize(n_trials=3)
    b.optimize(n_trials=3)
    assert a.artifacts_root != b.artifacts_root  # same slug 'a-b', different studies
    for study in (a, b):
        assert study.artifacts_root.parent == root
        assert study.artifacts_root.name.startswith(f"study-{study.id}-a-b-")
        kept = sorted(p.name for p in study.artifacts_root.iterdir())
        assert kept == [f"trial-{study.best_trial.number}"]  # b's pruning left a's weights alone


def test_a_stored_legacy_name_still_resolves_inside_the_root(tmp_path):
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    store = Storage(url)  # a name written before names were checked
    store.create_study(
        name="../../escape",
        direction="minimize",
        space={"x": SPACE["x"].to_dict()},
        sampler={"name": "random"},
        objective={},
        settings={},
        user_attrs={},
        seed=0,
    )
    study = hpo.load_study("../../escape", storage=url)
    root = tmp_path / "artifacts"
    assert study.artifacts_root.parent == root
    assert study.artifacts_root.resolve().is_relative_to(root.resolve())
    assert study_folder(root, 7, "..", None).parent == root


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_file_and_artifact_folders_are_private(tmp_path, umask_022):
    url = f"sqlite:///{tmp_path / 'new' / 'hpo.db'}"
    study = hpo.create_study("private", storage=url, space=SPACE, objective=_write_weights)
    study.optimize(n_trials=1)
    assert _mode(tmp_path / "new") == 0o700
    assert _mode(tmp_path / "new" / "hpo.db") == 0o600
    assert _mode(tmp_path / "new" / "hpo.db-wal") == 0o600  # SQLite copies the database's mode
    for folder in (
        tmp_path / "new" / "artifacts",
        study.artifacts_root,
        study.artifacts_root / "trial-0",
    ):
        assert _mode(folder) == 0o700, folder


def test_an_explicit_file_mode_is_respected(tmp_path, umask_022):
    url = f"sqlite:///{tmp_path / 'shared' / 'hpo.db'}?file_mode=0660"
    hpo.list_studies(url)
    assert _mode(tmp_path / "shared" / "hpo.db") == 0o640  # 0660 less the umask's group write
    assert _mode(tmp_path / "shared") == 0o750
    with pytest.raises(ConfigError, match=r"'file_mode'.*'abc'"):
        hpo.list_studies(f"sqlite:///{tmp_path / 'x.db'}?file_mode=abc")
    assert not (tmp_path / "x.db").exists()
