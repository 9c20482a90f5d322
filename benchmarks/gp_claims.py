"""Claims per second on the GP path: a 1-ms objective, 200 completed trials, then GP proposals.

The GP path is sampler-bound (fit + acquisition per claim), not storage-bound: this is
the figure a user of `sampler="gp"` sees per worker, next to Optuna's GPSampler on its
RDB (SQLite) and Journal storages, on the same 6-d history size::

    python -m benchmarks.gp_claims --history 200 --trials 20 --workers 1,2
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from typing import Any

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

DIM = 6
CTX = multiprocessing.get_context("forkserver")


def objective(params: dict[str, Any], reporter: Any = None) -> float:
    time.sleep(0.001)
    return sum((params[f"x{i}"] - 0.3) ** 2 for i in range(DIM))


def _hpo_worker(url: str, n_trials: int) -> None:
    import hpo

    hpo.load_study("gp-claims", storage=url, objective=objective).optimize(n_trials=n_trials)


def hpo_rate(history: int, trials: int, workers: int) -> float:
    import hpo
    from hpo.samplers import GPSampler
    from hpo.space import Float

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/hpo.db"
        study = hpo.create_study(
            "gp-claims",
            space={f"x{i}": Float(0, 1) for i in range(DIM)},
            objective=objective,
            direction="minimize",
            storage=url,
            seed=0,
            sampler=GPSampler(acquisition="ei", n_startup_trials=history, seed=0),
        )
        study.optimize(n_trials=history)  # Sobol start-up: cheap
        target = history + trials
        start = time.perf_counter()
        procs = [CTX.Process(target=_hpo_worker, args=(url, target)) for _ in range(workers)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - start
        done = study.counts().get("COMPLETE", 0) - history
    return done / elapsed


def _optuna_worker(storage: Any, n: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name="gp-claims",
        storage=_optuna_storage(storage),
        sampler=optuna.samplers.GPSampler(seed=None, n_startup_trials=0),
    )
    study.optimize(
        lambda t: objective({f"x{i}": t.suggest_float(f"x{i}", 0, 1) for i in range(DIM)}),
        n_trials=n,
    )


def _optuna_storage(spec: tuple[str, str]) -> Any:
    import optuna

    kind, path = spec
    if kind == "rdb":
        return optuna.storages.RDBStorage(f"sqlite:///{path}")
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(path))


def optuna_rate(kind: str, history: int, trials: int, workers: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        spec = (kind, f"{tmp}/optuna.{'db' if kind == 'rdb' else 'log'}")
        study = optuna.create_study(
            study_name="gp-claims",
            storage=_optuna_storage(spec),
            sampler=optuna.samplers.RandomSampler(seed=0),
        )
        study.optimize(
            lambda t: objective({f"x{i}": t.suggest_float(f"x{i}", 0, 1) for i in range(DIM)}),
            n_trials=history,
        )
        per_worker = max(1, trials // workers)
        start = time.perf_counter()
        procs = [
            CTX.Process(target=_optuna_worker, args=(spec, per_worker)) for _ in range(workers)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - start
    return per_worker * workers / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, default=200)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    print(
        f"GP claims/s after {args.history} completed trials (6-d, 1-ms objective), "
        f"{args.trials} claims per run; load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'workers':>7} {'hpo (SQLite)':>13} {'Optuna RDB':>11} {'Optuna Journal':>15}")
    for w in (int(x) for x in args.workers.split(",")):
        ours = hpo_rate(args.history, args.trials, w)
        rdb = optuna_rate("rdb", args.history, args.trials, w)
        journal = optuna_rate("journal", args.history, args.trials, w)
        print(
            f"{w:>7} {ours:>13.2f} {rdb:>11.2f} {journal:>15.2f}   "
            f"(x{ours / rdb:.1f} RDB, x{ours / journal:.1f} Journal)"
        )


if __name__ == "__main__":
    main()
