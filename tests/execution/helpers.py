"""Objectives, a slow sampler, and a worker process that tests start, watch, signal and kill.

Run a worker: ``python -m tests.execution.helpers URL STUDY --trials N --objective slow``.
It prints one JSON line with its stats and exits 0; 143 after SIGTERM, 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hpo.samplers.base import Direction, Proposal, Sampler
from hpo.space import Categorical, Float, Int, SearchSpace
from hpo.trial import FrozenTrial

ROOT = Path(__file__).resolve().parents[2]
SPACE = {"x": Float(-1.0, 1.0)}
GRID_SPACE = {"a": Categorical(["p", "q", "r", "s", "t", "u"]), "b": Int(1, 4)}  # 24 points
FAST_SETTINGS = {"heartbeat_interval": 0.2, "grace_period": 1.5, "max_retries": 1}


def fast(params: dict[str, Any], reporter: Any) -> float:
    return float(params.get("x", 0.0)) ** 2


def slow(params: dict[str, Any], reporter: Any) -> float:
    """Long enough to be caught mid-trial: HPO_TEST_SLEEP seconds (default 0.3)."""
    time.sleep(float(os.environ.get("HPO_TEST_SLEEP", "0.3")))
    return float(params.get("x", 0.0)) ** 2


def grid(params: dict[str, Any], reporter: Any) -> float:
    time.sleep(0.02)
    return float(params["b"]) + "pqrstu".index(params["a"])


def sleepy(params: dict[str, Any], reporter: Any) -> float:
    """Any space: HPO_TEST_SLEEP seconds, then a value computed from the params."""
    time.sleep(float(os.environ.get("HPO_TEST_SLEEP", "0.3")))
    return float(sum(hash(str(v)) % 97 for v in params.values()))


def swallows_ctrl_c(params: dict[str, Any], reporter: Any) -> float:
    """Like scikit-learn's partial_fit: catch KeyboardInterrupt, warn, and carry on."""
    import warnings

    for epoch in range(int(float(os.environ.get("HPO_TEST_SLEEP", "1.0")) * 10)):
        try:
            time.sleep(0.1)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=1)
        reporter.report(epoch, float(epoch))
    return 1.0


def stubborn(params: dict[str, Any], reporter: Any) -> float:
    """Ignores SIGTERM and SIGINT (blocked) for HPO_TEST_SLEEP seconds: only SIGKILL stops it."""
    import signal

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    time.sleep(float(os.environ.get("HPO_TEST_SLEEP", "0.3")))
    return 0.0


def fails_at_zero(params: dict[str, Any], reporter: Any) -> float:
    """A grid point that always fails: x == 0."""
    if params["x"] == 0:
        raise RuntimeError("x=0 always fails")
    return float(params["x"])


def flaky_at_zero(params: dict[str, Any], reporter: Any) -> float:
    """x == 0 fails on its first attempt only (a retry has ``retry_of`` set)."""
    if params["x"] == 0 and reporter.retry_of is None:
        raise RuntimeError("x=0 fails the first time")
    return float(params["x"])


def chatty(params: dict[str, Any], reporter: Any) -> float:
    """A long learning curve, 100 steps over 1.5 s (fills a database quickly; the reporter
    writes its buffered points during the trial as well as at its end)."""
    for step in range(100):
        time.sleep(0.015)
        reporter.report(step, float(step) * float(params["x"]))
    return float(params["x"])


OBJECTIVES = {"fast": fast, "slow": slow, "grid": grid, "sleepy": sleepy}


class SlowSampler(Sampler):
    """Random points after a 0.3 s think; stores how many trials were pending when it asked."""

    name = "slow-test"

    def ask(
        self,
        space: SearchSpace,
        history: Sequence[FrozenTrial],
        pending: Sequence[FrozenTrial],
        rng: np.random.Generator,
        direction: Direction = "minimize",
    ) -> Proposal:
        time.sleep(0.3)
        return Proposal(space.sample(rng), info={"user_attrs": {"n_pending": len(pending)}})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("study")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--objective", default="slow", choices=sorted(OBJECTIVES))
    parser.add_argument("--sampler", default=None, choices=["slow", "random"])
    args = parser.parse_args(argv)

    from hpo.execution.worker import WorkerInterrupted, worker_loop
    from hpo.study import load_study

    sampler: Any = SlowSampler(seed=1) if args.sampler == "slow" else args.sampler
    study = load_study(
        args.study, storage=args.url, objective=OBJECTIVES[args.objective], sampler=sampler
    )
    try:
        stats = worker_loop(study, n_trials=args.trials, timeout=args.timeout)
    except WorkerInterrupted:
        return 143
    except KeyboardInterrupt:
        return 130
    print(json.dumps({"worker_id": stats.worker_id, **stats.finished}), flush=True)
    return 0


_CTX = multiprocessing.get_context("forkserver")
# the sampler registry imports the GP sampler and with it scipy.stats (seconds): import once
_CTX.set_forkserver_preload(
    [
        "hpo.study",
        "hpo.execution.worker",
        "hpo.samplers.gp.sampler",
        "hpo.cli.app",
        "tests.execution.helpers",
    ]
)


def _child(argv: list[str], out_path: str, env: dict[str, str]) -> None:
    """Body of a worker process: stderr to a file, stats to ``out_path``, exit code as main().

    ``argv[0] == "hpo"`` runs the real command line instead (``hpo worker ...``).
    """
    os.environ.update(env)
    fd = os.open(out_path + ".err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 2)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives as long as the process
    sys.stdout = open(out_path, "w", buffering=1)  # noqa: SIM115
    if argv[:1] == ["hpo"]:
        from hpo.cli.app import app

        app(argv[1:], prog_name="hpo")  # exits with the command's status
    sys.exit(main(argv))


class Worker:
    """A real worker process, forked from a server that has hpo imported (fast to start).

    Its exit code is :func:`main`'s (143 after SIGTERM, 130 after SIGINT, -9 when killed).
    """

    _count = 0

    def __init__(self, url: str, study: str, args: Sequence[str], sleep: float | None) -> None:
        Worker._count += 1
        self.out_path = os.path.join(
            tempfile.gettempdir(), f"hpo-worker-{os.getpid()}-{Worker._count}"
        )
        env = {"HPO_THREADS_PER_WORKER": "1", "OMP_NUM_THREADS": "1"}
        if sleep is not None:
            env["HPO_TEST_SLEEP"] = str(sleep)
        self.process = _CTX.Process(target=_child, args=([url, study, *args], self.out_path, env))
        self.process.start()

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def send_signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def kill(self) -> None:
        self.process.kill()

    def wait(self, timeout: float = 60) -> int:
        self.process.join(timeout)
        if self.process.exitcode is None:
            self.process.kill()
            raise AssertionError(f"worker {self.pid} still running after {timeout} s")
        return self.process.exitcode


def start_worker(url: str, study: str, *args: str, sleep: float | None = None) -> Worker:
    """Start a worker process running :func:`main` with these arguments."""
    return Worker(url, study, args, sleep)


def start_cli_worker(url: str, study: str, *args: str, sleep: float | None = None) -> Worker:
    """Start ``hpo worker STUDY --storage URL ARGS...`` (the real command) in a fresh process."""
    return Worker("hpo", "worker", [study, "--storage", url, *args], sleep)


def finish(worker: Worker, timeout: float = 60) -> tuple[int, dict[str, Any], str]:
    """Wait for a worker: (exit code, its stats or {}, its stderr)."""
    code = worker.wait(timeout)
    out = Path(worker.out_path).read_text() if os.path.exists(worker.out_path) else ""
    err_path = Path(worker.out_path + ".err")
    err = err_path.read_text() if err_path.exists() else ""
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return code, (json.loads(lines[-1]) if lines else {}), err


def wait_for(
    predicate: Any, *, timeout: float = 30, every: float = 0.05, describe: Any = None
) -> Any:
    """Poll until ``predicate()`` is truthy; return it (fail the test on timeout).

    ``describe()``, if given, says what was seen instead (in the failure message).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(every)
    seen = f"; seen: {describe()}" if describe is not None else ""
    raise AssertionError(f"condition not met within {timeout} s{seen}")


def worker_pid(worker_id: str) -> int:
    """The pid in a worker id ``host:pid:random``."""
    return int(worker_id.split(":")[-2])


if __name__ == "__main__":
    sys.exit(main())
