"""Many processes calling ``create_study`` on the same name at the same instant (issue 9 #4).

Each round, ``--processes`` long-lived processes wait on one barrier and then call
``hpo.create_study(name, ..., load_if_exists=...)`` together. On SQLite every round uses a
brand-new database file, so the schema creation races as well. A round passes when,
with ``load_if_exists=True``, every call returns the same study (exactly one process
inserted it: its pid is the stored ``user_attrs["creator"]``), and with
``load_if_exists=False`` exactly one call succeeds and every other one raises
``StudyExistsError`` (never another error type).

    PYTHONPATH=. .venv/bin/python -m benchmarks.create_race --rounds 100 --processes 8 \\
        --pg postgresql://postgres@127.0.0.1:5432/hpo_test
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

CTX = multiprocessing.get_context("spawn")


def _creator(tasks: Any, results: Any, barrier: Any) -> None:
    import hpo
    from hpo.space import Float

    while True:
        task = tasks.get()
        if task is None:
            return
        url, name, load_if_exists = task
        barrier.wait()
        try:
            study = hpo.create_study(
                name,
                storage=url,
                space={"x": Float(0.0, 1.0)},
                load_if_exists=load_if_exists,
                seed=0,
                user_attrs={"creator": os.getpid()},
            )
            results.put((os.getpid(), study.id, None))
        except Exception as e:  # noqa: BLE001 - every failure is reported, by type
            results.put((os.getpid(), None, f"{type(e).__name__}: {e}"))


def run_rounds(
    url: str, *, rounds: int, processes: int, load_if_exists: bool, sqlite_dir: Path | None = None
) -> dict[str, Any]:
    """Run the rounds; returns counts and the failures (an empty list when all went right).

    Args:
        url: the storage; ignored for SQLite when ``sqlite_dir`` is given (a new file per round).
        sqlite_dir: where each round's fresh SQLite file goes.
    """
    import hpo

    tasks, results = CTX.Queue(), CTX.Queue()
    barrier = CTX.Barrier(processes)
    workers = [
        CTX.Process(target=_creator, args=(tasks, results, barrier), daemon=True)
        for _ in range(processes)
    ]
    for w in workers:
        w.start()
    report: dict[str, Any] = {
        "rounds": rounds,
        "processes": processes,
        "calls": 0,
        "load_if_exists": load_if_exists,
        "failures": [],
        "loaded": 0,
        "exists_errors": 0,
        "creators_per_round": [],
        "same_id_per_round": [],
    }
    start = time.perf_counter()
    try:
        for r in range(rounds):
            round_url = f"sqlite:///{sqlite_dir / f'race-{r}.db'}" if sqlite_dir else url
            name = f"race-{uuid.uuid4().hex[:8]}"
            for _ in workers:
                tasks.put((round_url, name, load_if_exists))
            answers = [results.get(timeout=120) for _ in workers]
            report["calls"] += len(answers)
            stored = hpo.load_study(name, storage=round_url)
            creator = stored.user_attrs.get("creator")
            pids = {pid for pid, _, _ in answers}
            report["creators_per_round"].append(int(creator in pids))
            ids = {study_id for _, study_id, error in answers if error is None}
            report["same_id_per_round"].append(ids == {stored.id})
            for pid, _, error in answers:
                if error is None:
                    report["loaded"] += int(pid != creator)
                elif error.startswith("StudyExistsError") and not load_if_exists:
                    report["exists_errors"] += 1
                else:
                    report["failures"].append(error)
            if not load_if_exists and len(ids) != 1:
                report["failures"].append(f"round {r}: {len(ids)} successful creators")
    finally:
        for _ in workers:
            tasks.put(None)
        for w in workers:
            w.join(timeout=10)
            if w.is_alive():
                w.kill()
    report["seconds"] = round(time.perf_counter() - start, 1)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--pg", help="a PostgreSQL URL to race on as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", Path(tmp))] + ([("postgresql", None)] if args.pg else [])
        for backend, folder in targets:
            for load_if_exists in (True, False):
                report = run_rounds(
                    args.pg or "",
                    rounds=args.rounds,
                    processes=args.processes,
                    load_if_exists=load_if_exists,
                    sqlite_dir=folder,
                )
                summary = {
                    k: v
                    for k, v in report.items()
                    if k not in ("creators_per_round", "same_id_per_round", "failures")
                }
                summary.update(
                    backend=backend,
                    failures=len(report["failures"]),
                    rounds_with_one_creator=sum(report["creators_per_round"]),
                    first_failures=report["failures"][:3],
                )
                print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
