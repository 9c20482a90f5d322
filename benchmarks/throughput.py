"""Trial throughput of many worker processes on one study, with a near-zero objective.

What one run measures, per system and worker count: completed trials per second over a
fixed window (all workers start together on a barrier), p99 claim latency, errors that
reached the worker (lock errors among them), and lost / duplicate trials. Systems:

- ``hpo-sqlite``, ``hpo-pg``: our worker loop (random sampler) on a SQLite file / PostgreSQL;
  ``hpo-sqlite-full``: the same on SQLite with ``?synchronous=full`` (hpo's default is NORMAL).
- ``optuna-rdb``, ``optuna-rdb-wal``: Optuna's RDBStorage on a SQLite file, default journal
  and WAL (both at SQLite's default ``synchronous=FULL``); ``optuna-rdb-wal-normal``: WAL
  with ``synchronous=NORMAL`` like hpo's default; ``optuna-journal``: Optuna's
  JournalStorage(JournalFileBackend).
- ``raw-sqlite``: the limit: bare ``sqlite3`` in WAL, per trial one BEGIN IMMEDIATE claim
  (read counter, insert, bump) and one completing UPDATE.

And throughput of one hpo worker on SQLite as the study grows (``--sizes``), prefilled in bulk.

Example (the configuration in benchmarks/README.md)::

    python -m benchmarks.throughput --seconds 4 --workers 1,2,4,8 \\
        --pg postgresql://postgres@127.0.0.1:5432/hpo_test
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

CTX = multiprocessing.get_context("forkserver")
SYSTEMS = (
    "hpo-sqlite",
    "hpo-sqlite-full",
    "hpo-pg",
    "optuna-rdb",
    "optuna-rdb-wal",
    "optuna-rdb-wal-normal",
    "optuna-journal",
    "raw-sqlite",
)


def objective(params: dict[str, Any], reporter: Any) -> float:
    return float(params["x"]) ** 2


# ------------------------------------------------------------------ one worker of each system
def _hpo_worker(url: str, name: str, seconds: float, barrier: Any, out: Any) -> None:
    import hpo.execution.worker as worker
    from hpo.study import load_study

    latencies: list[float] = []
    claim = worker.claim_next

    def timed_claim(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return claim(*args, **kwargs)
        finally:
            latencies.append(time.perf_counter() - t)

    worker.claim_next = timed_claim  # type: ignore[assignment]
    study = load_study(name, storage=url, objective=objective)
    errors: list[str] = []
    done = 0
    barrier.wait()
    cpu = time.process_time()
    try:
        stats = worker.worker_loop(study, n_trials=None, timeout=seconds)
        done = stats.finished["COMPLETE"]
    except Exception as e:  # noqa: BLE001 - counted and reported
        errors.append(f"{type(e).__name__}: {e}")
    cpu = time.process_time() - cpu
    out.put({"done": done, "latencies": latencies, "errors": errors, "cpu": cpu})


def _optuna_worker(
    storage_spec: tuple[str, str], name: str, seconds: float, barrier: Any, out: Any
) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    kind, where = storage_spec
    if kind == "journal":
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        storage: Any = JournalStorage(JournalFileBackend(where))
    else:
        if kind == "rdb-normal":  # Optuna has no option for it: set it on every connection
            from sqlalchemy import Engine, event

            event.listen(
                Engine, "connect", lambda conn, _: conn.execute("PRAGMA synchronous=NORMAL")
            )
        storage = optuna.storages.RDBStorage(where)
    study = optuna.load_study(
        study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=os.getpid())
    )
    mine: list[int] = []

    def obj(trial: Any) -> float:
        mine.append(trial.number)
        return trial.suggest_float("x", -1, 1) ** 2

    errors: list[str] = []
    barrier.wait()
    cpu = time.process_time()
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            study.optimize(obj, timeout=left)
        except Exception as e:  # noqa: BLE001 - a storage error ends optimize(): count, go on
            errors.append(f"{type(e).__name__}: {e}")
    cpu = time.process_time() - cpu
    out.put({"done": len(mine), "latencies": [], "errors": errors, "cpu": cpu})


def _raw_worker(path: str, seconds: float, barrier: Any, out: Any) -> None:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    latencies: list[float] = []
    errors: list[str] = []
    done = 0
    barrier.wait()
    cpu = time.process_time()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            t = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            (number,) = conn.execute("SELECT next FROM counter WHERE id = 1").fetchone()
            cur = conn.execute(
                "INSERT INTO trials (number, state, params) VALUES (?, 'RUNNING', ?)",
                (number, json.dumps({"x": 0.5})),
            )
            conn.execute("UPDATE counter SET next = ? WHERE id = 1", (number + 1,))
            conn.execute("COMMIT")
            latencies.append(time.perf_counter() - t)
            conn.execute(
                "UPDATE trials SET state = 'COMPLETE', value = ? WHERE id = ?",
                (0.25, cur.lastrowid),
            )
            done += 1
        except sqlite3.Error as e:
            errors.append(str(e))
            conn.execute("ROLLBACK") if conn.in_transaction else None
    cpu = time.process_time() - cpu
    out.put({"done": done, "latencies": latencies, "errors": errors, "cpu": cpu})


# ------------------------------------------------------------------ setting up and checking
def _setup(system: str, folder: Path, pg: str | None) -> tuple[Any, tuple[Any, ...], Any]:
    """(worker function, its leading args, a checker returning (n_trials, lost, duplicates))."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    if system.startswith("hpo"):
        import hpo
        from hpo.space import Float

        url = {
            "hpo-sqlite": f"sqlite:///{folder / 'hpo.db'}",
            "hpo-sqlite-full": f"sqlite:///{folder / 'hpo.db'}?synchronous=full",
        }.get(system, pg)
        study = hpo.create_study(
            name,
            storage=url,
            space={"x": Float(-1, 1)},
            objective=objective,
            sampler="random",
            seed=0,
        )

        def check(total: int) -> tuple[int, int, int]:
            trials = study.trials
            numbers = [t.number for t in trials]
            duplicates = len(numbers) - len(set(numbers))
            complete = sum(t.state.value == "COMPLETE" for t in trials)
            lost = (
                len(set(range(max(numbers, default=-1) + 1)) - set(numbers))
                + abs(complete - total)
                + sum(t.state.value == "RUNNING" for t in trials)
            )
            return complete, lost, duplicates

        return _hpo_worker, (url, name), check
    if system.startswith("optuna"):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        if system == "optuna-journal":
            from optuna.storages.journal import JournalFileBackend, JournalStorage

            spec = ("journal", str(folder / "optuna.log"))
            storage: Any = JournalStorage(JournalFileBackend(spec[1]))
        else:
            path = folder / "optuna.db"
            if system.startswith("optuna-rdb-wal"):  # WAL is a property of the file: set it first
                with sqlite3.connect(path) as c:
                    c.execute("PRAGMA journal_mode=WAL")
            spec = ("rdb-normal" if system.endswith("-normal") else "rdb", f"sqlite:///{path}")
            storage = optuna.storages.RDBStorage(spec[1])
        optuna.create_study(study_name=name, storage=storage)

        def check(total: int) -> tuple[int, int, int]:
            trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
            numbers = [t.number for t in trials]
            complete = sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
            return complete, abs(complete - total), len(numbers) - len(set(numbers))

        return _optuna_worker, (spec, name), check
    path = str(folder / "raw.db")
    with sqlite3.connect(path) as c:
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, next INTEGER)")
        c.execute("INSERT INTO counter VALUES (1, 0)")
        c.execute(
            "CREATE TABLE trials (id INTEGER PRIMARY KEY, number INTEGER UNIQUE, state TEXT, "
            "params TEXT, value REAL)"
        )

    def check_raw(total: int) -> tuple[int, int, int]:
        with sqlite3.connect(path) as c:
            numbers = [n for (n,) in c.execute("SELECT number FROM trials")]
            complete = c.execute("SELECT count(*) FROM trials WHERE state='COMPLETE'").fetchone()[0]
        return complete, abs(complete - total), len(numbers) - len(set(numbers))

    return _raw_worker, (path,), check_raw


def run_one(system: str, n_workers: int, seconds: float, pg: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        fn, args, check = _setup(system, Path(tmp), pg)
        barrier, out = CTX.Barrier(n_workers), CTX.Queue()
        procs = [
            CTX.Process(target=fn, args=(*args, seconds, barrier, out)) for _ in range(n_workers)
        ]
        for p in procs:
            p.start()
        results = [out.get(timeout=seconds + 120) for _ in procs]
        codes = [(p.join(timeout=60), p.exitcode)[1] for p in procs]
        total = sum(r["done"] for r in results)
        complete, lost, duplicates = check(total)
    latencies = sorted(x for r in results for x in r["latencies"])
    errors = [e for r in results for e in r["errors"]]
    return {
        "system": system,
        "workers": n_workers,
        "trials_per_s": complete / seconds,
        "p99_claim_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else None,
        # the workers' own CPU per completed trial: what the machine's load does not inflate
        "cpu_us_per_trial": 1e6 * sum(r["cpu"] for r in results) / max(complete, 1),
        "errors": len(errors) + sum(c != 0 for c in codes),
        "lock_errors": sum("locked" in e or "busy" in e for e in errors),
        "lost": lost,
        "duplicates": duplicates,
        "first_error": errors[0][:120] if errors else "",
    }


def _prefill(url: str, name: str, n: int) -> None:
    """Insert ``n`` completed trials in bulk (what a long study leaves behind)."""
    from sqlalchemy import insert, update

    from hpo.storage import get_storage, utcnow
    from hpo.storage.schema import StudyRow, TrialRow

    store = get_storage(url)
    study_id = store.get_study(name).id
    now = utcnow()
    rows = [
        {
            "study_id": study_id,
            "number": i,
            "state": "COMPLETE",
            "params": {"x": 0.1},
            "value": float(i % 997),
            "metrics": {},
            "user_attrs": {},
            "started_at": now,
            "finished_at": now,
        }
        for i in range(n)
    ]
    store.tx.run(
        lambda s: (
            s.execute(insert(TrialRow), rows) if rows else None,
            s.execute(update(StudyRow).where(StudyRow.id == study_id).values(next_number=n)),
        )
    )


def run_size(size: int, seconds: float) -> dict[str, Any]:
    """One hpo worker on SQLite, on a study that already holds ``size`` trials."""
    with tempfile.TemporaryDirectory() as tmp:
        _, (url, name), _ = _setup("hpo-sqlite", Path(tmp), None)
        _prefill(url, name, size)
        barrier, out = CTX.Barrier(1), CTX.Queue()
        p = CTX.Process(target=_hpo_worker, args=(url, name, seconds, barrier, out))
        p.start()
        result = out.get(timeout=seconds + 120)
        p.join(timeout=60)
    lat = sorted(result["latencies"])
    return {
        "size": size,
        "trials_per_s": result["done"] / seconds,
        "p99_claim_ms": 1000 * lat[int(0.99 * (len(lat) - 1))] if lat else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--sizes", default="0,1000,10000")
    parser.add_argument("--pg", default=os.environ.get("HPO_PG_URL"))
    args = parser.parse_args()
    CTX.set_forkserver_preload(
        ["hpo.study", "hpo.execution.worker", "hpo.samplers.gp.sampler", "optuna"]
    )
    print(f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}", flush=True)
    rows = []
    for system in args.systems.split(","):
        if system == "hpo-pg" and not args.pg:
            print("skipping hpo-pg: no --pg URL")
            continue
        for n in [int(w) for w in args.workers.split(",")]:
            row = run_one(system, n, args.seconds, args.pg)
            rows.append(row)
            print(json.dumps(row), flush=True)
    by = {(r["system"], r["workers"]): r["trials_per_s"] for r in rows}
    columns = "system | workers | trials/s | p99 claim ms | CPU us/trial | errors (lock) | lost"
    print(f"\n| {columns} | dup |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        p99 = f"{r['p99_claim_ms']:.1f}" if r["p99_claim_ms"] is not None else "-"
        print(
            f"| {r['system']} | {r['workers']} | {r['trials_per_s']:.0f} | {p99} | "
            f"{r['cpu_us_per_trial']:.0f} | "
            f"{r['errors']} ({r['lock_errors']}) | {r['lost']} | {r['duplicates']} |"
        )
    cpu = {(r["system"], r["workers"]): r["cpu_us_per_trial"] for r in rows}
    for n in sorted({r["workers"] for r in rows}):
        ours = by.get(("hpo-sqlite", n))
        if ours:
            parts = [
                f"{other} {ours / by[(other, n)]:.1f}x"
                for other in ("optuna-rdb-wal", "optuna-rdb", "optuna-journal")
                if by.get((other, n))
            ]
            raw = by.get(("raw-sqlite", n))
            parts.append(f"raw limit {100 * ours / raw:.1f}%" if raw else "")
            if raw:
                raw_cpu, our_cpu = cpu[("raw-sqlite", n)], cpu[("hpo-sqlite", n)]
                parts.append(f"CPU per trial raw/hpo {100 * raw_cpu / our_cpu:.1f}%")
            print(f"hpo-sqlite at {n} workers vs: " + ", ".join(p for p in parts if p))
    if args.sizes:
        print("\n| study size | trials/s (1 worker, SQLite) | p99 claim ms |\n|---:|---:|---:|")
        for size in [int(s) for s in args.sizes.split(",")]:
            r = run_size(size, args.seconds)
            print(
                f"| {r['size']} | {r['trials_per_s']:.0f} | {r['p99_claim_ms']:.1f} |", flush=True
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
