"""Trials per minute with a 1-second objective, as workers are added.

Local worker processes (``study.optimize(n_workers=N)``) on SQLite and PostgreSQL, and
worker tasks on a 4-process Dask LocalCluster (PostgreSQL: Dask refuses SQLite). The
objective sleeps, so it uses no CPU: more workers than cores still scale, which a
CPU-bound objective would not (report it as such).

Example (the configuration in benchmarks/README.md)::

    python -m benchmarks.scaling --per-worker 6 --workers 1,2,4 \\
        --pg postgresql://postgres@127.0.0.1:5432/hpo_test
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from typing import Any

import hpo
from hpo.space import Float


def sleepy(params: dict[str, Any], reporter: Any) -> float:
    time.sleep(1.0)
    return float(params["x"]) ** 2


def run(url: str, n_workers: int, n_trials: int, executor: Any = None) -> dict[str, float]:
    study = hpo.create_study(
        f"scale-{uuid.uuid4().hex[:8]}",
        storage=url,
        space={"x": Float(-1, 1)},
        objective=sleepy,
        sampler="random",
        seed=0,
    )
    t = time.perf_counter()
    study.optimize(n_trials, n_workers=n_workers, executor=executor, show_progress=False)
    wall = time.perf_counter() - t
    trials = [t for t in study.trials if t.state.value == "COMPLETE"]
    span = (max(t.finished_at for t in trials) - min(t.started_at for t in trials)).total_seconds()
    return {
        "complete": len(trials),
        "wall": wall,
        "per_min_wall": 60 * len(trials) / wall,
        "per_min_steady": 60 * len(trials) / span,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--per-worker", type=int, default=6, help="trials per worker in each run")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--pg", default=os.environ.get("HPO_PG_URL"))
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}")
    print(
        "| executor | storage | workers | trials | wall s | trials/min (wall) | "
        "trials/min (steady) | vs linear (steady) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    base: dict[str, float] = {}

    def show(executor: str, storage: str, n: int, r: dict[str, float]) -> None:
        base.setdefault(storage, r["per_min_steady"] / n if n == 1 else 60.0)
        linear = base[storage] * n
        print(
            f"| {executor} | {storage} | {n} | {r['complete']:.0f} | {r['wall']:.1f} | "
            f"{r['per_min_wall']:.0f} | {r['per_min_steady']:.0f} | "
            f"{100 * r['per_min_steady'] / linear:.0f}% |",
            flush=True,
        )

    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(w) for w in args.workers.split(",")]:
            show(
                "local processes",
                "sqlite",
                n,
                run(f"sqlite:///{tmp}/scale.db", n, n * args.per_worker),
            )
        if args.pg:
            for n in [int(w) for w in args.workers.split(",")]:
                show("local processes", "postgresql", n, run(args.pg, n, n * args.per_worker))
            from distributed import Client, LocalCluster

            with (
                LocalCluster(
                    n_workers=4,
                    processes=True,
                    threads_per_worker=1,
                    dashboard_address=None,
                    silence_logs=40,
                ) as cluster,
                Client(cluster) as client,
            ):
                show(
                    "dask LocalCluster(4)",
                    "postgresql",
                    4,
                    run(args.pg, 4, 4 * args.per_worker, client),
                )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
