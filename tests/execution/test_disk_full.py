"""A database that fills up mid-run: the worker stops with one clear line, nothing is corrupted,
and its running trial is released (not left RUNNING until its heartbeat goes stale).

A small tmpfs needs mount privileges; instead every SQLite connection of the worker process
gets ``PRAGMA max_page_count`` (a ``sitecustomize`` module on its PYTHONPATH), so SQLite
itself answers "database or disk is full" exactly as on a full disk. The worker is the real
``python -m hpo worker`` command in a fresh process.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import hpo
from hpo.space import Float
from hpo.trial import TrialState
from tests.execution.helpers import FAST_SETTINGS

CAP = """
import os
from sqlalchemy import event
from sqlalchemy.pool import Pool

@event.listens_for(Pool, "connect")
def _cap(dbapi_connection, _record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.execute("PRAGMA max_page_count=" + os.environ["HPO_TEST_MAX_PAGES"])
"""


def _worker(
    url: str, name: str, *, cap_dir: Path | None, max_pages: int = 0
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HPO_THREADS_PER_WORKER": "1", "COLUMNS": "200"}
    env.pop("HPO_STORAGE", None)
    paths = [str(cap_dir)] if cap_dir is not None else []
    env["PYTHONPATH"] = os.pathsep.join([*paths, os.getcwd()])
    env["HPO_TEST_MAX_PAGES"] = str(max_pages)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "hpo",
            "worker",
            name,
            "--storage",
            url,
            "--trials",
            "30",
            "--objective",
            "tests.execution.helpers:chatty",
            "--no-progress",
        ],  # stderr: only what went wrong, no progress lines
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )


def _pragma(path: Path, pragma: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {pragma}").fetchone()[0]


@pytest.mark.slow
def test_disk_full_stops_cleanly_and_releases_the_running_trial(tmp_path, study_name):
    db = tmp_path / "hpo.db"
    url = f"sqlite:///{db}"
    study = hpo.create_study(
        study_name, storage=url, space={"x": Float(0.0, 1.0)}, seed=0, **FAST_SETTINGS
    )
    cap_dir = tmp_path / "cap"
    cap_dir.mkdir()
    (cap_dir / "sitecustomize.py").write_text(CAP)
    pages = int(_pragma(db, "page_count"))

    full = _worker(url, study_name, cap_dir=cap_dir, max_pages=pages + 8)
    assert full.returncode == 1, full.stderr
    lines = [line for line in full.stderr.splitlines() if line.strip()]
    assert "Traceback" not in full.stderr and len(lines) <= 3, full.stderr  # no cascade of errors
    assert lines[-1].startswith("Error:") and "database or disk is full" in lines[-1]
    assert _pragma(db, "integrity_check") == "ok"
    trials = study.trials
    assert 0 < sum(t.state == TrialState.COMPLETE for t in trials) < 30
    assert not [t for t in trials if t.state == TrialState.RUNNING]  # released on the way out
    for t in trials:  # a trial stopped mid-way says why
        assert t.state in (TrialState.COMPLETE, TrialState.WAITING) or "disk is full" in t.error, t

    again = _worker(url, study_name, cap_dir=None)  # space freed: the study goes on to the total
    assert again.returncode == 0, again.stderr
    assert _pragma(db, "integrity_check") == "ok"
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) == 30
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
