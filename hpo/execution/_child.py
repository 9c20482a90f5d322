"""One local worker process, started by :mod:`.local`: its life (:func:`serve`), and the
entry point of a fresh interpreter (``python -m hpo.execution._child``).

A worker forked from the parent (:mod:`._fork`) has its job in memory already and runs
:func:`serve` directly. A fresh interpreter reads it from stdin first: two length-prefixed
pickles, a header (``sys.path``, where to write the result) and the job (the study's
``opener()``, which carries its name, storage URL, sampler and objective, and the budget),
pickled with cloudpickle so lambdas and closures travel.

Either way the worker's stdin is a pipe the parent keeps open for the worker's whole life:
end-of-file on it means the parent is gone (even by SIGKILL), and the worker stops as if
it got SIGTERM (releasing its running trial), so no worker ever outlives its run.

The worker runs in its own session, so a terminal's Ctrl-C reaches only the parent,
which forwards exactly one SIGTERM to each worker.

Exit status: 0 done, 143 stopped by SIGTERM, 130 by SIGINT, 1 an error (in the result).
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import Callable
from typing import IO, Any, BinaryIO

from hpo.startup import StartupGC

_LENGTH = struct.Struct("!Q")


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_LENGTH.pack(len(payload)) + payload)


def read_frame(stream: BinaryIO) -> bytes:
    head = stream.read(_LENGTH.size)
    if len(head) != _LENGTH.size:
        raise EOFError("the parent closed the pipe before sending the job")
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("the parent closed the pipe in the middle of the job")
    return data


def dumps(obj: Any) -> bytes:
    """Pickle with cloudpickle (functions of ``__main__`` and study files travel by value)."""
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - joblib vendors it
        from joblib.externals import cloudpickle  # type: ignore[no-redef]
    return bytes(cloudpickle.dumps(obj))


def _watch_parent(fd: int) -> None:
    """SIGTERM this process when the parent's end of the pipe ``fd`` closes (the parent exited)."""

    def watch() -> None:  # os.read, not the buffered file: no lock held at interpreter exit
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="hpo-parent-watch", daemon=True).start()


def _write_result(path: str, result: dict[str, Any]) -> None:
    try:
        data = dumps(result)
    except Exception as e:  # noqa: BLE001 - an unpicklable exception still reports its text
        error = result.get("error")
        data = dumps(
            {"error": RuntimeError(f"{type(error).__name__}: {error}")}
            if error
            else {"error": RuntimeError(f"cannot send the result back: {e}")}
        )
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def run(job: dict[str, Any], startup: StartupGC | None = None) -> dict[str, Any]:
    """Reopen the study (its ``opener()``) and run the worker loop with the job's budget.

    Args:
        startup: told when start-up (reopening the study, which imports the objective's
            libraries in a fresh interpreter) is over and the trials begin.
    """
    os.environ.update(job["env"])
    from threadpoolctl import threadpool_limits

    from hpo.execution.worker import worker_loop

    study = job["open_study"]()
    if startup is not None:
        startup.started()
    with threadpool_limits(int(job["env"].get("OMP_NUM_THREADS", "1"))):
        stats = worker_loop(
            study,
            n_trials=job["n_trials"],
            timeout=job["timeout"],
            callbacks=job.get("callbacks", ()),
        )
    return {"worker_id": stats.worker_id, **stats.finished}


def serve(load_job: Callable[[], dict[str, Any]], result_path: str, parent_fd: int) -> int:
    """A worker's life: watch the parent, run the job, write the result; the exit status.

    Args:
        load_job: returns the job (unpickling it may import the objective's module, and
            fail: that failure is this worker's result).
        result_path: where the result goes (a pickle, written atomically).
        parent_fd: the pipe that carries nothing but the parent's end-of-file.
    """
    from hpo.errors import WorkerInterrupted

    _watch_parent(parent_fd)
    try:  # start-up (the job, the study) without the cyclic collector: see hpo/startup.py
        with StartupGC() as startup:
            result = run(load_job(), startup)
        code = 0
    except WorkerInterrupted:
        result, code = {"interrupted": "SIGTERM"}, 143
    except KeyboardInterrupt:
        result, code = {"interrupted": "SIGINT"}, 130
    except Exception as e:  # noqa: BLE001 - sent back to the parent, which raises it
        result, code = {"error": e}, 1
    _write_result(result_path, result)
    return code


def main() -> int:
    """A fresh interpreter: read the header and the job from stdin, then :func:`serve`."""
    stdin = sys.stdin.buffer
    header = pickle.loads(read_frame(stdin))
    sys.path[:] = header["sys_path"]  # before unpickling: objectives may be importable modules
    data = read_frame(stdin)
    # stdin now carries nothing but its end-of-file; unpickling imports the objective's module
    code = serve(lambda: pickle.loads(data), header["result_path"], stdin.fileno())
    gc.freeze()  # exit without collecting every imported module's objects (seconds under load)
    return code


if __name__ == "__main__":
    sys.exit(main())
