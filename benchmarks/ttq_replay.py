"""Replay a search strategy against a learning-curve table with simulated time and parallel workers.

The table (benchmarks/ttq_tasks.py) holds, for a fixed set of configurations, the validation
score after every epoch and the time each epoch ended. A proposed configuration is looked up
as the nearest table row *that this run has not used yet* (unit-cube distance over active
parameters, a mismatch of category or of activeness counting 1); the same configuration
proposed again (a SMAC or DEHB promotion to a larger budget) gets its own row back. Every
strategy thus searches the same space and gets exactly the curve that training a network
produced. Mapping to the nearest row, used or not, was tried first and rejected: two nearby
but distinct proposals became the same network, so the model-based strategies (whose
proposals cluster) re-trained one row up to 7 times per run while random search did not;
that measured the table's coarseness (100-200 rows in 11 dimensions), not the strategies.
When every row is used, the nearest row is reused.

Simulated workers (default 2) start a job when free; a job's epoch ``e`` ends at its start
time plus the recorded time of epoch ``e``. Events run in time order, so a pruner deciding
at epoch ``e`` sees exactly the curves other jobs had reached by then, and a sampler asked
at time ``t`` sees finished and running jobs as of ``t``.

The optimizer's own cost, three ways (``replay`` arguments):

* ``count_overhead=True`` (the function's default): the *wall* time of ``ask`` is added to
  the asking worker's clock.
* ``charge_cpu=True`` (``time_to_quality.py replay --charge-ask``): the *CPU* time
  (``time.process_time``, plus the CPU a strategy reports for a helper process, see
  ``external_cpu``) of every ``ask``, ``report`` (pruning check) and ``finish`` (tell) call
  is added to that worker's timeline: an ask delays the job it starts, a pruning check
  delays the job's remaining epochs, a tell delays the worker's next ask. That is what a
  real run on one core per worker would pay. CPU rather than wall time, so the load of a
  shared machine does not count.
* neither (the README's original tables): simulated time is training only.

The CPU of all three calls is measured in every mode and returned (``RunResult.opt_cpu``).

Two kinds of strategies:

* *pruned* (hpo, Optuna): every job aims at the full budget; after each epoch the strategy
  may stop it (``report`` returns True).
* *budgeted* (SMAC, DEHB): ``ask`` names a budget in epochs; the job trains that many epochs
  from scratch (those libraries do not resume a network) and is told its result.

A job's value is the best validation score up to its last epoch (the trainers restore the
best epoch). The incumbent at any time is the best job that trained the full budget, and its
test score is the table's test score of that network.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from hpo.space import Categorical, SearchSpace


class Table:
    """A learning-curve table: ``values (n, R)``, ``times (n, R)`` (cumulative s), ``test (n,)``."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.task: str = raw["task"]
        self.space = SearchSpace.from_dict(raw["space"])
        self.max_epochs: int = int(raw["max_epochs"])
        rows = raw["rows"]
        self.params = [r["params"] for r in rows]
        self.values = np.array([r["values"] for r in rows], dtype=float)
        self.times = np.array([r["times"] for r in rows], dtype=float)
        self.test = np.array(
            [np.nan if r["test"] is None else r["test"] for r in rows], dtype=float
        )
        if not raw.get("maximize", True):  # a loss: negated, so every strategy maximizes
            self.values, self.test = -self.values, -self.test
        enc = np.array([self.space.encode(p) for p in self.params])
        self._active = ~np.isnan(enc)
        self._enc = np.nan_to_num(enc)
        self._is_cat = np.array([isinstance(p, Categorical) for p in self.space.values()])

    def __len__(self) -> int:
        return len(self.params)

    def nearest(
        self, params: dict[str, Any], exclude: set[int] | frozenset[int] = frozenset()
    ) -> int:
        """The table row closest to ``params`` in the unit cube, skipping ``exclude``.

        Ties: the lower row.
        """
        q = self.space.encode(params)
        active = ~np.isnan(q)
        q = np.nan_to_num(q)
        diff = np.where(
            self._is_cat, (np.abs(self._enc - q) > 1e-9).astype(float), (self._enc - q) ** 2
        )
        both = self._active & active
        dist = np.where(both, diff, (self._active != active).astype(float)).sum(axis=1)
        if exclude and len(exclude) < len(dist):
            dist[list(exclude)] = np.inf
        return int(np.argmin(dist))

    def best_upto(self, row: int, epochs: int) -> float:
        """The trainer's value after ``epochs`` epochs: the best validation score so far.

        NaN: diverged.
        """
        v = self.values[row, :epochs]
        return float(np.nanmax(v)) if np.isfinite(v).any() else math.nan

    def full_values(self) -> NDArray[np.float64]:
        return np.array([self.best_upto(i, self.max_epochs) for i in range(len(self))])


@dataclass
class Job:
    """One evaluation: a table row trained up to ``budget`` epochs from ``start``."""

    key: Any  # the strategy's handle (a trial number, an Optuna trial, a SMAC TrialInfo...)
    row: int
    budget: int
    start: float
    curve: dict[int, float] = field(default_factory=dict)
    began: float = 0.0  # simulated time the job started (``start`` moves with pruning checks)


class Strategy(Protocol):
    """What the replay drives; see benchmarks/ttq_strategies.py for the adapters."""

    name: str
    pruned: bool  # True: report() after each epoch may stop the job; False: ask() sets the budget

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        """-> (handle, params, budget in epochs)."""

    def report(self, key: Any, epoch: int, value: float) -> bool:
        """A pruned strategy hears each epoch; True stops the job."""

    def finish(self, key: Any, state: str, value: float | None, epochs: int) -> None:
        """The job ended: state COMPLETE, PRUNED or FAILED, value after ``epochs`` epochs."""


def _external_cpu(strategy: Any) -> float:
    """CPU seconds a strategy spent so far outside this process (a helper process), or 0.

    A strategy that computes in a subprocess (HEBO, benchmarks/hebo_bridge.py) exposes
    ``external_cpu()``: the helper's cumulative ``process_time`` as of its last answer.
    """
    get = getattr(strategy, "external_cpu", None)
    return float(get()) if get is not None else 0.0


@dataclass
class Evaluation:
    end: float
    row: int
    epochs: int
    value: float
    state: str


@dataclass
class RunResult:
    strategy: str
    task: str
    seed: int
    evaluations: list[Evaluation]
    ask_seconds: float
    n_asks: int
    opt_cpu: float = 0.0  # CPU s of all ask, report and finish calls (this process + helpers)
    ask_cpu: float = 0.0  # CPU s of the ask calls alone
    charged: bool = False  # whether opt CPU was added to simulated time

    def incumbent_curve(self, max_epochs: int) -> list[tuple[float, float, int]]:
        """``(time, best full-budget value, row)`` each time the incumbent improves."""
        out: list[tuple[float, float, int]] = []
        best = -math.inf
        for ev in sorted(self.evaluations, key=lambda e: e.end):
            if ev.epochs == max_epochs and ev.state == "COMPLETE" and ev.value > best:
                best = ev.value
                out.append((ev.end, ev.value, ev.row))
        return out


def replay(
    strategy: Strategy,
    table: Table,
    *,
    budget_s: float,
    n_workers: int = 2,
    seed: int = 0,
    count_overhead: bool = True,
    charge_cpu: bool = False,
) -> RunResult:
    """Run ``strategy`` on ``table`` for ``budget_s`` simulated seconds; return all evaluations.

    ``count_overhead``: add each ask's wall time to the asking worker's clock.
    ``charge_cpu``: add the CPU time of every ask, report and finish call to that worker's
    timeline instead (see the module docstring); the two are exclusive.
    """
    if count_overhead and charge_cpu:
        raise ValueError("count_overhead (wall) and charge_cpu (CPU) are exclusive")
    R = table.max_epochs
    events: list[tuple[float, int, int, int]] = []  # (time, tie-break, worker, epoch)
    jobs: dict[int, Job] = {}
    evaluations: list[Evaluation] = []
    ask_total, n_asks, tie = 0.0, 0, 0
    cpu = {"all": 0.0, "ask": 0.0}
    rows: dict[str, int] = {}  # configuration -> its row in this run

    def lookup(params: dict[str, Any]) -> int:
        key = repr(
            sorted((k, round(v, 9) if isinstance(v, float) else v) for k, v in params.items())
        )
        if key not in rows:
            rows[key] = table.nearest(params, exclude=set(rows.values()))
        return rows[key]

    def clock() -> float:
        return time.process_time() + _external_cpu(strategy)

    def charged(c0: float, kind: str = "") -> float:
        """Record the CPU spent since ``c0``; return what the worker's timeline is charged."""
        spent = max(0.0, clock() - c0)
        cpu["all"] += spent
        if kind:
            cpu[kind] += spent
        return spent if charge_cpu else 0.0

    trained = getattr(strategy, "trained", None)  # hpo strategies read trial durations

    def finish(job: Job, now: float, state: str, value: float | None, epochs: int) -> float:
        if trained is not None:  # simulated claim-to-finish time, as started/finished_at hold it
            trained(job.key, now - job.began)
        c0 = clock()
        strategy.finish(job.key, state, value, epochs)
        return charged(c0)

    def start(worker: int, now: float) -> None:
        nonlocal ask_total, n_asks, tie
        if now >= budget_s:
            return
        c0 = clock()
        t0 = time.perf_counter()
        key, params, budget = strategy.ask()
        spent = time.perf_counter() - t0
        now += charged(c0, "ask")
        ask_total += spent
        n_asks += 1
        now += spent if count_overhead else 0.0
        job = Job(key, lookup(params), min(int(budget), R), now, began=now)
        jobs[worker] = job
        first = 1 if strategy.pruned else job.budget
        tie += 1
        heapq.heappush(events, (now + table.times[job.row, first - 1], tie, worker, first))

    for w in range(n_workers):
        start(w, 0.0)
    while events:
        now, _, worker, epoch = heapq.heappop(events)
        job = jobs[worker]
        value = float(table.values[job.row, epoch - 1])
        if not math.isfinite(value):
            evaluations.append(Evaluation(now, job.row, epoch, math.nan, "FAILED"))
            now += finish(job, now, "FAILED", None, epoch)
            start(worker, now)
            continue
        if strategy.pruned:
            job.curve[epoch] = value
            c0 = clock()
            stop = strategy.report(job.key, epoch, value)
            check = charged(c0)  # the pruning check delays this job's remaining epochs
            now += check
            job.start += check
            if stop:  # the last epoch too: ASHA may stop it there
                evaluations.append(
                    Evaluation(now, job.row, epoch, table.best_upto(job.row, epoch), "PRUNED")
                )
                now += finish(job, now, "PRUNED", value, epoch)
                start(worker, now)
                continue
            if epoch < job.budget:
                tie += 1
                heapq.heappush(
                    events, (job.start + table.times[job.row, epoch], tie, worker, epoch + 1)
                )
                continue
        final = table.best_upto(job.row, job.budget)
        evaluations.append(Evaluation(now, job.row, job.budget, final, "COMPLETE"))
        now += finish(job, now, "COMPLETE", final, job.budget)
        start(worker, now)
    return RunResult(
        strategy.name,
        table.task,
        seed,
        evaluations,
        ask_total,
        n_asks,
        opt_cpu=cpu["all"],
        ask_cpu=cpu["ask"],
        charged=charge_cpu,
    )
