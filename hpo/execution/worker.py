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
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from hpo.errors import SearchSpaceExhausted, StorageError, TrialPruned, WorkerInterrupted
from hpo.execution.interrupts import check_interrupted, interrupts_as_exceptions
from hpo.execution.running import RunningTrial, prune_artifacts
from hpo.objective import TrialResult, check_finite
from hpo.samplers.base import Direction, Proposal, ask_by_number, seed_sequence
from hpo.storage import ClaimStatus, Outcome
from hpo.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from hpo.execution.handle import StudyHandle as Study  # execution never imports hpo.study

log = logging.getLogger("hpo.worker")

Callback = Callable[["Study", FrozenTrial], None]
"""``fn(study, trial)``: called after each finished trial in the process that ran it."""

REPROPOSE_SECONDS = 0.5  # sampler time per claim after which a lost race is not re-proposed
OPTIMISTIC_ATTEMPTS = 6  # re-proposals after losing a race, before taking the number regardless


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _as_proposal(raw: Proposal | dict[str, Any]) -> Proposal:
    return raw if isinstance(raw, Proposal) else Proposal(dict(raw))


def claim_next(
    study: Study,
    *,
    worker_id: str,
    budget: int | None,
    heartbeat: bool = True,
    finish: Outcome | None = None,
) -> RunningTrial | None:
    """Claim the next trial for this worker: a WAITING one first, else a new proposal.

    Args:
        finish: this worker's previous result, stored before the claim (in the same
            transaction when the sampler ignores history, so the budget check sees it).

    Returns None when the budget is reached or the sampler is exhausted.
    """
    storage, sampler, space = study.storage, study.sampler, study.space
    seed = int(sampler.seed if sampler.seed is not None else study.seed)
    direction = cast(Direction, study.direction)
    if not sampler.uses_history:

        def propose(number: int) -> Proposal:
            rng = seed_sequence(seed, number)
            return _as_proposal(ask_by_number(sampler, space, rng, direction, number))

        try:  # one transaction: a WAITING trial if any, else a new one proposed under the lock
            claim = storage.claim_new(
                study.id,
                worker_id,
                propose,
                budget=budget,
                heartbeat=heartbeat,
                take_waiting=True,
                finish=finish,
            )
        except SearchSpaceExhausted:
            return None
        return RunningTrial(study, claim.trial) if claim.trial is not None else None

    if finish is not None:  # a history-based sampler must see this result in its snapshot
        storage.finish(
            finish.trial_id,
            finish.state,
            value=finish.value,
            metrics=finish.metrics,
            error=finish.error,
        )
    asking = 0.0
    for attempt in range(4 * OPTIMISTIC_ATTEMPTS):
        snap = storage.snapshot(study.id, with_history=True, with_curves=True)
        if any(t.state.value == "WAITING" for t in snap.pending):
            waiting = storage.claim_waiting(study.id, worker_id, budget=budget, heartbeat=heartbeat)
            if waiting is not None:
                return RunningTrial(study, waiting)
        if budget is not None:
            active = (
                snap.next_number
                - sum(t.state.value == "FAILED" for t in snap.history)
                - sum(_unattended(t) for t in snap.pending)
            )
            if active >= budget:
                return None
        rng = seed_sequence(seed, snap.next_number, attempt)
        asked = time.perf_counter()
        try:
            proposal = _as_proposal(sampler.ask(space, snap.history, snap.pending, rng, direction))
        except SearchSpaceExhausted:
            return None
        asking += time.perf_counter() - asked
        # Re-proposing after a lost race is cheap for fast samplers and keeps proposals aware of
        # every pending trial; a slow sampler (a GP over hundreds of trials) that keeps losing to
        # fast workers would spend seconds per claim, so past a time budget it takes the number.
        patient = attempt < OPTIMISTIC_ATTEMPTS and asking < REPROPOSE_SECONDS
        expected = snap.next_number if patient else None
        claim = storage.claim_new(
            study.id,
            worker_id,
            proposal,
            expected_number=expected,
            budget=budget,
            heartbeat=heartbeat,
            take_waiting=True,
        )
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


def evaluate(
    study: Study,
    trial: RunningTrial,
    objective: Callable[..., Any],
    *,
    deferred: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> Outcome:
    """Run the objective on one claimed trial and say how it ended (nothing is written yet).

    Exceptions from the objective become a FAILED outcome with the reason; they do not
    escape, so the study goes on. Ctrl-C and SIGTERM release the trial (FAILED
    "interrupted", params re-queued) and re-raise, also when a library inside the
    objective caught the KeyboardInterrupt and carried on (scikit-learn's
    ``partial_fit`` does). A :class:`StorageError` escapes too: the database failed,
    not the trial, and the worker loop releases the trial and stops.

    Args:
        deferred: a context in which signals are held back while the trial is released.
    """
    started = time.perf_counter()
    try:
        try:
            raw = objective(dict(trial.params), trial)
        finally:
            check_interrupted()  # a Ctrl-C that the objective's libraries swallowed
        result = TrialResult.coerce(raw)
        check_finite(result.value)
    except TrialPruned:
        return Outcome(
            trial.trial_id,
            TrialState.PRUNED,
            trial.last_value,
            {"pruned_at_step": max(trial.curve) if trial.curve else None},
        )
    except (KeyboardInterrupt, WorkerInterrupted):
        with deferred():
            study.storage.release(trial.trial_id, reason=INTERRUPTED, requeue=True)
        raise
    except StorageError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of user code ends only this trial
        log.warning("Trial %d failed: %s", trial.number, _describe(e))
        return Outcome(trial.trial_id, TrialState.FAILED, error=_describe(e))
    except SystemExit as e:  # sys.exit() in user code ends this trial, not the worker
        reason = _describe(e).replace(
            f"SystemExit: {e}", f"the objective called sys.exit({e.code!r})", 1
        )
        log.warning("Trial %d failed: %s", trial.number, reason)
        return Outcome(trial.trial_id, TrialState.FAILED, error=reason)
    finally:
        trial.flush_quietly()  # the learning-curve points still buffered
    metrics = dict(result.metrics)
    metrics.setdefault("duration_s", round(time.perf_counter() - started, 4))
    metrics = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in metrics.items()
    }
    return Outcome(trial.trial_id, TrialState.COMPLETE, result.value, metrics)


def after_recorded(study: Study, outcome: Outcome) -> None:
    """Once a result is stored: keep trained weights only for the best completed trials
    (a pruned or failed trial may have written some before it stopped)."""
    root = study.artifacts_root
    if root is not None and root.exists():
        prune_artifacts(study)


class Heartbeat:
    """A daemon thread that keeps the worker's running trial alive and finds dead workers' trials.

    Every ``interval`` seconds it refreshes the heartbeat of the running trial and runs
    the study's stale check, so a dead worker's trial is failed (and retried) by any live
    worker, even one busy with a long trial of its own.
    """

    def __init__(self, study: Study, interval: float, *, check_stale: bool = True) -> None:
        self.study = study
        self.interval = interval
        self.check_stale = check_stale
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
        settings = self.study.settings
        while not self._stop.wait(self.interval):
            try:
                trial_id = self.trial_id
                if trial_id is not None:
                    self.study.storage.heartbeat([trial_id])
                if self.check_stale:
                    fail_stale(self.study, settings)
            except Exception as e:  # noqa: BLE001 - a missed beat is retried next interval
                log.warning("heartbeat failed: %s", e)


def fail_stale(study: Study, settings: Mapping[str, Any] | None = None) -> list[int]:
    """Fail (and re-queue, per ``max_retries``) trials whose worker stopped beating."""
    settings = settings or study.settings
    return study.storage.fail_stale(
        study.id,
        grace_seconds=float(settings["grace_period"]),
        max_retries=int(settings["max_retries"]),
    )


sigterm_as_interrupt = interrupts_as_exceptions  # the earlier name


@dataclass
class WorkerStats:
    worker_id: str
    finished: dict[str, int]
    seconds: float


INTERRUPTED = "interrupted: the worker was stopped (Ctrl-C/SIGTERM)"


def worker_loop(
    study: Study,
    *,
    n_trials: int | None,
    timeout: float | None = None,
    worker_id: str | None = None,
    max_failures: int | None = None,
    on_trial_end: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    callbacks: Sequence[Callback] = (),
) -> WorkerStats:
    """Claim and run trials until the study reaches ``n_trials`` finished ones, or time runs out.

    This is the whole of a worker: ``study.optimize``, local processes, Dask tasks and
    ``hpo worker`` all run it. Run it in the main thread to get clean stops: SIGTERM
    and Ctrl-C fail the running trial with reason "interrupted", re-queue its params
    for another worker, and then raise.

    Args:
        n_trials: the study's requested total of COMPLETE + PRUNED trials (None: until the
            sampler is exhausted or the timeout).
        timeout: stop claiming after this many seconds.
        worker_id: stored with each trial this worker runs (default host:pid:random).
        max_failures: stop after this many FAILED trials in this worker (default:
            max(10, n_trials), so an objective that always fails cannot loop forever).
        on_trial_end: called with the final state's name after each trial.
        should_stop: checked before each claim; True ends the loop (how a Dask task, which
            runs in a thread that signals cannot reach, is told to stop).
        callbacks: ``fn(study, trial)`` called in this process after each of its trials is
            stored (COMPLETE, PRUNED or FAILED), with the stored FrozenTrial and its curve.
            An exception in a callback stops the loop (its next trial is re-queued) and is
            raised, as in Optuna.

    Returns:
        WorkerStats: this worker's id, its count per final state, and its run time.

    Raises:
        WorkerInterrupted: on SIGTERM (after releasing the running trial).
        KeyboardInterrupt: on Ctrl-C / SIGINT (after releasing the running trial).
        StorageError: the database became unreachable.
    """
    worker_id = worker_id or new_worker_id()
    settings = study.settings
    objective = study.objective
    if objective is None:
        raise RuntimeError(f"Study {study.name!r} has no objective")
    heartbeat_on = not study.storage.in_memory
    interval = float(settings["heartbeat_interval"])
    limit = max_failures if max_failures is not None else max(10, n_trials or 10)
    finished = {"COMPLETE": 0, "PRUNED": 0, "FAILED": 0}
    start = time.monotonic()
    if heartbeat_on:
        fail_stale(study, settings)  # a restarted worker first frees what the dead ones held
    with (
        Heartbeat(study, interval, check_stale=heartbeat_on) as beat,
        interrupts_as_exceptions() as signals,
    ):
        trial: RunningTrial | None = None
        # The result of trial k is written by the transaction that claims trial k+1 (one
        # commit per trial); `unsaved` holds it in between and is flushed on every exit.
        unsaved: Outcome | None = None
        unsaved_number = -1
        ended_cleanly = False
        try:
            while True:
                if timeout is not None and time.monotonic() - start >= timeout:
                    break
                if should_stop is not None and should_stop():
                    break
                if finished["FAILED"] >= limit:
                    log.error(
                        "Worker %s stops: %d trials failed; see their errors with `hpo show %s`.",
                        worker_id,
                        finished["FAILED"],
                        study.name,
                    )
                    break
                with signals.deferred():
                    done, unsaved = unsaved, None
                    done_number = unsaved_number
                    try:
                        trial = claim_next(
                            study,
                            worker_id=worker_id,
                            budget=n_trials,
                            heartbeat=heartbeat_on,
                            finish=done,
                        )
                    except BaseException:
                        unsaved = done  # flushed below (writing it twice changes nothing)
                        raise
                if done is not None:
                    after_recorded(study, done)
                    try:
                        _notify(study, done_number, callbacks)
                    except Exception:
                        if trial is not None:  # claimed but not started: give it back
                            with signals.deferred():
                                study.storage.release(
                                    trial.trial_id, reason="a callback raised", requeue=True
                                )
                            trial = None
                        raise
                if trial is None:
                    if _retry_failed_grid_points(study, n_trials):
                        continue  # a failed grid point was re-queued: claim it
                    if heartbeat_on and _wait_for_others(study, n_trials):
                        time.sleep(min(0.2, interval))
                        continue  # a running trial may fail or go stale: its retry is ours
                    _say_unattended(study, n_trials)
                    break
                beat.trial_id = trial.trial_id  # keeps beating until its result is written
                unsaved = evaluate(study, trial, objective, deferred=signals.deferred)
                unsaved_number = trial.number
                write_failed, trial = trial.storage_error, None
                finished[unsaved.state.value] += 1
                if on_trial_end is not None:
                    on_trial_end(unsaved.state.value)
                if write_failed is not None:  # e.g. a full disk: stop (the result is written below)
                    raise write_failed
            ended_cleanly = True
        except (KeyboardInterrupt, WorkerInterrupted):
            if trial is not None:
                with signals.deferred():
                    study.storage.release(trial.trial_id, reason=INTERRUPTED, requeue=True)
            raise
        except StorageError as e:  # e.g. "database or disk is full": stop, but release first
            if trial is not None:
                with signals.deferred():
                    _release_after_storage_error(study, trial, e)
            raise
        finally:
            if unsaved is not None:  # the loop ended before a next claim could carry it
                with signals.deferred():
                    written = _flush(study, unsaved)
                if written and ended_cleanly:  # not while Ctrl-C / an error propagates
                    _notify(study, unsaved_number, callbacks)
            beat.trial_id = None
    return WorkerStats(worker_id, finished, time.monotonic() - start)


def _flush(study: Study, outcome: Outcome) -> bool:
    """Write a result the loop still holds; on a storage failure, say so (never mask the cause).

    Returns whether it was written.
    """
    try:
        study.storage.finish(
            outcome.trial_id,
            outcome.state,
            value=outcome.value,
            metrics=outcome.metrics,
            error=outcome.error,
        )
    except StorageError as e:
        log.error(
            "The result of trial id %d (%s) could not be written: %s",
            outcome.trial_id,
            outcome.state.value,
            e,
        )
        return False
    after_recorded(study, outcome)
    return True


def _notify(study: Study, number: int, callbacks: Sequence[Callback]) -> None:
    """Call each callback with trial ``number`` as stored (read back only when there are any)."""
    if callbacks:
        frozen = study.storage.trial(study.id, number)
        for callback in callbacks:
            callback(study, frozen)


def _release_after_storage_error(study: Study, trial: RunningTrial, error: StorageError) -> None:
    """Leave nothing RUNNING when the database fails mid-trial (best effort: it may still fail).

    Re-queueing inserts a row; on a full disk only the update of the trial itself may
    fit, so that is tried next (a grid point left failed is re-queued by a later run).
    """
    reason = f"released: the worker stopped on a storage error ({error})"
    for requeue in (True, False):
        try:
            study.storage.release(trial.trial_id, reason=reason[:2000], requeue=requeue)
            return
        except StorageError as e:
            log.error("Could not release trial %d (requeue=%s): %s", trial.number, requeue, e)


def _unattended(trial: FrozenTrial) -> bool:
    """A RUNNING trial nobody beats for: taken with ``Study.ask``, told whenever (or never).

    It holds no budget and nobody waits for it; once told it counts like any other.
    """
    return trial.state == TrialState.RUNNING and trial.heartbeat_at is None


def _room_left(study: Study, n_trials: int | None) -> int | None:
    """Trials the budget still allows to start (None: no budget)."""
    if n_trials is None:
        return None
    counts = study.storage.counts(study.id)
    held = sum(counts.get(s, 0) for s in ("COMPLETE", "PRUNED", "RUNNING", "WAITING"))
    if counts.get("RUNNING"):
        held -= sum(map(_unattended, study.storage.trials(study.id, [TrialState.RUNNING])))
    return n_trials - held


def _retry_failed_grid_points(study: Study, n_trials: int | None) -> bool:
    """Re-queue grid points whose every trial failed, while they have retries left."""
    room = _room_left(study, n_trials)
    if room is not None and room <= 0:
        return False
    return bool(
        study.storage.requeue_failed_grid_points(
            study.id, max_retries=int(study.settings["max_retries"]), limit=room
        )
    )


def _wait_for_others(study: Study, n_trials: int | None) -> bool:
    """Nothing to claim: is another worker's trial still running (it may fail or go stale)?

    Only trials with a heartbeat count: one taken with ``Study.ask`` (no heartbeat) is
    finished by whoever asked for it, and may never be.
    """
    if n_trials is not None:
        counts = study.storage.counts(study.id)
        if counts.get("COMPLETE", 0) + counts.get("PRUNED", 0) >= n_trials:
            return False
    running = study.storage.trials(study.id, [TrialState.RUNNING])
    return any(not _unattended(t) for t in running)


def _say_unattended(study: Study, n_trials: int | None) -> None:
    """At the end of a run: name the ``Study.ask`` trials still RUNNING, which the run did
    not wait for and did not count, so a total above ``n_trials`` later is no surprise."""
    running = study.storage.trials(study.id, [TrialState.RUNNING])
    asked = [t.number for t in running if _unattended(t)]
    if asked:
        log.warning(
            "Study %r: %d trial(s) taken with Study.ask() are still RUNNING (%s); this run "
            "neither waited for nor counted them toward n_trials=%s. Each counts once told.",
            study.name,
            len(asked),
            ", ".join(f"#{n}" for n in asked[:5]) + (" ..." if len(asked) > 5 else ""),
            n_trials,
        )
