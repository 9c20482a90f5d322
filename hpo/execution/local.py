"""Workers as local processes (loky, so lambdas and closures travel with cloudpickle)."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from typing import TYPE_CHECKING, Any

from joblib.externals.loky import ProcessPoolExecutor

from hpo.resources import thread_env

if TYPE_CHECKING:
    from hpo.study import Study


def _worker_process(storage_url: str, study_name: str, sampler: Any, objective: Any,
                    n_trials: int | None, timeout: float | None, env: dict[str, str]) -> dict[str, Any]:
    """Entry point of one worker process: open the study by name and run the loop."""
    os.environ.update(env)
    from threadpoolctl import threadpool_limits

    from hpo.execution.worker import WorkerInterrupted, worker_loop
    from hpo.study import load_study

    study = load_study(study_name, storage=storage_url, objective=objective, sampler=sampler)
    with threadpool_limits(int(env.get("OMP_NUM_THREADS", "1"))):
        try:
            stats = worker_loop(study, n_trials=n_trials, timeout=timeout)
        except WorkerInterrupted:
            return {"interrupted": True}
    return {"worker_id": stats.worker_id, **stats.finished}


def run_processes(study: Study, *, n_trials: int | None, n_workers: int, timeout: float | None,
                  progress: Any = None) -> list[dict[str, Any]]:
    """Run ``n_workers`` worker processes on this machine and wait for them.

    Ctrl-C here sends SIGTERM to every worker, which releases its running trial
    (re-queued) before exiting, so nothing is left RUNNING.
    """
    env = thread_env(n_workers)
    executor = ProcessPoolExecutor(max_workers=n_workers)
    futures: list[Future[dict[str, Any]]] = []
    try:
        for _ in range(n_workers):
            futures.append(executor.submit(_worker_process, study.storage.url, study.name,
                                           study.sampler, study.objective, n_trials, timeout, env))
        while True:
            done, not_done = wait(futures, timeout=0.5, return_when=FIRST_EXCEPTION)
            if progress is not None:
                progress.refresh()
            if not not_done or any(f.exception() for f in done):
                break
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        _terminate(executor)
        raise
    finally:
        executor.shutdown(wait=True)


def _terminate(executor: ProcessPoolExecutor) -> None:
    processes = dict(getattr(executor, "_processes", None) or {})
    for proc in processes.values():
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except (ProcessLookupError, AttributeError):
            pass
    deadline = time.monotonic() + 10
    for proc in processes.values():
        proc.join(timeout=max(0.1, deadline - time.monotonic()))
