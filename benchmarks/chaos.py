"""Chaos run: N real ``hpo worker`` processes over a grid, random SIGKILLs and restarts.

Each worker is ``python -m hpo worker STUDY --objective benchmarks.chaos:objective`` in a
fresh interpreter. For ``--seconds`` a random worker is SIGKILLed every 0.2-1 s (mostly
one that is mid-trial) and a new one started in its place; then the workers are left
to finish the grid. Prints one line per storage:

    storage  kills  mid-trial  trials  complete  lost  duplicated  left RUNNING/WAITING  integrity
    wall

``lost``: grid points with no COMPLETE trial; ``duplicated``: points COMPLETE more than once.

    PYTHONPATH=. .venv/bin/python -m benchmarks.chaos --points 300 --workers 4 --seconds 120 \\
        --storage sqlite:////tmp/chaos.db --storage postgresql://postgres@127.0.0.1:5432/hpo_test
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from typing import Any

SLEEP_ENV = "HPO_CHAOS_SLEEP"


def objective(params: dict[str, Any], reporter: Any) -> float:
    """A few reported 'epochs' of HPO_CHAOS_SLEEP seconds in all (default 0.2)."""
    seconds = float(os.environ.get(SLEEP_ENV, "0.2"))
    for step in range(4):
        time.sleep(seconds / 4)
        reporter.report(step, float(params["b"]) / (step + 1))
    return float(params["b"]) + "pqrstuvwxyz".index(params["a"])


def _space(points: int) -> dict[str, Any]:
    from hpo.space import Categorical, Int

    b = max(1, points // 10)
    return {"a": Categorical(list("pqrstuvwxy")), "b": Int(1, b)}


def _worker(url: str, study: str, sleep: float) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        SLEEP_ENV: str(sleep),
        "HPO_THREADS_PER_WORKER": "1",
        "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hpo",
            "worker",
            study,
            "--storage",
            url,
            "--objective",
            "benchmarks.chaos:objective",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def run(
    url: str, *, points: int, workers: int, seconds: float, sleep: float, seed: int
) -> dict[str, Any]:
    import hpo
    from hpo.storage import sqlite_path
    from hpo.trial import TrialState

    name = f"chaos-{uuid.uuid4().hex[:8]}"
    study = hpo.create_study(
        name,
        storage=url,
        space=_space(points),
        sampler="grid",
        seed=seed,
        objective=objective,
        heartbeat_interval=0.5,
        grace_period=2.0,
        max_retries=100,
    )
    n_points = study.sampler.grid_size(study.space)
    rng = random.Random(seed)
    started = time.monotonic()
    procs = [_worker(url, name, sleep) for _ in range(workers)]
    kills = mid = 0
    while time.monotonic() - started < seconds:
        time.sleep(rng.uniform(0.2, 1.0))
        alive = [p for p in procs if p.poll() is None]
        if not alive:
            break
        busy = {int(t.worker_id.split(":")[-2]) for t in study.get_trials([TrialState.RUNNING])}
        mid_trial = [p for p in alive if p.pid in busy]
        candidates = mid_trial if rng.random() < 0.8 else alive
        if not candidates:
            continue
        victim = rng.choice(candidates)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        kills += 1
        mid += victim in mid_trial
        procs[procs.index(victim)] = _worker(url, name, sleep)
    errors = []
    for p in procs:
        _, err = p.communicate(timeout=600)
        if p.returncode != 0:
            errors.append(err.decode()[-300:])
    wall = time.monotonic() - started
    trials = study.trials
    complete = [t.grid_id for t in trials if t.state == TrialState.COMPLETE]
    integrity = "n/a"
    path = sqlite_path(url)
    if path is not None:
        with sqlite3.connect(path) as conn:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    hpo.delete_study(name, storage=url)
    return {
        "kills": kills,
        "mid_trial": mid,
        "trials": len(trials),
        "complete": len(complete),
        "lost": n_points - len(set(complete)),
        "duplicated": len(complete) - len(set(complete)),
        "left": sum(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in trials),
        "integrity": integrity,
        "wall_s": round(wall, 1),
        "worker_errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--storage", action="append", required=True)
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to keep killing")
    parser.add_argument("--sleep", type=float, default=0.2, help="seconds per trial")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(
        "storage | kills | mid-trial | trials | complete | lost | duplicated | left "
        "RUNNING/WAITING "
        "| integrity | wall s"
    )
    for url in args.storage:
        r = run(
            url,
            points=args.points,
            workers=args.workers,
            seconds=args.seconds,
            sleep=args.sleep,
            seed=args.seed,
        )
        backend = url.split(":", 1)[0]
        print(
            f"{backend} | {r['kills']} | {r['mid_trial']} | {r['trials']} | {r['complete']} | "
            f"{r['lost']} | {r['duplicated']} | {r['left']} | {r['integrity']} | {r['wall_s']}",
            flush=True,
        )
        for err in r["worker_errors"]:
            print(f"  worker error: {err}")


if __name__ == "__main__":
    main()
