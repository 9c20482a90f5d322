"""Issue 9 #4 and #5 on real processes: concurrent create_study calls, and a worker whose
study is deleted under it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hpo
from benchmarks.create_race import run_rounds
from hpo.space import Float

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("load_if_exists", [True, False])
def test_concurrent_creators_one_creates_the_others_load(storage_url, tmp_path, load_if_exists):
    """A bounded version of scripts/create_race.py (100 rounds x 8 processes there)."""
    sqlite_dir = tmp_path if storage_url.startswith("sqlite") else None
    report = run_rounds(
        storage_url, rounds=3, processes=4, load_if_exists=load_if_exists, sqlite_dir=sqlite_dir
    )
    assert report["failures"] == [], report["failures"][:3]
    assert report["creators_per_round"] == [1, 1, 1]
    if load_if_exists:
        assert report["loaded"] == 3 * 3
        assert report["same_id_per_round"] == [True, True, True]
    else:
        assert report["exists_errors"] == 3 * 3  # every loser: StudyExistsError, nothing else


@pytest.mark.slow
def test_a_worker_of_a_deleted_study_stops_and_writes_nothing_into_its_successor(
    storage_url, study_name
):
    """The worker is paused mid-trial while its study is deleted and a new one of the same
    name created, so its next write surely meets the successor (the case ids decide)."""
    hpo.create_study(
        study_name,
        storage=storage_url,
        space={"x": Float(-1, 1)},
        seed=0,
        heartbeat_interval=1.0,
        grace_period=30.0,
    )
    env = {**os.environ, "HPO_TEST_SLEEP": "0.5"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hpo",
            "worker",
            study_name,
            "--storage",
            storage_url,
            "--objective",
            "tests.execution.helpers:slow",
            "--trials",
            "200",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:  # two trials done, and the third one just started (inside its sleep)
            study = hpo.load_study(study_name, storage=storage_url)
            counts = study.counts()
            if counts.get("COMPLETE", 0) >= 2 and counts.get("RUNNING", 0) == 1:
                break
            assert worker.poll() is None and time.monotonic() < deadline, worker.communicate()
            time.sleep(0.05)
        time.sleep(0.1)
        worker.send_signal(signal.SIGSTOP)
        hpo.delete_study(study_name, storage=storage_url)
        successor = hpo.create_study(
            study_name, storage=storage_url, space={"y": Float(0, 1)}, seed=1
        )
        worker.send_signal(signal.SIGCONT)
        _, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGCONT)
            worker.kill()
    assert worker.returncode not in (0, None)
    assert "was deleted" in err, err[-2000:]  # (the tmp path holds "deleted" too)
    assert successor.trials == []
