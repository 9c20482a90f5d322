"""One local worker process: ``python -m hpo.execution._child``, started by :mod:`.local`.

The parent writes two length-prefixed pickles to this process's stdin: a header
(``sys.path``, where to write the result) and the job (the study's ``opener()``, which
carries its name, storage URL, sampler and objective, and the budget), pickled with
cloudpickle so lambdas and closures travel.
It then keeps stdin open for the child's whole life: end-of-file on stdin means the
parent is gone (even by SIGKILL), and the child stops as if it got SIGTERM
(releasing its running trial), so no worker ever outlives the run that started it.

The child runs in its own session, so a terminal's Ctrl-C reaches only the parent,
which forwards exactly one SIGTERM to each child.

Exit status: 0 done, 143 stopped by SIGTERM, 130 by SIGINT, 1 an error (in the result).
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import threading
from typing import IO, Any, BinaryIO

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


def _watch_parent(stdin: BinaryIO) -> None:
    """SIGTERM this process when the parent's end of stdin closes (the parent exited)."""
    fd = stdin.fileno()

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


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Reopen the study (its ``opener()``) and run the worker loop with the job's budget."""
    os.environ.update(job["env"])
    from threadpoolctl import threadpool_limits

    from hpo.execution.worker import worker_loop

    study = job["open_study"]()
    with threadpool_limits(int(job["env"].get("OMP_NUM_THREADS", "1"))):
        stats = worker_loop(
            study,
            n_trials=job["n_trials"],
            timeout=job["timeout"],
            callbacks=job.get("callbacks", ()),
        )
    return {"worker_id": stats.worker_id, **stats.finished}


def main() -> int:
    from hpo.errors import WorkerInterrupted

    stdin = sys.stdin.buffer
    header = pickle.loads(read_frame(stdin))
    sys.path[:] = header["sys_path"]  # before unpickling: objectives may be importable modules
    data = read_frame(stdin)
    _watch_parent(stdin)  # stdin now carries nothing but its end-of-file
    try:
        result = run(pickle.loads(data))  # unpickling imports the objective's module: may fail
        code = 0
    except WorkerInterrupted:
        result, code = {"interrupted": "SIGTERM"}, 143
    except KeyboardInterrupt:
        result, code = {"interrupted": "SIGINT"}, 130
    except Exception as e:  # noqa: BLE001 - sent back to the parent, which raises it
        result, code = {"error": e}, 1
    _write_result(header["result_path"], result)
    return code


if __name__ == "__main__":
    sys.exit(main())
