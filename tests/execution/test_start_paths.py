"""How local workers start: forks of the parent when that is safe, fresh interpreters otherwise.

Each check runs in a fresh Python process (``SCRIPT``), because whether a fork is safe
depends on the whole process (threads other tests left, an OpenMP pool torch started).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, os, sys
    import hpo
    from hpo.execution.local import run_processes
    from tests.execution.helpers import FAST_SETTINGS, SPACE, slow

    url, name = sys.argv[1], sys.argv[2]
    study = hpo.create_study(name, storage=url, space=SPACE, objective=slow, seed=0,
                             **FAST_SETTINGS)
    backend = None
    if study.storage.is_postgres:  # the connection this process keeps in its pool
        with study.storage.engine.connect() as conn:
            backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    print("before the workers")  # buffered (stdout is a pipe): a fork must not print it again
    results = run_processes(study, n_trials=6, n_workers=2, timeout=None)
    after = None
    if backend is not None:  # the same connection, alive: no worker closed it
        with study.storage.engine.connect() as conn:
            after = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    workers = sorted({t.worker_id.split(":")[-2] for t in study.trials})
    trial = study.ask()  # the parent's storage still writes after its workers are gone
    study.tell(trial, 1.0)
    print(json.dumps({
        "starts": [r["start"] for r in results],
        "exitcodes": [r["exitcode"] for r in results],
        "workers": workers,
        "parent": str(os.getpid()),
        "counts": study.counts(),
        "backend": [backend, after],
    }))
""")


def _run(*args: str, **env: str) -> dict[str, object]:
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout buffered
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        env={**environ, "PYTHONPATH": os.getcwd(), "HPO_TEST_SLEEP": "0.1", **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("before the workers") == 1, proc.stdout
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
@pytest.mark.parametrize("start", ["auto", "fresh"])
def test_both_start_paths_run_the_study_on_their_own_connections(storage_url, study_name, start):
    seen = _run(storage_url, study_name, HPO_WORKER_START=start)
    assert seen["starts"] == (["fork", "fork"] if start == "auto" else ["fresh", "fresh"])
    assert seen["exitcodes"] == [0, 0]
    assert seen["workers"] and seen["parent"] not in seen["workers"]  # run by the workers
    assert seen["counts"] == {"COMPLETE": 7}  # 6 by the workers, 1 told by the parent after
    before, after = seen["backend"]  # type: ignore[misc]
    assert before == after  # PostgreSQL: the parent's pooled connection survived its forks


FALLBACKS = textwrap.dedent("""
    import json, sys, threading
    import hpo
    from hpo.execution.local import choose_start
    from hpo.execution._fork import fork_unsafe_reason
    from hpo.storage import sqlite_path
    from tests.execution.helpers import SPACE, fast

    url = sys.argv[1]
    study = hpo.create_study("s", storage=url, space=SPACE, objective=fast, seed=0)
    seen = {"clean": choose_start(study)}

    other = hpo.load_study("s", storage=url)  # a second engine holding a connection open
    held = other.storage.engine.connect()
    seen["open connection"] = [choose_start(study), fork_unsafe_reason(sqlite_path(url))]
    held.close()
    other.storage.engine.dispose()

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="busy")
    thread.start()
    seen["thread"] = [choose_start(study), fork_unsafe_reason()]
    stop.set()
    thread.join()

    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:  # an OpenMP pool that ran survives a fork: the child would hang
        torch.set_num_threads(2)
        x = torch.randn(1000, 1000)
        for _ in range(3):
            x @ x
        seen["openmp"] = [choose_start(study), fork_unsafe_reason()]
    print(json.dumps(seen))
""")


def _run_asking_fork(script: str, url: str) -> subprocess.CompletedProcess[str]:
    """Run ``script URL`` in a fresh interpreter with HPO_WORKER_START=fork."""
    return subprocess.run(
        [sys.executable, "-c", script, url],
        env={**os.environ, "PYTHONPATH": os.getcwd(), "HPO_WORKER_START": "fork"},
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.slow
def test_unsafe_to_fork_falls_back_to_fresh_interpreters(sqlite_url):
    proc = _run_asking_fork(FALLBACKS, sqlite_url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["clean"] == "fork"
    start, reason = seen["open connection"]
    assert start == "fresh" and "open file" in reason
    start, reason = seen["thread"]
    assert start == "fresh" and "other threads are running: busy" in reason
    if "openmp" in seen:
        start, reason = seen["openmp"]
        assert start == "fresh" and "native threads" in reason
    assert "Starting the workers as fresh interpreters" in proc.stderr  # said, with fork asked


def test_an_unknown_start_method_is_refused(monkeypatch):
    from hpo.errors import ConfigError
    from hpo.execution._fork import start_method

    monkeypatch.setenv("HPO_WORKER_START", "spawn")
    with pytest.raises(ConfigError, match="HPO_WORKER_START must be one of"):
        start_method()


PROGRESS = textwrap.dedent("""
    import sys
    import hpo
    from tests.execution.helpers import SPACE, fast
    study = hpo.create_study("bar", storage=sys.argv[1], space=SPACE, objective=fast, seed=0)
    study.optimize(4, n_workers=2, show_progress=True)  # a rich bar: a refresh thread
    print(study.counts())
""")


@pytest.mark.slow
def test_the_progress_bar_starts_after_the_workers_so_they_still_fork(sqlite_url):
    proc = _run_asking_fork(PROGRESS, sqlite_url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "{'COMPLETE': 4}" in proc.stdout
    assert "fresh interpreters" not in proc.stderr  # "fork" says so when it cannot fork
