"""Workers as local processes that never outlive the run that started them.

Each worker is started one of two ways, chosen once per run (``HPO_WORKER_START``):

- **a fork of this process** (``auto``, the default, and ``fork``): the child already has
  everything imported (scikit-learn, the study file, the GP sampler) and the job in
  memory, so it starts in milliseconds instead of 1-2 s. Only when forking is safe
  (:mod:`._fork`: Linux, no other thread, no used OpenMP pool, no CUDA, no other open
  connection to the SQLite file); the parent first closes its pooled SQLite connections,
  and the child disposes the inherited engine without closing the parent's connections,
  reopens the study with ``opener()`` and ends with ``os._exit``.
- **a fresh interpreter** (``python -m hpo.execution._child``, and ``fresh``; the fallback
  whenever a fork is not safe, and off Linux): it gets its job over stdin (the study's
  ``opener()`` and the budget, pickled with cloudpickle so lambdas and closures travel).

Either way the worker writes its result to a file, its stdin is a pipe the parent holds,
and it runs in its own session. The parent owns the processes (``Popen`` objects, or
pids it forked), so it knows every worker's pid without reaching into a pool's private
state, and:

- Ctrl-C or SIGTERM to the parent (alone, or to its process group) sends one SIGTERM
  to each worker, which releases and re-queues its running trial and exits; the
  parent returns as soon as the last worker has exited (no join timeout to wait out),
  then re-raises. A second Ctrl-C / SIGTERM while waiting SIGKILLs the workers (their
  trials go stale and are retried later).
- If the parent dies without cleaning up (SIGKILL), each worker sees end-of-file on
  its stdin and stops as if it got SIGTERM (a forked worker closes every other worker's
  end of the pipes it inherited, so nothing but the parent holds them open).
- Workers run in their own session, so a terminal's Ctrl-C reaches only the parent,
  which forwards it exactly once.
- The progress display starts after the workers (its thread must not exist at a fork).
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from hpo.errors import WorkerInterrupted
from hpo.execution import _fork
from hpo.execution._child import dumps, serve, write_frame
from hpo.execution.interrupts import interrupts_as_exceptions
from hpo.resources import thread_env
from hpo.storage.engine import sqlite_path

if TYPE_CHECKING:
    from hpo.execution.handle import StudyHandle

log = logging.getLogger("hpo.local")

POLL_SECONDS = 0.05  # how often the parent looks at its workers (it only waits)
PROGRESS_SECONDS = 0.5


@dataclass
class _Worker:
    """One worker process, the parent's end of its pipe, and the file its result comes back in."""

    process: subprocess.Popen[bytes] | _fork.ForkedProcess
    result_path: Path
    pipe: IO[bytes] | int  # closed only when the worker is gone: its end-of-file means "stop"
    start: str  # "fork" or "fresh"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive:
            try:
                self.process.send_signal(sig)
            except ProcessLookupError:
                pass

    def result(self) -> dict[str, Any]:
        """What the worker sent back; a worker killed by a signal sent nothing."""
        seen = {"exitcode": self.process.poll(), "start": self.start}
        if self.result_path.exists():
            return {**pickle.loads(self.result_path.read_bytes()), **seen}
        return seen

    def close(self) -> None:
        try:
            if isinstance(self.pipe, int):
                os.close(self.pipe)
            elif not self.pipe.closed:
                self.pipe.close()
        except OSError:
            pass


def _start_fresh(job: bytes, result_path: Path, env: dict[str, str]) -> _Worker:
    """A fresh interpreter: ``python -m hpo.execution._child``, the job over its stdin."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hpo.execution._child"],
        stdin=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    assert process.stdin is not None
    worker = _Worker(process, result_path, process.stdin, "fresh")
    try:
        write_frame(
            process.stdin,
            pickle.dumps({"sys_path": list(sys.path), "result_path": str(result_path)}),
        )
        write_frame(process.stdin, job)
        process.stdin.flush()  # stdin stays open: its end-of-file tells the worker we are gone
    except BrokenPipeError:
        pass  # the worker died at start-up; its exit status says so
    return worker


def _start_forked(
    study: StudyHandle, job: dict[str, Any], result_path: Path, others: list[_Worker]
) -> _Worker:
    """A fork of this process, the job already in its memory (see :mod:`._fork`)."""
    read_end, write_end = os.pipe()
    try:
        pid = _fork.fork_worker(
            lambda: serve(lambda: job, str(result_path), 0),
            parent_fd=read_end,
            close_fds=[write_end, *(w.pipe for w in others if isinstance(w.pipe, int))],
            engine=study.storage.engine,
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    return _Worker(_fork.ForkedProcess(pid), result_path, write_end, "fork")


def choose_start(study: StudyHandle) -> str:
    """``"fork"`` when ``HPO_WORKER_START`` allows it and forking is safe now, else ``"fresh"``.

    Closes this process's pooled SQLite connections first (they are reopened on next use):
    SQLite connections must not be open across a fork.
    """
    method = _fork.start_method()
    if method == "fresh":
        return "fresh"
    _fork.close_parent_connections(study.storage.engine)
    reason = _fork.fork_unsafe_reason(sqlite_path(study.storage.url))
    if reason is None:
        return "fork"
    (log.warning if method == "fork" else log.debug)(
        "Starting the workers as fresh interpreters, not forks: %s", reason
    )
    return "fresh"


def _wait(workers: list[_Worker], progress: Any) -> None:
    refreshed = time.monotonic()
    while any(w.alive for w in workers):
        time.sleep(POLL_SECONDS)
        if progress is not None and time.monotonic() - refreshed >= PROGRESS_SECONDS:
            progress.refresh()
            refreshed = time.monotonic()


def _stop(workers: list[_Worker]) -> None:
    """SIGTERM every worker and wait until all have released their trials and exited.

    A second interrupt while waiting escalates to SIGKILL.
    """
    for w in workers:
        w.signal(signal.SIGTERM)
    try:
        _wait(workers, None)
    except (KeyboardInterrupt, WorkerInterrupted):
        _kill(workers)


def _kill(workers: list[_Worker]) -> None:
    for w in workers:
        w.signal(signal.SIGKILL)
    for w in workers:
        w.process.wait()


def run_processes(
    study: StudyHandle,
    *,
    n_trials: int | None,
    n_workers: int,
    timeout: float | None,
    progress: Callable[[], AbstractContextManager[Any]] | None = None,
    callbacks: Any = (),
) -> list[dict[str, Any]]:
    """Run ``n_workers`` worker processes on this machine and wait for them.

    Ctrl-C or SIGTERM here stops every worker (each releases and re-queues its running
    trial), waits for them to exit, and re-raises (KeyboardInterrupt, WorkerInterrupted).

    Args:
        progress: makes the progress display (``StudyProgress``), entered once the workers
            are started: a display's thread must not exist when the workers are forked.

    Returns:
        One dict per worker: its id and count per final state, or ``interrupted``, its
        ``exitcode`` and how it was started (``start``: ``"fork"`` or ``"fresh"``).

    Raises:
        The first error a worker raised (e.g. StorageError), after every worker exited.
    """
    job = {
        "open_study": study.opener(),
        "n_trials": n_trials,
        "timeout": timeout,
        "env": thread_env(n_workers),
        "callbacks": list(callbacks),
    }
    env = {**os.environ, **thread_env(n_workers)}
    workers: list[_Worker] = []
    with (
        tempfile.TemporaryDirectory(prefix="hpo-workers-") as folder,
        interrupts_as_exceptions() as signals,
        ExitStack() as display,  # closed after the workers are stopped: its last line is true
    ):
        try:
            start = choose_start(study)
            pickled = dumps(job) if start == "fresh" else b""
            for i in range(n_workers):
                path = Path(folder) / f"worker-{i}"
                with signals.deferred():  # a worker is never started without being tracked
                    if start == "fork":
                        workers.append(_start_forked(study, job, path, workers))
                    else:
                        workers.append(_start_fresh(pickled, path, env))
            shown = display.enter_context(progress()) if progress is not None else None
            _wait(workers, shown)
        except BaseException:  # Ctrl-C, SIGTERM, or the parent itself failed
            _stop(workers)
            raise
        finally:
            _kill([w for w in workers if w.alive])  # never leave a worker behind
            for w in workers:
                w.close()
        results = [w.result() for w in workers]
    for r in results:
        if "error" in r:
            raise r["error"]
    died = [r["exitcode"] for r in results if "worker_id" not in r and "interrupted" not in r]
    if died:
        log.warning(
            "%d worker process(es) died (exit status %s); their trials are retried "
            "once their heartbeat goes stale.",
            len(died),
            died,
        )
    return results
