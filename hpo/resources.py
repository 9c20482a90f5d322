"""How many CPU threads one worker may use, so that workers x threads never exceeds the cores."""

from __future__ import annotations

import os

THREADS_ENV = "HPO_THREADS_PER_WORKER"


def cpu_count() -> int:
    """Cores this process may run on (respects CPU affinity / container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def threads_per_worker(n_workers: int | None = None) -> int:
    """Threads for one worker: the env override if set, else cores // n_workers (at least 1)."""
    env = os.environ.get(THREADS_ENV)
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, cpu_count() // max(1, n_workers or 1))


def thread_env(n_workers: int) -> dict[str, str]:
    """Environment for a worker process: BLAS/OpenMP/torch capped at its share of the cores."""
    return thread_env_for(threads_per_worker(n_workers))


def thread_env_for(threads: int) -> dict[str, str]:
    """Environment variables that cap BLAS/OpenMP/torch at ``threads``."""
    n = str(max(1, int(threads)))
    return {THREADS_ENV: n, "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n}
