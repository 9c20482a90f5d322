"""Issue 9 #10, #11, #13 in real processes: passwords never printed, read-only commands
import nothing named in the database, a huge --trial number is a plain answer."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import hpo
from hpo.space import Float
from hpo.storage.engine import display_url
from tests.conftest import require_postgres

STUDY_FILE = Path(__file__).with_name("quadratic_study.py")
PASSWORD = "s3cr3t-pw"


def run_hpo(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "QUADRATIC_SLEEP": "0"}
    env.pop("HPO_STORAGE", None)
    return subprocess.run(
        [sys.executable, "-m", "hpo", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_display_url_masks_the_password():
    assert (
        display_url(f"postgresql://hpo:{PASSWORD}@db:5432/hpo")
        == "postgresql://hpo:***@db:5432/hpo"
    )
    assert PASSWORD not in display_url(f"postgresql+psycopg://u:{PASSWORD}@h/db?sslmode=require")
    assert PASSWORD not in display_url(f"not a url://u:{PASSWORD}@h/db")


@pytest.fixture
def private_pg() -> Iterator[str]:
    """A PostgreSQL database of this test's own (the shared one may hold a 'quadratic')."""
    import uuid

    import psycopg

    base = require_postgres()
    name = f"hpo_mask_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_password_is_masked_in_run_show_and_studies(tmp_path, private_pg):
    # trust auth: the password is accepted and ignored, so the URL works as given
    url = private_pg.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@", 1)
    assert PASSWORD in url
    outputs = [
        run_hpo("run", STUDY_FILE, "--trials", "2", "--storage", url, cwd=tmp_path),
        run_hpo("show", "quadratic", "--storage", url, cwd=tmp_path),
        run_hpo("studies", "--storage", url, cwd=tmp_path),
    ]
    for done in outputs:
        assert done.returncode == 0, done.stderr
        assert PASSWORD not in done.stdout + done.stderr
    assert "postgres:***@" in outputs[0].stdout  # the banner still says where
    assert "***" in outputs[1].stdout and "***" in outputs[2].stdout


EVIL = """
from pathlib import Path
Path(__file__).with_name("EVIL_RAN").write_text("imported")

def fn(params, reporter):
    return 0.0
"""


@pytest.mark.slow
def test_read_only_commands_import_no_code_named_in_the_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    study = hpo.create_study("s", storage=url, space={"x": Float(0, 1)}, seed=0)
    trial = study.ask()
    study.tell(trial, 1.0)
    (tmp_path / "evil_mod.py").write_text(EVIL)
    with sqlite3.connect(tmp_path / "hpo.db") as conn:  # someone edits the database
        conn.execute("""UPDATE studies SET objective = '{"callable": "evil_mod:fn"}'""")
    for args in (
        ["leaderboard", "s"],
        ["show", "s"],
        ["show", "s", "--trial", "0"],
        ["export", "s"],
        ["export", "s", "--format", "json"],
        ["studies"],
    ):
        done = run_hpo(*args, "--storage", url, cwd=tmp_path)
        assert done.returncode == 0, (args, done.stderr)
        assert not (tmp_path / "EVIL_RAN").exists(), args
    # the Python API reads without importing either; only running the study imports it
    loaded = hpo.load_study("s", storage=url)
    loaded.leaderboard()
    assert not (tmp_path / "EVIL_RAN").exists()


def test_huge_trial_number_is_a_clear_answer(tmp_path):
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    study = hpo.create_study("s", storage=url, space={"x": Float(0, 1)}, seed=0)
    study.tell(study.ask(), 0.5)
    done = run_hpo("show", "s", "--trial", str(10**30), "--storage", url, cwd=tmp_path)
    assert done.returncode == 2
    assert f"has no trial #{10**30}" in done.stderr and "Unexpected" not in done.stderr
