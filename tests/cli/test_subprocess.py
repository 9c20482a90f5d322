"""The real thing: ``python -m hpo`` in fresh processes, 2 worker processes, one SQLite file.

This is the path a person takes: the study file's objective must travel to the local
worker processes by value (cloudpickle), and a separate ``hpo worker`` process, which
cannot import the study file by module name, must be told where the objective lives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

STUDY_FILE = Path(__file__).with_name("quadratic_study.py")


def hpo(*args: object, cwd: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", "QUADRATIC_SLEEP": "0.05", **extra_env}
    env.pop("HPO_STORAGE", None)
    return subprocess.run(
        [sys.executable, "-m", "hpo", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_run_with_two_workers_then_join_with_a_worker_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    run = hpo(
        "run",
        STUDY_FILE,
        "--workers",
        "2",
        "--trials",
        "10",
        "--storage",
        url,
        cwd=tmp_path,
        QUADRATIC_RENDEZVOUS=str(tmp_path / "rendezvous"),
    )  # both workers get trials
    assert run.returncode == 0, run.stderr
    assert "10 complete" in run.stdout
    assert "Traceback" not in run.stderr

    board = hpo(
        "leaderboard", "quadratic", "--storage", url, "--format", "json", "--top", "0", cwd=tmp_path
    )
    records = json.loads(board.stdout)
    assert len(records) == 10
    exported = json.loads(
        hpo("export", "quadratic", "--storage", url, "--format", "json", cwd=tmp_path).stdout
    )
    assert len({r["worker"] for r in exported}) == 2  # both worker processes ran trials

    # A fresh process cannot import the study file's module: it must be told where the objective is.
    lost = hpo("worker", "quadratic", "--storage", url, "--trials", "12", cwd=tmp_path)
    assert lost.returncode == 2
    assert lost.stderr.strip().startswith(
        "Error: Study 'quadratic' was made with a callable objective"
    )
    joined = hpo(
        "worker",
        "quadratic",
        "--storage",
        url,
        "--trials",
        "12",
        "--objective",
        f"{STUDY_FILE}:objective",
        cwd=tmp_path,
    )
    assert joined.returncode == 0, joined.stderr
    assert "12 complete" in joined.stdout


@pytest.mark.slow
def test_unknown_study_in_a_real_process_is_one_red_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    assert hpo("run", STUDY_FILE, "--trials", "2", "--storage", url, cwd=tmp_path).returncode == 0
    result = hpo("show", "missing", "--storage", url, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: No study named 'missing' in Storage('{url}'). Studies here: ['quadratic']."
    ]
