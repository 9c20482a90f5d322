"""Start a local worker by forking this process: whether it is safe, and the child's side.

A fresh interpreter (``python -m hpo.execution._child``) spends most of its start-up
importing what the parent has already imported (scikit-learn, the study file, the GP
sampler: 1-2 s). A forked child starts with all of that in memory, in milliseconds.

Forking a process is only safe when nothing that cannot survive a fork is live, so
:func:`fork_unsafe_reason` refuses (and the caller starts a fresh interpreter) unless:

- the platform is Linux (``os.fork`` and ``/proc``; macOS frameworks are not fork-safe);
- only the main Python thread runs (another thread may hold a lock, e.g. logging's or
  the rich progress display's, that the child would inherit locked);
- torch has not initialized CUDA;
- no native thread survives a fork: pools that are fork-aware (OpenBLAS stops its
  threads before a fork and restarts them on demand; jemalloc's background thread) are
  fine, but an OpenMP pool that already ran (libgomp: scikit-learn's Cython loops,
  torch's intra-op threads) would leave the child waiting for threads it does not have.
  A probe fork (a child that exits at once) shows which threads do not go away;
- this process holds no open file of the SQLite database (SQLite: "do not carry an open
  connection across a fork()"): the study's own pooled connections are closed first
  (:func:`close_parent_connections`), and any other open connection to the file refuses.

In the child, the inherited engine is disposed with ``close=False`` (the parent's pooled
connections, e.g. a PostgreSQL socket, stay the parent's; the child reopens the study
and makes its own), signal handlers are reset to what a fresh interpreter has, and the
child ends with ``os._exit`` so that nothing of the parent's (atexit handlers, temporary
folders, inherited connections) is finalized by it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from sqlalchemy import Engine

START_ENV = "HPO_WORKER_START"
"""``auto`` (default): fork when safe, else a fresh interpreter; ``fork``: the same, but
say why when it falls back; ``fresh``: always a fresh interpreter."""
START_CHOICES = ("auto", "fork", "fresh")

# Native threads that survive a fork in the parent but whose library handles the fork.
FORK_AWARE_THREADS = frozenset({"jemalloc_bg_thd"})

_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_inherited: list[Any] = []  # the parent's connection pools, kept alive (never finalized here)


def start_method() -> str:
    """The start method asked for in ``HPO_WORKER_START`` (default ``auto``)."""
    method = os.environ.get(START_ENV, "auto").strip().lower() or "auto"
    if method not in START_CHOICES:
        from hpo.errors import ConfigError

        raise ConfigError(
            f"{START_ENV} must be one of {list(START_CHOICES)}. Got {method!r} instead."
        )
    return method


def close_parent_connections(engine: Engine) -> None:
    """Close this process's pooled connections of ``engine`` (reopened on next use) so that
    no SQLite connection is open across the fork."""
    if engine.dialect.name == "sqlite":
        engine.dispose()


def fork_unsafe_reason(database: Path | None = None) -> str | None:
    """Why forking this process now is not safe, or None when it is (see the module doc)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return f"forking is only used on Linux (this is {sys.platform})"
    threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if threads:
        return f"other threads are running: {', '.join(sorted(threads))}"
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    if cuda is not None and cuda.is_initialized():
        return "torch has initialized CUDA"
    survivors = _threads_surviving_a_fork()
    if survivors:
        return f"native threads that do not stop for a fork: {', '.join(survivors)}"
    if database is not None:
        held = _open_files_of(database)
        if held:
            return f"this process holds {len(held)} open file(s) of {database} (another connection)"
    return None


def _fork() -> int:
    """``os.fork()`` without Python 3.12's warning about a multi-threaded process: the only
    threads left are ones :func:`fork_unsafe_reason` found fork-aware (or the probe's)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", r".*use of fork\(\) may lead to deadlocks", DeprecationWarning
        )
        return os.fork()


def _thread_names() -> list[str]:
    names = []
    for tid in os.listdir("/proc/self/task"):
        try:
            names.append(Path(f"/proc/self/task/{tid}/comm").read_text().strip())
        except OSError:  # the thread ended meanwhile
            continue
    return names


def _threads_surviving_a_fork() -> list[str]:
    """Names of this process's threads, other than the main one, that a fork leaves running."""
    if len(os.listdir("/proc/self/task")) > 1:  # fork-aware pools stop in their atfork handler
        pid = _fork()
        if pid == 0:  # the probe: nothing to do
            os._exit(0)
        os.waitpid(pid, 0)
    names = _thread_names()
    main = Path("/proc/self/comm").read_text().strip()
    if main in names:
        names.remove(main)  # the main thread itself (other threads may share its name)
    return sorted(n for n in names if n not in FORK_AWARE_THREADS)


def _open_files_of(database: Path) -> list[str]:
    """Descriptors of this process open on the database file or its -wal / -shm files."""
    try:
        target = str(database.resolve())
    except OSError:
        return []
    names = {target, f"{target}-wal", f"{target}-shm", f"{target}-journal"}
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") in names:
                held.append(fd)
        except OSError:
            continue
    return held


def fork_worker(
    serve: Callable[[], int], *, parent_fd: int, close_fds: Iterable[int], engine: Engine
) -> int:
    """Fork a worker that runs ``serve()`` and exits with its status; returns the child's pid.

    Args:
        serve: the worker's whole life (runs in the child, returns its exit status).
        parent_fd: the read end of the pipe whose end-of-file means the parent is gone;
            it becomes the child's stdin, as in a fresh interpreter.
        close_fds: descriptors the child must not keep (the write ends of every worker's
            pipe, or a dead parent would never reach end-of-file).
        engine: the parent's engine, disposed in the child without closing its connections.
    """
    for stream in (sys.stdout, sys.stderr):  # or the child would write the parent's buffer again
        stream.flush()
    # Signals wait until the child has reset its handlers (it must not run the parent's),
    # and reach the parent right after the fork.
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        pid = _fork()
        if pid == 0:
            _child(serve, parent_fd=parent_fd, close_fds=close_fds, engine=engine)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    return pid


def _child(
    serve: Callable[[], int], *, parent_fd: int, close_fds: Iterable[int], engine: Engine
) -> NoReturn:
    code = 1
    try:
        os.setsid()  # its own session: a terminal's Ctrl-C reaches only the parent
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as a fresh interpreter starts
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from hpo.execution import interrupts

        interrupts._active = None  # the parent's handler object is not this process's
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        for fd in close_fds:
            os.close(fd)
        os.dup2(parent_fd, 0)
        os.close(parent_fd)
        _inherited.append(engine.pool)  # referenced forever: never closed by this process
        engine.dispose(close=False)
        numpy = sys.modules.get("numpy")
        if numpy is not None:  # a fresh interpreter seeds numpy's global generator afresh
            numpy.random.seed()
        code = serve()
    except BaseException:  # noqa: BLE001 - the child must never return into the parent's code
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001,S110 - exiting regardless
                pass
        os._exit(code)


class ForkedProcess:
    """A forked worker seen as a ``subprocess.Popen``: pid, poll, wait, send_signal,
    and ``returncode`` (negative: the signal that ended it)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:  # never signal a reaped pid: it may belong to another process
            os.kill(self.pid, sig)
