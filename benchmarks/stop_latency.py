"""Seconds from a signal to ``hpo run --workers 2`` stopping: workers gone, then the run's exit.

Runs ``tests/cli/quadratic_study.py`` (a 1 s ``time.sleep`` per trial) in its own session,
waits until both workers are mid-trial, sends the signal to the process group (as a
terminal's Ctrl-C does) and times how long the worker processes and the run take to go.

    PYTHONPATH=. .venv/bin/python -m benchmarks.stop_latency SIGINT SIGTERM --repeat 3
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUDY_FILE = Path(__file__).parents[1] / "tests" / "cli" / "quadratic_study.py"


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def _running(db: str) -> list[int]:
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT worker_id FROM trials WHERE state = 'RUNNING'").fetchall()
    except sqlite3.Error:
        return []
    return [int(w.split(":")[-2]) for (w,) in rows]


def measure(sig: signal.Signals) -> tuple[float, float, int, str]:
    """(workers gone s, run exited s, exit status, last stderr line) for one stop."""
    db = os.path.join(tempfile.mkdtemp(prefix="hpo-stop-"), "hpo.db")
    env = {**os.environ, "QUADRATIC_SLEEP": "1.0"}
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hpo",
            "run",
            str(STUDY_FILE),
            "--workers",
            "2",
            "--trials",
            "30",
            "--storage",
            f"sqlite:///{db}",
            "--no-progress",
        ],
        env=env,
        start_new_session=True,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    while len(pids := _running(db)) < 2:
        time.sleep(0.1)
    started = time.monotonic()
    os.killpg(run.pid, sig)
    while any(_alive(p) for p in pids):
        time.sleep(0.01)
    gone = time.monotonic() - started
    _, err = run.communicate(timeout=120)
    lines = err.strip().splitlines()
    return gone, time.monotonic() - started, run.returncode, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("signals", nargs="+", choices=["SIGINT", "SIGTERM"])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    for name in args.signals:
        for _ in range(args.repeat):
            gone, exited, code, line = measure(signal.Signals[name])
            print(
                f"{name}: workers gone {gone:.2f} s, hpo run exited {exited:.2f} s "
                f"(status {code}): {line}",
                flush=True,
            )


if __name__ == "__main__":
    main()
