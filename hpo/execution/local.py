"""Workers as local processes that never outlive the run that started them.

Each worker is a fresh interpreter (``python -m hpo.execution._child``) that gets its
job over stdin (the study's ``opener()`` and the budget, pickled with cloudpickle so
lambdas and closures travel) and writes its result to a file. The parent owns the ``Popen``
objects, so it knows every worker's pid without reaching into a pool's private state, and:

- Ctrl-C or SIGTERM to the parent (alone, or to its process group) sends one SIGTERM
  to each worker, which releases and re-queues its running trial and exits; the
  parent returns as soon as the last worker has exited (no join timeout to wait out),
  then re-raises. A second Ctrl-C / SIGTERM while waiting SIGKILLs the workers (their
  trials go stale and are retried later).
- If the parent dies without cleaning up (SIGKILL), each worker sees end-of-file on
  its stdin and stops as if it got SIGTERM.
- Workers run in their own session, so a terminal's Ctrl-C reaches only the parent,
  which forwards it exactly once.
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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.errors import WorkerInterrupted
from hpo.execution._child import dumps, write_frame
from hpo.execution.interrupts import interrupts_as_exceptions
from hpo.resources import thread_env

if TYPE_CHECKING:
    from hpo.execution.handle import StudyHandle

log = logging.getLogger("hpo.local")

POLL_SECONDS = 0.05  # how often the parent looks at its workers (it only waits)
PROGRESS_SECONDS = 0.5


@dataclass
class _Worker:
    """One worker process and the file its result comes back in."""

    process: subprocess.Popen[bytes]
    result_path: Path

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
        code = self.process.poll()
        if self.result_path.exists():
            return dict(pickle.loads(self.result_path.read_bytes()), exitcode=code)
        return {"exitcode": code}

    def close(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:
                pass


def _start(job: bytes, result_path: Path, env: dict[str, str]) -> _Worker:
    process = subprocess.Popen(
        [sys.executable, "-m", "hpo.execution._child"],
        stdin=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    worker = _Worker(process, result_path)
    assert process.stdin is not None
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
    progress: Any = None,
    callbacks: Any = (),
) -> list[dict[str, Any]]:
    """Run ``n_workers`` worker processes on this machine and wait for them.

    Ctrl-C or SIGTERM here stops every worker (each releases and re-queues its running
    trial), waits for them to exit, and re-raises (KeyboardInterrupt, WorkerInterrupted).

    Returns:
        One dict per worker: its id and count per final state, or ``interrupted``, and
        its ``exitcode``.

    Raises:
        The first error a worker raised (e.g. StorageError), after every worker exited.
    """
    job = dumps(
        {
            "open_study": study.opener(),
            "n_trials": n_trials,
            "timeout": timeout,
            "env": thread_env(n_workers),
            "callbacks": list(callbacks),
        }
    )
    env = {**os.environ, **thread_env(n_workers)}
    workers: list[_Worker] = []
    with (
        tempfile.TemporaryDirectory(prefix="hpo-workers-") as folder,
        interrupts_as_exceptions() as signals,
    ):
        try:
            for i in range(n_workers):
                with signals.deferred():  # a worker is never started without being tracked
                    workers.append(_start(job, Path(folder) / f"worker-{i}", env))
            _wait(workers, progress)
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
