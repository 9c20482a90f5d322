"""Time of `hpo show`'s overhead line on a study of 100,000 trials (inserted in bulk).

Before: every trial read back as a FrozenTrial and summed in Python
(``overhead_split(storage.trials(id))``). Now: the database sums per worker
(``stored_overhead_split``); both are timed in the same run, and the whole ``hpo show``
command once at the end. Example (the configuration in benchmarks/README.md)::

    python -m benchmarks.show_overhead --trials 100000 \\
        --pg postgresql://postgres@127.0.0.1:5432/hpo_fixes
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, update

from hpo.reports.overhead import overhead_split, stored_overhead_split
from hpo.storage import Storage, utcnow
from hpo.storage.schema import StudyRow, TrialRow


def fill(store: Storage, n: int, workers: int = 8) -> tuple[int, str]:
    """A study with ``n`` finished trials spread over ``workers`` workers, with timings."""
    name = f"show-{uuid.uuid4().hex[:8]}"
    study = store.create_study(
        name=name,
        direction="minimize",
        space={
            "lr": {"type": "Float", "low": 1e-4, "high": 1e-1, "log": True},
            "layers": {"type": "Int", "low": 0, "high": 3},
            "act": {"type": "Categorical", "choices": ["relu", "tanh"]},
        },
        sampler={"name": "random"},
        objective={},
        settings={},
        user_attrs={},
        seed=0,
    )
    t0 = utcnow()
    for start in range(0, n, 20_000):
        rows = [
            {
                "study_id": study.id,
                "number": i,
                "state": "COMPLETE",
                "params": {"lr": 1e-3 * (1 + i % 17), "layers": i % 4, "act": "relu"},
                "value": (i * 7919 % 100_003) / 1000.0,
                "metrics": {"duration_s": 0.9, "test_score": 0.5, "n_epochs": 20},
                "user_attrs": {},
                "started_at": t0 + timedelta(seconds=i // workers),
                "finished_at": t0 + timedelta(seconds=i // workers + 1),
                "worker_id": f"host:{i % workers}",
            }
            for i in range(start, min(n, start + 20_000))
        ]
        store.tx.run(lambda s, rows=rows: s.execute(insert(TrialRow), rows))
    store.tx.run(
        lambda s: s.execute(update(StudyRow).where(StudyRow.id == study.id).values(next_number=n))
    )
    return study.id, name


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median milliseconds of ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times), result


def measure(url: str, n: int, repeats: int) -> None:
    from typer.testing import CliRunner

    from hpo.cli import app

    store = Storage(url)
    study_id, name = fill(store, n)
    before_ms, before = timed(lambda: overhead_split(store.trials(study_id)), max(1, repeats // 5))
    after_ms, after = timed(lambda: stored_overhead_split(store, study_id), repeats)
    assert before is not None and after is not None
    assert abs(before.training_seconds - after.training_seconds) < 1e-3 * n
    assert abs(before.worker_seconds - after.worker_seconds) < 1e-3 * n
    t = time.perf_counter()
    shown = CliRunner().invoke(app, ["show", name, "--storage", url], env={"COLUMNS": "200"})
    show_ms = 1000 * (time.perf_counter() - t)
    assert shown.exit_code == 0 and "hpo overhead" in shown.output, shown.output
    backend = url.split(":", 1)[0]
    print(
        f"{backend:>10} {n:>8} trials: read every trial {before_ms:8.1f} ms, "
        f"summed in SQL {after_ms:6.1f} ms ({before_ms / after_ms:.0f}x); "
        f"whole `hpo show` now {show_ms:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--pg", default=os.environ.get("HPO_PG_URL"))
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{tmp}/show.db", args.trials, args.repeats)
    if args.pg:
        measure(args.pg, args.trials, args.repeats)


if __name__ == "__main__":
    main()
