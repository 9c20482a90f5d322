"""Workers as Dask tasks: ``study.optimize(n_trials, n_workers=N, executor=client_or_address)``.

Each task is the ordinary worker loop: it opens the study by name from the storage
URL and claims trials until the study holds ``n_trials`` finished ones. The database
coordinates everything, so a task that dies (its Dask worker lost) leaves a trial
whose heartbeat goes stale, and the other tasks fail it and retry it.

Dask workers may be on other machines, so the storage must be a server every one of
them can reach (PostgreSQL); a SQLite file is refused.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from threadpoolctl import threadpool_limits

from hpo.errors import ConfigError
from hpo.resources import thread_env_for
from hpo.storage import is_sqlite

if TYPE_CHECKING:
    from hpo.execution.handle import StudyHandle


def check_storage_for_cluster(url: str) -> None:
    """Refuse storage that Dask workers on other machines cannot share."""
    if is_sqlite(url):
        raise ConfigError(
            f"Storage {url!r} is a SQLite database, which Dask workers on other machines cannot "
            "share (a file on a network filesystem breaks SQLite's locking; an in-memory one is "
            "private to one process). Use PostgreSQL: storage='postgresql://user@host/db'. "
            "For processes on this machine only, use n_workers= without executor=."
        )


def _task(
    open_study: Callable[[], StudyHandle],
    n_trials: int | None,
    timeout: float | None,
    stop_name: str,
    callbacks: Any = (),
) -> dict[str, Any]:
    """One Dask task: run the worker loop until the study is done or the client says stop.

    Args:
        open_study: the study's ``opener()``: reopens it by name from its storage URL.
        callbacks: ``fn(study, trial)`` run in the task after each of its trials.
    """
    from distributed import Event, get_client

    from hpo.execution.worker import worker_loop

    stop = Event(stop_name, client=get_client())
    checked = [0.0]

    def should_stop() -> bool:  # one scheduler round trip at most every half second
        if time.monotonic() - checked[0] < 0.5:
            return False
        checked[0] = time.monotonic()
        return bool(stop.is_set())

    threads = _threads_for_this_task()
    os.environ.update(thread_env_for(threads))
    study = open_study()
    with threadpool_limits(threads):
        stats = worker_loop(
            study, n_trials=n_trials, timeout=timeout, should_stop=should_stop, callbacks=callbacks
        )
    return {"worker_id": stats.worker_id, **stats.finished}


def _threads_for_this_task() -> int:
    """This host's cores shared among every Dask worker thread on it (so tasks never oversubscribe).

    Without this, each task's BLAS / torch would use every core of the host while other tasks
    do the same: on 2 cores, 2 tasks x 2 threads made small-MLP trials several times slower.
    """
    from distributed import get_client, get_worker

    from hpo.resources import cpu_count

    worker = get_worker()
    host = worker.address.rsplit(":", 1)[0]
    try:
        workers = get_client().scheduler_info(n_workers=-1)["workers"].values()
    except TypeError:  # older distributed: no n_workers argument
        workers = get_client().scheduler_info()["workers"].values()
    on_host = (
        sum(
            int(w.get("nthreads", 1))
            for w in workers
            if str(w.get("host", "")) == host.split("://")[-1]
        )
        or worker.state.nthreads
    )
    return max(1, cpu_count() // max(1, on_host))


def run_dask(
    study: StudyHandle,
    *,
    executor: Any,
    n_trials: int | None,
    n_workers: int,
    timeout: float | None = None,
    progress: Any = None,
    callbacks: Any = (),
) -> list[dict[str, Any]]:
    """Run ``n_workers`` worker-loop tasks on a Dask cluster and wait for them.

    Args:
        executor: a ``distributed.Client``, or a scheduler address (``"tcp://host:8786"``)
            to connect to for this run.
        n_trials: the study's requested total of finished trials.
        n_workers: tasks to submit (each runs trials one after another).
        timeout: each task stops claiming after this many seconds.
        progress: refreshed while waiting (a :class:`~hpo.execution.progress.StudyProgress`).
        callbacks: ``fn(study, trial)`` run in the task after each of its trials.

    Returns:
        One dict per task: its worker id and counts per final state.

    Raises:
        ConfigError: SQLite storage, or an executor that is neither a Client nor an address.
    """
    check_storage_for_cluster(study.storage.url)
    try:
        from distributed import Client, Event
    except ImportError as e:
        raise ConfigError("executor= needs Dask: pip install 'hpo[dask]'.") from e
    if isinstance(executor, str):
        with Client(executor) as client:
            return run_dask(
                study,
                executor=client,
                n_trials=n_trials,
                n_workers=n_workers,
                timeout=timeout,
                progress=progress,
                callbacks=callbacks,
            )
    if not isinstance(executor, Client):
        raise ConfigError(
            f"executor must be a dask.distributed Client or a scheduler address. Got {executor!r}."
        )
    client = executor
    run_id = uuid.uuid4().hex[:8]
    stop = Event(f"hpo-stop-{run_id}", client=client)
    futures = [
        client.submit(
            _task,
            study.opener(),
            n_trials,
            timeout,
            stop.name,
            callbacks,
            pure=False,
            key=f"hpo-worker-{study.name}-{run_id}-{i}",
        )
        for i in range(n_workers)
    ]
    try:
        while not all(f.done() for f in futures):
            if any(f.status == "error" for f in futures):
                break
            if progress is not None:
                progress.refresh()
            time.sleep(0.25)
        return client.gather(futures)
    except BaseException:
        stop.set()  # running tasks finish their trial and stop; queued ones are cancelled
        client.cancel([f for f in futures if not f.done()])
        raise
