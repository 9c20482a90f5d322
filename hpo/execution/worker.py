"""The worker loop: claim a trial, train it with a heartbeat, record how it ended, repeat.

Claiming works optimistically so a slow sampler never holds the database lock:
read a snapshot, propose outside any transaction, then create the trial in one
short transaction that succeeds only if no other worker claimed a number since
the snapshot; otherwise re-propose with the fresh snapshot (which now includes
the other worker's pending trial). Samplers that ignore history propose inside
the claim transaction itself.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hpo.errors import SearchSpaceExhausted, TrialPruned
from hpo.objective import TrialResult, check_finite
from hpo.running import RunningTrial, prune_artifacts
from hpo.samplers.base import Proposal, seed_sequence
from hpo.storage import ClaimStatus

if TYPE_CHECKING:
    from hpo.study import Study

log = logging.getLogger("hpo.worker")

OPTIMISTIC_ATTEMPTS = 6  # re-proposals after losing a race, before taking the number regardless


class WorkerInterrupted(BaseException):
    """SIGTERM arrived: stop after releasing the running trial (a BaseException, like Ctrl-C)."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _as_proposal(raw: Proposal | dict[str, Any]) -> Proposal:
    return raw if isinstance(raw, Proposal) else Proposal(dict(raw))


def claim_next(study: Study, *, worker_id: str, budget: int | None,
               heartbeat: bool = True) -> RunningTrial | None:
    """Claim the next trial for this worker: a WAITING one first, else a new proposal.

    Returns None when the budget is reached or the sampler is exhausted.
    """
    storage, sampler, space = study.storage, study.sampler, study.space
    waiting = storage.claim_waiting(study.id, worker_id, budget=budget, heartbeat=heartbeat)
    if waiting is not None:
        return RunningTrial(study, waiting)
    seed = int(sampler.seed if sampler.seed is not None else study.seed)
    if not sampler.uses_history:
        def propose(number: int) -> Proposal:
            rng = seed_sequence(seed, number)
            return _as_proposal(sampler.ask(space, [], [], rng, study.direction, number=number))  # type: ignore[call-arg]

        try:
            claim = storage.claim_new(study.id, worker_id, propose, budget=budget, heartbeat=heartbeat)
        except SearchSpaceExhausted:
            return None
        return RunningTrial(study, claim.trial) if claim.trial is not None else None

    for attempt in range(4 * OPTIMISTIC_ATTEMPTS):
        snap = storage.snapshot(study.id, with_history=True, with_curves=True)
        if budget is not None:
            active = snap.next_number - sum(t.state.value == "FAILED" for t in snap.history)
            if active >= budget:
                return None
        rng = seed_sequence(seed, snap.next_number, attempt)
        try:
            proposal = _as_proposal(sampler.ask(space, snap.history, snap.pending, rng, study.direction))
        except SearchSpaceExhausted:
            return None
        expected = snap.next_number if attempt < OPTIMISTIC_ATTEMPTS else None
        claim = storage.claim_new(study.id, worker_id, proposal, expected_number=expected,
                                  budget=budget, heartbeat=heartbeat)
        if claim.status == ClaimStatus.CREATED and claim.trial is not None:
            return RunningTrial(study, claim.trial)
        if claim.status == ClaimStatus.BUDGET_REACHED:
            return None
        time.sleep(0.001 * attempt)  # NUMBER_TAKEN / GRID_TAKEN: re-propose on a fresh snapshot
    return None


def _describe(error: BaseException) -> str:
    tb = traceback.extract_tb(error.__traceback__)
    where = f" (at {tb[-1].filename}:{tb[-1].lineno})" if tb else ""
    return f"{type(error).__name__}: {error}{where}"


def run_trial(study: Study, trial: RunningTrial, objective: Callable[..., Any]) -> str:
    """Evaluate one claimed trial and store how it ended. Returns the final state's name.

    Exceptions from the objective end the trial FAILED with the reason; they do not
    escape, so the study goes on. Ctrl-C and SIGTERM release the trial and re-raise.
    """
    storage = study.storage
    started = time.perf_counter()
    try:
        result = TrialResult.coerce(objective(dict(trial.params), trial))
        check_finite(result.value)
    except TrialPruned:
        storage.finish(trial.trial_id, _state("PRUNED"), value=trial.last_value,
                       metrics={"pruned_at_step": max(trial.curve) if trial.curve else None})
        return "PRUNED"
    except (KeyboardInterrupt, WorkerInterrupted):
        storage.release(trial.trial_id, reason="interrupted: the worker was stopped (Ctrl-C/SIGTERM)",
                        requeue=True)
        raise
    except Exception as e:  # noqa: BLE001 - any failure of user code ends only this trial
        log.warning("Trial %d failed: %s", trial.number, _describe(e))
        storage.finish(trial.trial_id, _state("FAILED"), error=_describe(e))
        return "FAILED"
    metrics = dict(result.metrics)
    metrics.setdefault("duration_s", round(time.perf_counter() - started, 4))
    metrics = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}
    storage.finish(trial.trial_id, _state("COMPLETE"), value=result.value, metrics=metrics)
    if study.artifacts_root is not None and study.artifacts_root.exists():
        prune_artifacts(study)
    return "COMPLETE"


def _state(name: str) -> Any:
    from hpo.trial import TrialState

    return TrialState(name)


class Heartbeat:
    """A daemon thread that refreshes the heartbeat of the worker's running trial."""

    def __init__(self, study: Study, interval: float) -> None:
        self.study = study
        self.interval = interval
        self.trial_id: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hpo-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            trial_id = self.trial_id
            if trial_id is not None:
                try:
                    self.study.storage.heartbeat([trial_id])
                except Exception as e:  # noqa: BLE001 - a missed beat is retried next interval
                    log.warning("heartbeat failed: %s", e)


@contextmanager
def sigterm_as_interrupt() -> Any:
    """Inside the block, SIGTERM raises WorkerInterrupted in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise WorkerInterrupted(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class WorkerStats:
    worker_id: str
    finished: dict[str, int]
    seconds: float


def worker_loop(study: Study, *, n_trials: int | None, timeout: float | None = None,
                worker_id: str | None = None, max_failures: int | None = None,
                on_trial_end: Callable[[str], None] | None = None) -> WorkerStats:
    """Claim and run trials until the study reaches ``n_trials`` finished ones, or time runs out.

    Args:
        n_trials: the study's requested total of COMPLETE + PRUNED trials (None: until the
            sampler is exhausted or the timeout).
        timeout: stop claiming after this many seconds.
        max_failures: stop after this many FAILED trials in this worker (default: n_trials,
            so an objective that always fails cannot loop forever).
    """
    worker_id = worker_id or new_worker_id()
    settings = study.settings
    objective = study.objective
    if objective is None:
        raise RuntimeError(f"Study {study.name!r} has no objective")
    heartbeat_on = not study.storage.in_memory
    limit = max_failures if max_failures is not None else max(10, n_trials or 10)
    finished = {"COMPLETE": 0, "PRUNED": 0, "FAILED": 0}
    start = time.monotonic()
    last_stale_check = -math.inf
    with Heartbeat(study, float(settings["heartbeat_interval"])) as beat, sigterm_as_interrupt():
        while True:
            if timeout is not None and time.monotonic() - start >= timeout:
                break
            if finished["FAILED"] >= limit:
                log.error("Worker %s stops: %d trials failed; see their errors with `hpo show %s`.",
                          worker_id, finished["FAILED"], study.name)
                break
            if heartbeat_on and time.monotonic() - last_stale_check >= float(settings["heartbeat_interval"]):
                study.storage.fail_stale(study.id, grace_seconds=float(settings["grace_period"]),
                                         max_retries=int(settings["max_retries"]))
                last_stale_check = time.monotonic()
            trial = claim_next(study, worker_id=worker_id, budget=n_trials, heartbeat=heartbeat_on)
            if trial is None:
                if _others_running(study) and n_trials is not None and heartbeat_on:
                    time.sleep(min(0.2, float(settings["heartbeat_interval"])))
                    if not _budget_reached(study, n_trials):
                        continue  # a running trial may fail (or go stale) and free a slot
                break
            beat.trial_id = trial.trial_id
            try:
                state = run_trial(study, trial, objective)
            finally:
                beat.trial_id = None
            finished[state] += 1
            if on_trial_end is not None:
                on_trial_end(state)
    return WorkerStats(worker_id, finished, time.monotonic() - start)


def _others_running(study: Study) -> bool:
    counts = study.storage.counts(study.id)
    return counts.get("RUNNING", 0) + counts.get("WAITING", 0) > 0


def _budget_reached(study: Study, n_trials: int) -> bool:
    counts = study.storage.counts(study.id)
    return counts.get("COMPLETE", 0) + counts.get("PRUNED", 0) >= n_trials
