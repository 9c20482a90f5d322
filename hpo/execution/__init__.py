"""Running studies: in this process, as local worker processes, or on a Dask cluster."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hpo.errors import ConfigError
from hpo.execution.progress import StudyProgress
from hpo.execution.worker import Callback, claim_next, worker_loop

if TYPE_CHECKING:
    from hpo.execution.handle import StudyHandle

log = logging.getLogger("hpo.worker")

__all__ = ["run_study", "worker_loop", "claim_next", "StudyProgress"]


def run_study(
    study: StudyHandle,
    *,
    n_trials: int,
    n_workers: int = 1,
    timeout: float | None = None,
    executor: Any = None,
    show_progress: bool | None = None,
    callbacks: Sequence[Callback] = (),
) -> None:
    """Run workers until the study reaches ``n_trials`` finished trials (see Study.optimize).

    A callback with a ``setup(study)`` method has it called once here, before any worker
    starts, so what every worker shares (an MLflow experiment and study run, a folder) is
    made by one process instead of raced for by all of them.
    """
    for callback in callbacks:
        setup = getattr(callback, "setup", None)
        if callable(setup):
            setup(study)
    _run(
        study,
        n_trials=n_trials,
        n_workers=n_workers,
        timeout=timeout,
        executor=executor,
        show_progress=show_progress,
        callbacks=callbacks,
    )
    failed = study.storage.failed_grid_points(study.id)
    if failed:  # the command line exits 1 on this; the API says it once
        log.warning(
            "Study %r: %d grid point(s) have no successful trial (every attempt FAILED), "
            "e.g. trial %d %s: %s",
            study.name,
            len(failed),
            failed[0].number,
            failed[0].params,
            failed[0].error,
        )


def _run(
    study: StudyHandle,
    *,
    n_trials: int,
    n_workers: int,
    timeout: float | None,
    executor: Any,
    show_progress: bool | None,
    callbacks: Sequence[Callback],
) -> None:
    if executor is not None:
        from hpo.execution.dask import run_dask

        with StudyProgress(study, n_trials, enabled=show_progress) as progress:
            run_dask(
                study,
                executor=executor,
                n_trials=n_trials,
                n_workers=n_workers,
                timeout=timeout,
                progress=progress,
                callbacks=callbacks,
            )
        return
    if n_workers > 1 and study.storage.in_memory:
        raise ConfigError(
            "An in-memory storage ('sqlite://') is private to one process, so n_workers > 1 cannot "
            "share it. Use a file, e.g. storage='sqlite:///studies/hpo.db'."
        )
    if n_workers == 1:
        with StudyProgress(study, n_trials, enabled=show_progress) as progress:
            worker_loop(
                study,
                n_trials=n_trials,
                timeout=timeout,
                on_trial_end=lambda _state: progress.refresh(force=True),
                callbacks=callbacks,
            )
        return
    from hpo.execution.local import run_processes

    run_processes(  # the display starts once the workers are (it has a thread: forks come first)
        study,
        n_trials=n_trials,
        n_workers=n_workers,
        timeout=timeout,
        progress=lambda: StudyProgress(study, n_trials, enabled=show_progress),
        callbacks=callbacks,
    )
