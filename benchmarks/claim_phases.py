"""Where a zero-cost trial's time goes on SQLite: a per-phase breakdown of the worker loop.

Runs ``--workers`` processes of the real worker loop (random sampler, objective
``x**2``) on one SQLite study for ``--seconds``, with the storage's driver connection
wrapped in timers, and prints microseconds per completed trial (summed over workers):

- ``checkout``: taking a connection from SQLAlchemy's pool and giving it back;
- ``lock wait``: ``BEGIN IMMEDIATE`` until it returns (SQLite's busy handler sleeps in
  steps of 1, 2, 5, 10 ... ms while another worker holds the write lock);
- ``lock held``: from the lock to ``COMMIT`` (the claim's statements, the proposal);
- ``commit``: ``COMMIT`` itself (the WAL write, and now and then a checkpoint);
- ``evaluate``: the objective and the checks of its result;
- ``rest``: everything else in the loop (the claim's Python outside the transaction,
  the trial handle, signals, callbacks);
- ``held CPU``: the CPU the claiming thread itself used from the lock to COMMIT's end
  (the rest of ``lock held`` + ``commit`` is time the holder waited for a core or the disk);
- ``CPU``: the processes' own CPU time.

The timers add a few microseconds per statement; compare phases with each other, and
runs with each other on the same machine. Example::

    PYTHONPATH=. python -m benchmarks.claim_phases --workers 1,4 --seconds 4
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

CTX = multiprocessing.get_context("forkserver")
PHASES = ("checkout", "lock wait", "lock held", "commit", "evaluate", "rest")
CPU = ("held CPU", "cpu")  # this thread's CPU from the lock to COMMIT's end; the whole process


def objective(params: dict[str, Any], reporter: Any) -> float:
    return float(params["x"]) ** 2


class _TimedConnection:
    """The sqlite3 connection, timing BEGIN IMMEDIATE, the lock's hold and COMMIT."""

    def __init__(self, conn: Any, acc: dict[str, float]) -> None:
        self._conn, self._acc = conn, acc
        self._locked_at, self._locked_cpu = 0.0, 0.0

    def execute(self, sql: str, *args: Any) -> Any:
        started = time.perf_counter()
        if sql == "COMMIT":
            self._acc["lock held"] += started - self._locked_at
        try:
            return self._conn.execute(sql, *args)
        finally:
            now = time.perf_counter()
            if sql == "BEGIN IMMEDIATE":
                self._acc["lock wait"] += now - started
                self._locked_at, self._locked_cpu = now, time.thread_time()
            elif sql == "COMMIT":
                self._acc["commit"] += now - started
                self._acc["held CPU"] += time.thread_time() - self._locked_cpu

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _TimedPooled:
    def __init__(self, pooled: Any, acc: dict[str, float]) -> None:
        self._pooled, self._acc = pooled, acc
        self.driver_connection = _TimedConnection(pooled.driver_connection, acc)

    def close(self) -> None:
        started = time.perf_counter()
        self._pooled.close()
        self._acc["checkout"] += time.perf_counter() - started

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pooled, name)


def _worker(url: str, name: str, seconds: float, barrier: Any, out: Any) -> None:
    import hpo.execution.worker as worker
    from hpo.study import load_study

    acc = dict.fromkeys((*PHASES, "held CPU"), 0.0)
    study = load_study(name, storage=url, objective=objective)
    engine = study.storage.engine
    raw_connection = engine.raw_connection

    def timed_raw_connection() -> Any:
        started = time.perf_counter()
        pooled = raw_connection()
        acc["checkout"] += time.perf_counter() - started
        return _TimedPooled(pooled, acc)

    engine.raw_connection = timed_raw_connection  # type: ignore[method-assign]
    evaluate = worker.evaluate

    def timed_evaluate(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return evaluate(*args, **kwargs)
        finally:
            acc["evaluate"] += time.perf_counter() - started

    worker.evaluate = timed_evaluate  # type: ignore[assignment]
    barrier.wait()
    cpu, wall = time.process_time(), time.perf_counter()
    stats = worker.worker_loop(study, n_trials=None, timeout=seconds)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    acc["rest"] = wall - sum(acc[p] for p in PHASES if p != "rest")
    out.put({**acc, "cpu": cpu, "done": stats.finished["COMPLETE"]})


def run(n_workers: int, seconds: float) -> dict[str, float]:
    """Per-phase microseconds per completed trial, and trials per second."""
    import hpo
    from hpo.space import Float

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'hpo.db'}"
        name = "phases"
        hpo.create_study(name, storage=url, space={"x": Float(-1, 1)}, objective=objective, seed=0)
        barrier, out = CTX.Barrier(n_workers), CTX.Queue()
        procs = [
            CTX.Process(target=_worker, args=(url, name, seconds, barrier, out))
            for _ in range(n_workers)
        ]
        for p in procs:
            p.start()
        results = [out.get(timeout=seconds + 120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
    done = max(sum(r["done"] for r in results), 1)
    row = {k: 1e6 * sum(r[k] for r in results) / done for k in (*PHASES, *CPU)}
    return {**row, "trials_per_s": done / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--workers", default="1,4")
    args = parser.parse_args()
    CTX.set_forkserver_preload(["hpo.study", "hpo.execution.worker"])
    print(f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}", flush=True)
    print("\n| workers | trials/s | " + " | ".join(PHASES) + " | held CPU | CPU (µs per trial) |")
    print("|---:|---:|" + "---:|" * (len(PHASES) + 2))
    for n in [int(w) for w in args.workers.split(",")]:
        r = run(n, args.seconds)
        cells = " | ".join(f"{r[p]:.0f}" for p in (*PHASES, *CPU))
        print(f"| {n} | {r['trials_per_s']:.0f} | {cells} |", flush=True)
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
