"""Where the time of a run goes: training versus hpo's own overhead.

Three measurements, each a subcommand:

``study FILE``: run a study file with ``hpo run`` in a fresh database and split its wall
time into start-up (launch to the first trial's start), training (inside the objective,
from stored timings) and everything else (claims, sampler, result writes, reporting, exit).
Start-up is itself split at the moment ``hpo run`` prints "running to": before it, the
command's own start (interpreter, imports, the study file, opening the study); after it,
the pool's start-up to the first trial (with ``--workers 1`` the worker is ``hpo run``
itself). ``--start fork|fresh`` sets ``HPO_WORKER_START`` (how worker processes start);
``--repeat N`` runs it N times (a loaded machine varies from run to run: compare minima).
Works for any study file::

    python -m benchmarks.overhead study studies/digits_mlp.py --workers 2 --trials 40

``asks FILE``: how much of the non-training time of workers is the sampler's ``ask``: runs
the study file's study in this process (``optimize``) with its sampler's ``ask`` timed
(wall and CPU, appended to a file by whichever worker asked; worker processes are forks
of this one and inherit the timer; a run that cannot fork logs why, and then its fresh
workers' asks are not counted)::

    python -m benchmarks.overhead asks studies/digits_mlp.py --workers 2 --trials 40

``epochs``: the cost of reporting one learning-curve point, amortized, written per epoch
(one transaction each, as before buffering) against buffered (hpo's reporter)::

    python -m benchmarks.overhead epochs --epochs 2000

``pruning``: the cost of one pruning check as the study grows (100 .. 10,000 trials x 50
epochs), in one run: the check as it was (the peers' values at the step as ORM rows,
ranked in Python), the rows as plain tuples, and the database's count and rank (ASHA's
check now) plus the median (the median rule's); then Hyperband's check (1..50 epochs,
eta 3, the checking trial in bracket 0, about 55% of the peers) three ways: the Python rule
over the peers' rows (Hyperband's check before issue 14: every row read, a bracket
computed per peer), schema 4's count (``hb number``: through the trials join, the
bracket tested on each peer's number) and the reporter's own check (``RunningTrial``,
whatever this checkout does: schema 5 counts the points marked with the bracket; run it
from an older checkout for an A/B). The curve points are written as the reporter writes
them, each with its trial's bracket. ``--storage`` puts the studies in a
database of yours (e.g. PostgreSQL) instead of a temporary SQLite file; a PostgreSQL server
on this machine also gets its CPU per check printed (its backends' /proc schedstat)::

    python -m benchmarks.overhead pruning --sizes 100,1000,10000
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a running process so far, from /proc (Linux); nan elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state is fields[0]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def study_split(file: str, workers: int, trials: int, start: str | None = None) -> dict[str, float]:
    """Run ``hpo run FILE`` once in a fresh database; print and return its time split."""
    import hpo
    from hpo.reports.overhead import overhead_split

    env = dict(os.environ)
    if start is not None:
        env["HPO_WORKER_START"] = start
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/hpo.db"
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        launched = time.time()
        run = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hpo",
                "run",
                file,
                "--workers",
                str(workers),
                "--trials",
                str(trials),
                "--storage",
                url,
                "--top",
                "0",
                "--no-progress",
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert run.stdout is not None
        running_at = None
        command_cpu = float("nan")
        for line in run.stdout:  # the line printed right before the workers start
            if running_at is None and "running to" in line:
                running_at = time.time()
                command_cpu = _cpu_seconds(run.pid)
        if run.wait() != 0:
            raise SystemExit(f"hpo run exited {run.returncode}")
        wall = time.time() - launched
        done = resource.getrusage(resource.RUSAGE_CHILDREN)  # hpo run and the workers it reaped
        run_cpu = sum(getattr(done, f) - getattr(children, f) for f in ("ru_utime", "ru_stime"))
        (summary,) = hpo.list_studies(url)
        study = hpo.load_study(summary.name, storage=url)
        trials_ = [t for t in study.trials if t.started_at is not None]
        first = min(t.started_at.timestamp() for t in trials_)  # type: ignore[union-attr]
        split = overhead_split(trials_)
        assert split is not None and running_at is not None
    startup = first - launched
    command = running_at - launched
    training_wall = split.training_seconds / workers
    other = max(0.0, wall - startup - training_wall)
    print(
        f"{file}: {len(trials_)} trials on {workers} worker(s), wall {wall:.2f} s, CPU "
        f"{run_cpu:.2f} s (command and workers); load average {os.getloadavg()[0]:.1f}"
    )
    print(f"  start-up to first trial  {startup:7.2f} s  {100 * startup / wall:5.1f}%")
    print(f"    hpo run's own start    {command:7.2f} s  (CPU {command_cpu:.2f} s)")
    print(f"    pool to first trial    {startup - command:7.2f} s")
    print(f"  training (objective)     {training_wall:7.2f} s  {100 * training_wall / wall:5.1f}%")
    print(f"  everything else          {other:7.2f} s  {100 * other / wall:5.1f}%")
    print(
        f"  stored split: overhead {100 * split.overhead_fraction:.1f}% of the time workers "
        f"held (claims, sampler, writes, gaps between trials)",
        flush=True,
    )
    return {
        "wall": wall,
        "cpu": run_cpu,
        "startup": startup,
        "command": command,
        "command_cpu": command_cpu,
        "pool": startup - command,
        "training": training_wall,
        "other": other,
    }


def sampler_asks(file: str, workers: int, trials: int) -> None:
    """Time every ``sampler.ask`` of a study file's study run in this process."""
    from hpo.cli.study_file import load_study_file
    from hpo.reports.overhead import overhead_split

    os.environ["HPO_WORKER_START"] = "fork"  # fresh interpreters would not inherit the timer
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "asks.log"
        study = load_study_file(Path(file)).build(storage=f"sqlite:///{tmp}/hpo.db", sampler=None)
        cls = type(study.sampler)
        ask = cls.ask

        def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return ask(self, *args, **kwargs)
            finally:
                with open(log, "a") as f:
                    f.write(f"{time.perf_counter() - wall} {time.process_time() - cpu}\n")

        cls.ask = timed  # type: ignore[method-assign]
        try:
            started = time.time()
            study.optimize(trials, n_workers=workers, show_progress=False)
            wall = time.time() - started
        finally:
            cls.ask = ask  # type: ignore[method-assign]
        split = overhead_split([t for t in study.trials if t.started_at is not None])
        asks = [tuple(map(float, line.split())) for line in log.read_text().splitlines()]
    assert split is not None
    print(
        f"{file}: {trials} trials on {workers} worker(s), optimize() {wall:.2f} s; worker time "
        f"{split.worker_seconds:.2f} s = training {split.training_seconds:.2f} s + rest "
        f"{split.overhead_seconds:.2f} s, of which {len(asks)} sampler asks "
        f"{sum(a[0] for a in asks):.2f} s wall ({sum(a[1] for a in asks):.2f} s CPU); "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def epoch_writes(epochs: int) -> None:
    import hpo
    from hpo.space import Float

    with tempfile.TemporaryDirectory() as tmp:
        study = hpo.create_study(
            "epochs",
            space={"x": Float(0, 1)},
            objective=lambda p, r: 0.0,
            storage=f"sqlite:///{tmp}/hpo.db",
            seed=0,
        )
        per_epoch = study.ask()
        t, c = time.perf_counter(), time.process_time()
        for step in range(epochs):
            study.storage.report(per_epoch.trial_id, step, 0.5)
        unbuffered = (time.perf_counter() - t) / epochs
        unbuffered_cpu = (time.process_time() - c) / epochs
        buffered_trial = study.ask()
        t, c = time.perf_counter(), time.process_time()
        for step in range(epochs):
            buffered_trial.report(step, 0.5)
        buffered_trial.flush()
        buffered = (time.perf_counter() - t) / epochs
        buffered_cpu = (time.process_time() - c) / epochs
    print(
        f"one transaction per epoch: {1e3 * unbuffered:.3f} ms/epoch "
        f"(CPU {1e3 * unbuffered_cpu:.3f} ms)"
    )
    print(
        f"buffered reporter:         {1e3 * buffered:.3f} ms/epoch (amortized, "
        f"{unbuffered / buffered:.0f}x less; CPU {1e3 * buffered_cpu:.4f} ms)"
    )
    print(f"load average {os.getloadavg()[0]:.1f}")


def _checks(store: Any, study_id: int, states: list[Any], step: int) -> dict[str, Any]:
    """One pruning check's reads, as it was and as it is now, by name."""
    from sqlalchemy import select

    from hpo.pruning import SuccessiveHalvingPruner
    from hpo.storage.schema import IntermediateRow, TrialRow

    def orm_rows() -> object:  # the check before: ORM rows, then ranked in Python
        def fn(session: Any) -> dict[int, dict[int, float]]:
            query = (
                select(TrialRow.number, IntermediateRow.step, IntermediateRow.value)
                .join(TrialRow, TrialRow.id == IntermediateRow.trial_id)
                .where(
                    TrialRow.study_id == study_id,
                    TrialRow.state.in_([s.value for s in states]),
                    IntermediateRow.step == step,
                )
            )
            out: dict[int, dict[int, float]] = {}
            for number, at, value in session.execute(query):
                out.setdefault(number, {})[at] = value
            return out

        peers = store.tx.run(fn, write=False)
        return SuccessiveHalvingPruner().prune(step, {step: 0.5}, peers, False)

    return {
        "before": orm_rows,
        # Hyperband's check now: the peers' values at the step as plain tuples
        "rows": lambda: store.curves(study_id, states, step=step),
        # ASHA's and the median rule's check now: a count and a rank
        "counts": lambda: store.peer_stats(
            study_id, states, step, exclude=0, than=0.5, maximize=False
        ),
        # the median rule's second query, only when the counts leave it open
        "middle": lambda: store.peer_stats(
            study_id, states, step, exclude=0, than=0.5, maximize=False, median=True
        ),
    }


def _hyperband_checks(study: Any, number: int, step: int) -> dict[str, Any]:
    """Hyperband's check by trial ``number`` at ``step``: as it was, and the reporter's."""
    from hpo.execution.running import RunningTrial
    from hpo.trial import FrozenTrial, TrialState

    pruner = study.pruner
    states = [TrialState(s) for s in pruner.peer_states]
    curve = {step: 0.5}

    def python_rule() -> bool:  # before issue 14: every peer's row, bracket per peer
        peers = study.storage.curves(study.id, states, step=step)
        peers.pop(number, None)
        return bool(pruner.prune_trial(number, step, curve, peers, False))

    def by_number() -> object:  # schema 4's count: through the join, testing each number
        among = dataclasses.replace(pruner.peers_among(number), bracket=None)
        return study.storage.peer_stats(
            study.id, states, step, exclude=number, than=0.5, maximize=False, among=among
        )

    reporter = RunningTrial(study, FrozenTrial(number, TrialState.RUNNING, {"x": 0.5}))
    reporter.curve = dict(curve)
    return {
        "hb before": python_rule,
        "hb number": by_number,
        "hb check": lambda: reporter._check_prune(step),
    }


def pruning_checks(
    sizes: list[int], epochs: int = 50, repeats: int = 20, storage: str | None = None
) -> None:
    import uuid

    from sqlalchemy import insert, select, update

    import hpo
    from hpo.pruning import HyperbandPruner
    from hpo.space import Float
    from hpo.storage.schema import IntermediateRow, StudyRow, TrialRow
    from hpo.storage.storage import utcnow
    from hpo.trial import TrialState

    print(f"load average: {os.getloadavg()}; storage: {storage or 'a temporary SQLite file'}")
    columns = ("before", "rows", "counts", "middle", "hb before", "hb number", "hb check")
    heads = ("before", "rows now", "counts now", "+ middle", "hb before", "hb number", "hb check")
    print(f"{'trials':>8} {'rows':>10} " + " ".join(f"{h:>12}" for h in heads))
    for n in sizes:
        # the checking trial is the next one, n, and sits in bracket 0 (rungs 1, 3, 9, 27)
        seed = next(s for s in range(1000) if HyperbandPruner(1, 50, 3, s).bracket(n) == 0)
        with tempfile.TemporaryDirectory() as tmp:
            study = hpo.create_study(
                f"pruning-{n}-{uuid.uuid4().hex[:8]}",
                space={"x": Float(0, 1)},
                objective=lambda p, r: 0.0,
                storage=storage or f"sqlite:///{tmp}/hpo.db",
                seed=0,
                pruner=HyperbandPruner(1, 50, 3, seed),
            )
            now = utcnow()
            with study.storage.engine.begin() as conn:  # prefill in bulk
                conn.execute(
                    insert(TrialRow),
                    [
                        {
                            "study_id": study.id,
                            "number": i,
                            "state": "COMPLETE",
                            "params": {"x": 0.5},
                            "value": 0.5,
                            "metrics": {},
                            "user_attrs": {},
                            "started_at": now,
                            "finished_at": now,
                        }
                        for i in range(n)
                    ],
                )
                conn.execute(update(StudyRow).where(StudyRow.id == study.id).values(next_number=n))
                ids = conn.execute(
                    select(TrialRow.id, TrialRow.number).where(TrialRow.study_id == study.id)
                ).all()
                bracket_of = study.pruner.bracket_of  # as the reporter writes them (schema 5)
                conn.execute(
                    insert(IntermediateRow),
                    [
                        {
                            "trial_id": tid,
                            "study_id": study.id,
                            "step": s,
                            "value": 0.5,
                            "bracket": bracket_of(number),
                        }
                        for tid, number in ids
                        for s in range(epochs)
                    ],
                )
            if storage and study.storage.is_postgres:
                # fresh planner statistics and visibility map (index-only scans), as
                # autovacuum leaves a long study; else it runs during the checks, unmeasured
                with study.storage.engine.connect() as conn:
                    conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                    conn.exec_driver_sql("VACUUM ANALYZE trials, intermediate_values")
            states = [TrialState.COMPLETE, TrialState.PRUNED]
            checks = _checks(study.storage, study.id, states, epochs // 2)
            checks.update(_hyperband_checks(study, n, 27))
            ms, cpu, server = {}, {}, {}
            for name, check in checks.items():
                check()  # warm the statement cache
                t, c = time.perf_counter(), time.process_time()
                s = _server_cpu(study.storage)
                for _ in range(repeats):
                    check()
                ms[name] = 1e3 * (time.perf_counter() - t) / repeats
                cpu[name] = 1e3 * (time.process_time() - c) / repeats
                after = _server_cpu(study.storage)
                if s is not None and after is not None:
                    server[name] = 1e3 * (after - s) / repeats
            if storage:
                hpo.delete_study(study.name, storage=storage)
        print(f"{n:>8} {n * epochs:>10} " + " ".join(f"{ms[k]:>9.2f} ms" for k in columns))
        print(f"{'CPU':>19} " + " ".join(f"{cpu[k]:>9.2f} ms" for k in columns))
        if len(server) == len(columns):
            print(f"{'server CPU':>19} " + " ".join(f"{server[k]:>9.2f} ms" for k in columns))
    print(f"load average: {os.getloadavg()}")
    print(
        "CPU: this process's CPU time per check; SQLite runs in it (all of the check's "
        "work), a PostgreSQL server does not (then it is the client's share only). server "
        "CPU: the PostgreSQL backends' CPU time per check (read from /proc, so only with "
        "a server on this machine)."
    )


def _server_cpu(store: Any) -> float | None:
    """CPU seconds used so far by the PostgreSQL backends serving this database, from
    /proc/PID/schedstat (nanoseconds on a CPU); None for SQLite or a server elsewhere."""
    if not store.is_postgres:
        return None
    with store.engine.connect() as conn:
        query = (
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND backend_type = 'client backend'"
        )
        pids = [int(pid) for (pid,) in conn.exec_driver_sql(query)]
    try:
        return sum(int(Path(f"/proc/{p}/schedstat").read_text().split()[0]) for p in pids) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    s = sub.add_parser("study")
    s.add_argument("file")
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--trials", type=int, default=20)
    s.add_argument("--start", choices=["auto", "fork", "fresh"], default=None)
    s.add_argument("--repeat", type=int, default=1)
    a = sub.add_parser("asks")
    a.add_argument("file")
    a.add_argument("--workers", type=int, default=1)
    a.add_argument("--trials", type=int, default=20)
    e = sub.add_parser("epochs")
    e.add_argument("--epochs", type=int, default=2000)
    p = sub.add_parser("pruning")
    p.add_argument("--sizes", default="100,1000,10000")
    p.add_argument("--storage", default=None, help="a database URL (default: temporary SQLite)")
    args = parser.parse_args()
    if args.what == "study":
        runs = [
            study_split(str(Path(args.file)), args.workers, args.trials, args.start)
            for _ in range(args.repeat)
        ]
        if len(runs) > 1:
            best = {k: min(r[k] for r in runs) for k in runs[0]}
            print(
                f"minimum of {len(runs)} runs: wall {best['wall']:.2f} s (CPU "
                f"{best['cpu']:.2f} s), start-up {best['startup']:.2f} s (hpo run "
                f"{best['command']:.2f} s, CPU {best['command_cpu']:.2f} s; pool "
                f"{best['pool']:.2f} s), training {best['training']:.2f} s, "
                f"everything else {best['other']:.2f} s; load average {os.getloadavg()[0]:.1f}"
            )
    elif args.what == "asks":
        sampler_asks(str(Path(args.file)), args.workers, args.trials)
    elif args.what == "epochs":
        epoch_writes(args.epochs)
    else:
        pruning_checks([int(x) for x in args.sizes.split(",")], storage=args.storage)


if __name__ == "__main__":
    main()
