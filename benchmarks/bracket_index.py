"""Where to store a Hyperband bracket so a pruning check's count stays flat (branch hbflat).

Three ways to count a bracket's finite points at one step (50 epochs a trial, bracket 0
of ``HyperbandPruner(1, 50, 3)``), as bare SQL on one SQLite file per size, CPU per count:

- ``points``: the bracket on each curve point, the index ``(study_id, step, bracket,
  value)``: one index range (schema 5, what hpo does);
- ``trial row``: the bracket on the trial row only, an index ``(study_id, bracket,
  state)``, each trial's point found by primary key (no point is touched by a migration,
  but one seek per peer);
- ``number``: schema 4's count: each point at the step joined to its trial, whose number
  is tested for the bracket (the golden-point condition of ``hpo/storage/_peers.py``).

The three counts are asserted equal first::

    python -m benchmarks.bracket_index --sizes 100,1000,10000
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time

import numpy as np

from hpo.pruning import HyperbandPruner

_SCHEMA = """
CREATE TABLE trials (id INTEGER PRIMARY KEY, study_id INT, number INT, state TEXT, bracket INT);
CREATE INDEX ix_trials_bracket ON trials (study_id, bracket, state);
CREATE UNIQUE INDEX uq_trials_number ON trials (study_id, number);
CREATE TABLE points (trial_id INT, step INT, value REAL, study_id INT, bracket INT,
                     PRIMARY KEY (trial_id, step));
CREATE INDEX ix_points_bracket ON points (study_id, step, bracket, value);
CREATE INDEX ix_points_step_trial ON points (step, trial_id);
"""
_PEERS = "trials.state IN ('COMPLETE', 'PRUNED', 'RUNNING')"
_COUNTS = {
    "points": "SELECT count(value), sum(value < 0.5) FROM points "
    "WHERE study_id = 1 AND step = :step AND bracket = 0",
    "trial row": "SELECT count(points.value), sum(points.value < 0.5) FROM trials "
    "JOIN points ON points.trial_id = trials.id AND points.step = :step "
    f"WHERE trials.study_id = 1 AND trials.bracket = 0 AND {_PEERS}",
    "number": "SELECT count(points.value), sum(points.value < 0.5) FROM points "
    f"JOIN trials ON points.trial_id = trials.id WHERE trials.study_id = 1 AND {_PEERS} "
    "AND points.step = :step AND number * :golden - CAST(number * :golden AS INTEGER) < :high",
}


def _database(n: int, epochs: int, pruner: HyperbandPruner) -> sqlite3.Connection:
    """A study of ``n`` completed trials x ``epochs`` points with random values."""
    db = sqlite3.connect(os.path.join(tempfile.mkdtemp(), "brackets.db"))
    db.executescript(_SCHEMA)
    brackets = [pruner.bracket(i) for i in range(n)]
    db.executemany(
        "INSERT INTO trials VALUES (?, 1, ?, 'COMPLETE', ?)",
        [(i + 1, i, brackets[i]) for i in range(n)],
    )
    values = np.random.default_rng(0).random((n, epochs))
    db.executemany(
        "INSERT INTO points VALUES (?, ?, ?, 1, ?)",
        [(i + 1, s, float(values[i, s]), brackets[i]) for i in range(n) for s in range(epochs)],
    )
    db.commit()
    return db


def compare(sizes: list[int], epochs: int = 50, repeats: int = 50) -> None:
    """Print the CPU ms of each count per size (all in this process: SQLite is in-process)."""
    pruner = HyperbandPruner(1, epochs, 3, 0)
    high = pruner.bracket_slice(0).high
    args = {"step": epochs // 2 + 2, "golden": 0.6180339887498949, "high": high}
    print(f"load average: {os.getloadavg()}")
    print(f"{'trials':>8} " + " ".join(f"{name:>12}" for name in _COUNTS) + "  (CPU ms a count)")
    for n in sizes:
        db = _database(n, epochs, pruner)
        results = {db.execute(sql, args).fetchone() for sql in _COUNTS.values()}
        assert len(results) == 1, results  # the three ways count the same points
        ms = []
        for sql in _COUNTS.values():
            t = time.process_time()
            for _ in range(repeats):
                db.execute(sql, args).fetchone()
            ms.append(1e3 * (time.process_time() - t) / repeats)
        print(f"{n:>8} " + " ".join(f"{v:>12.3f}" for v in ms))
        db.close()
    print(f"load average: {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args()
    compare([int(x) for x in args.sizes.split(",")])


if __name__ == "__main__":
    main()
