"""Time to quality end to end: each strategy drives real training in real worker processes.

The replay (benchmarks/ttq_replay.py) trains nothing: it looks up the nearest recorded
configuration. This runner trains exactly what a strategy proposes, through hpo's own
model families (``Task.objective()``, the code a study runs), in ``n_workers`` worker
processes that each train one network at a time and send every epoch's validation score
to the strategy, which may stop the network there (its pruner) or at the budget it chose
(SMAC, DEHB). Only the search differs between strategies.

**Two clocks.** Wall time on a shared 2-core machine measures the neighbours as much as the
strategy, so a run's budget and its anytime curve are kept on a *CPU timeline*: per worker,
the CPU seconds its process spent training plus the CPU seconds the strategy spent on that
worker's behalf (ask, pruning checks, tell: ``time.process_time`` of this process, plus a
helper process's for HEBO), the figure ``replay --charge-ask`` simulates. A worker takes no
new network once its timeline passes the budget. The wall time is recorded next to it.
Worker start-up (interpreter, imports, loading the dataset) happens before the clocks
start and is the same for every strategy.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
import warnings
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from benchmarks.ttq_replay import _external_cpu

__all__ = ["LivePool", "LiveResult", "run_live"]


class _PipeReporter:
    """The trial as the trainer sees it: each epoch goes to the strategy, which may stop it."""

    def __init__(self, conn: Connection, number: int, seed: int, sign: float) -> None:
        self.conn, self.number, self.seed, self.sign = conn, number, seed, sign
        self.start = time.process_time()
        self.best = -math.inf
        self.epochs = 0

    def cpu(self) -> float:
        """CPU seconds this process has spent on the network so far."""
        return time.process_time() - self.start

    def report(self, step: int, value: float) -> None:
        from hpo.errors import TrialPruned

        self.epochs = int(step)
        value = self.sign * float(value)  # a loss is negated: every strategy maximizes
        if math.isfinite(value):
            self.best = max(self.best, float(value))
        self.conn.send(("epoch", int(step), float(value), self.cpu()))
        if self.conn.recv():
            raise TrialPruned()

    def should_prune(self) -> bool:
        return False

    def artifact_dir(self) -> None:
        return None


def _worker_main(conn: Connection, task_name: str) -> None:
    """Load the task once, then train one configuration per ("train", ...) message."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    from benchmarks.ttq_tasks import _maximize, tasks
    from hpo.errors import TrialPruned

    warnings.simplefilter("ignore")
    task = tasks()[task_name]
    if task.model.startswith("torch"):
        import torch

        torch.set_num_threads(1)
    objective = task.objective().preload()
    sign = 1.0 if _maximize(task.metric) else -1.0
    conn.send(("ready",))
    while True:
        msg = conn.recv()
        if msg[0] == "exit":
            return
        _, params, number, seed = msg
        reporter = _PipeReporter(conn, number, seed, sign)
        try:
            result = objective(dict(params), reporter)
        except TrialPruned:
            conn.send(("stopped", reporter.epochs, reporter.best, reporter.cpu()))
        except Exception as e:  # noqa: BLE001 - a diverging network is a failed trial, as in a study
            conn.send(("failed", reporter.epochs, repr(e), reporter.cpu()))
        else:
            test = result.metrics.get(f"test_{task.metric}")
            value, test = sign * float(result.value), None if test is None else sign * float(test)
            conn.send(("complete", reporter.epochs, value, test, reporter.cpu()))


class LivePool:
    """``n`` worker processes that have loaded ``task``'s data; reused across runs."""

    def __init__(self, task: str, n: int = 2) -> None:
        ctx = mp.get_context("spawn")  # no state of this process (threads, BLAS pools) leaks in
        self.task, self.conns, self.procs = task, [], []
        for _ in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(child, task), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)
        for conn in self.conns:
            if conn.recv()[0] != "ready":
                raise RuntimeError(f"a worker for {task} did not start")

    def close(self) -> None:
        for conn, proc in zip(self.conns, self.procs, strict=True):
            try:
                conn.send(("exit",))
            except (BrokenPipeError, OSError):
                pass
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()

    def __enter__(self) -> LivePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class LiveEvaluation:
    worker: int
    cpu_end: float  # the worker's CPU timeline when the network stopped
    wall_end: float
    epochs: int
    value: float
    state: str
    test: float | None


@dataclass
class LiveResult:
    evaluations: list[LiveEvaluation] = field(default_factory=list)
    n_asks: int = 0
    ask_cpu: float = 0.0
    opt_cpu: float = 0.0
    wall_s: float = 0.0

    def incumbent(self, max_epochs: int) -> list[list[Any]]:
        """``[cpu time, best full-budget value, wall time, its test score]`` at each improvement."""
        out: list[list[Any]] = []
        best = -math.inf
        for ev in sorted(self.evaluations, key=lambda e: e.cpu_end):
            if ev.epochs >= max_epochs and ev.state == "COMPLETE" and ev.value > best:
                best = ev.value
                out.append([ev.cpu_end, ev.value, ev.wall_end, ev.test])
        return out


@dataclass
class _Job:
    key: Any
    budget: int
    began: float  # the worker's CPU timeline when the job started (after its ask)


def run_live(strategy: Any, pool: LivePool, *, budget_s: float, max_epochs: int) -> LiveResult:
    """Drive ``strategy`` on ``pool``'s workers until each one's CPU timeline passes the budget."""
    result = LiveResult()
    n = len(pool.conns)
    cpu_t = [0.0] * n  # each worker's CPU timeline
    jobs: dict[int, _Job] = {}
    job_cpu = [0.0] * n  # the running job's training CPU already counted
    started = time.perf_counter()
    trained = getattr(strategy, "trained", None)  # hpo strategies read trial durations

    def clock() -> float:
        return time.process_time() + _external_cpu(strategy)

    def charge(w: int, c0: float, ask: bool = False) -> None:
        spent = max(0.0, clock() - c0)
        cpu_t[w] += spent
        result.opt_cpu += spent
        if ask:
            result.ask_cpu += spent

    def start(w: int) -> None:
        if cpu_t[w] >= budget_s:
            return
        c0 = clock()
        key, params, budget = strategy.ask()
        charge(w, c0, ask=True)
        number = result.n_asks
        result.n_asks += 1
        jobs[w] = _Job(key, min(int(budget), max_epochs), cpu_t[w])
        job_cpu[w] = 0.0
        pool.conns[w].send(("train", params, number, 1000 + number))

    def finish(w: int, state: str, value: float | None, epochs: int, test: Any) -> None:
        job = jobs.pop(w)
        if trained is not None:  # the job's span on the worker's timeline, as started/finished_at
            trained(job.key, cpu_t[w] - job.began)
        c0 = clock()
        strategy.finish(job.key, state, value, epochs)
        charge(w, c0)
        result.evaluations.append(
            LiveEvaluation(
                w, cpu_t[w], time.perf_counter() - started, epochs,
                math.nan if value is None else value, state, test,
            )
        )  # fmt: skip
        start(w)

    for w in range(n):
        start(w)
    index = {id(c): w for w, c in enumerate(pool.conns)}
    while jobs:
        for ready in wait([pool.conns[w] for w in jobs]):
            w = index[id(ready)]
            conn = pool.conns[w]
            msg = conn.recv()
            kind, epochs = msg[0], msg[1]
            cpu_t[w] += msg[-1] - job_cpu[w]
            job_cpu[w] = msg[-1]
            job = jobs[w]
            if kind == "epoch":
                value = msg[2]
                if strategy.pruned:  # its pruner decides, the last epoch too (as in the replay)
                    c0 = clock()
                    stop = bool(strategy.report(job.key, epochs, value))
                    charge(w, c0)
                else:  # the budget it chose; a full budget completes with its test score
                    stop = job.budget <= epochs < max_epochs
                conn.send(stop)
            elif kind == "stopped":  # by the pruner, or at the strategy's budget
                state = "PRUNED" if strategy.pruned else "COMPLETE"
                best = msg[2] if math.isfinite(msg[2]) else None
                finish(w, state, best, epochs, None)
            elif kind == "failed":
                finish(w, "FAILED", None, epochs, None)
            else:  # complete: trained to the end, best epoch restored
                finish(w, "COMPLETE", msg[2], epochs, msg[3])
    result.wall_s = time.perf_counter() - started
    return result
