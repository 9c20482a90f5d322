"""Time of the top-10 leaderboard query on a study of 100,000 trials (inserted in bulk).

Example (the configuration in benchmarks/README.md)::

    python -m benchmarks.leaderboard_query --trials 100000 \\
        --pg postgresql://postgres@127.0.0.1:5432/hpo_test
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid

from sqlalchemy import insert, update

from hpo.storage import Storage, utcnow
from hpo.storage.schema import StudyRow, TrialRow

STATES = ("COMPLETE",) * 8 + ("PRUNED", "FAILED")


def fill(store: Storage, n: int, direction: str) -> int:
    """A study with ``n`` finished trials (80% COMPLETE) and a few params and metrics each."""
    study = store.create_study(
        name=f"lb-{uuid.uuid4().hex[:8]}",
        direction=direction,
        space={},
        sampler={"name": "random"},
        objective={},
        settings={},
        user_attrs={},
        seed=0,
    )
    now = utcnow()
    for start in range(0, n, 20_000):
        rows = [
            {
                "study_id": study.id,
                "number": i,
                "state": STATES[i % 10],
                "params": {"lr": 1e-3 * (1 + i % 17), "layers": i % 4, "act": "relu"},
                "value": ((i * 7919) % 100_003) / 1000.0 if STATES[i % 10] != "FAILED" else None,
                "metrics": {"duration_s": 1.0},
                "user_attrs": {},
                "started_at": now,
                "finished_at": now,
            }
            for i in range(start, min(n, start + 20_000))
        ]
        store.tx.run(lambda s, rows=rows: s.execute(insert(TrialRow), rows))
    store.tx.run(
        lambda s: s.execute(update(StudyRow).where(StudyRow.id == study.id).values(next_number=n))
    )
    return study.id


def time_query(store: Storage, study_id: int, direction: str, repeats: int) -> list[float]:
    store.leaderboard(study_id, direction, top=10)  # warm the pool and the statement cache
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        board = store.leaderboard(study_id, direction, top=10)
        times.append(1000 * (time.perf_counter() - t))
        assert len(board) == 10
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--pg", default=os.environ.get("HPO_PG_URL"))
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    print("| backend | direction | trials | fill s | median ms | p95 ms | max ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        urls = [("sqlite", f"sqlite:///{tmp}/lb.db")] + (
            [("postgresql", args.pg)] if args.pg else []
        )
        for backend, url in urls:
            store = Storage(url)
            for direction in ("minimize", "maximize"):
                t = time.perf_counter()
                study_id = fill(store, args.trials, direction)
                filled = time.perf_counter() - t
                times = sorted(time_query(store, study_id, direction, args.repeats))
                print(
                    f"| {backend} | {direction} | {args.trials} | {filled:.1f} | "
                    f"{statistics.median(times):.2f} | {times[int(0.95 * (len(times) - 1))]:.2f} | "
                    f"{times[-1]:.2f} |",
                    flush=True,
                )
                store.delete_study(store.study_names()[-1])
            store.dispose()


if __name__ == "__main__":
    main()
