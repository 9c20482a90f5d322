"""SIGTERM and Ctrl-C as exceptions in a worker's main thread, held back around database writes.

A worker must always know which trial to release when it is stopped, so a signal
that arrives while a claim, a result or a release is being written is held back
and raised right after. And it must stop on the *first* signal even when user code
swallows it: scikit-learn's ``partial_fit`` catches KeyboardInterrupt, warns
"Training interrupted by user." and returns, so the worker would go on claiming
trials. The interrupt is therefore remembered once raised; :func:`check_interrupted`
(called by the reporter on every ``report`` and by the worker after the objective
returns) raises it again.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hpo.errors import WorkerInterrupted


class Signals:
    """SIGTERM -> WorkerInterrupted, SIGINT -> KeyboardInterrupt, deferred inside ``deferred()``."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending: BaseException | None = None
        self.raised: BaseException | None = None  # the interrupt raised so far, if any

    def handler(self, signum: int, frame: Any) -> None:
        exc: BaseException = (
            KeyboardInterrupt()
            if signum == signal.SIGINT
            else WorkerInterrupted(f"signal {signum}")
        )
        if self.depth:
            self.pending = self.pending or exc
            return
        self.raised = self.raised or exc
        raise exc

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold signals back inside the block; raise the first one right after it."""
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if not self.depth and self.pending is not None:
                exc, self.pending = self.pending, None
                self.raised = self.raised or exc
                raise exc

    def check(self) -> None:
        """Raise again an interrupt that was raised earlier (user code may have swallowed it)."""
        if self.raised is not None:
            raise type(self.raised)(*self.raised.args)


_active: Signals | None = (
    None  # the main thread's handler while a worker runs (signals are per process)
)


def check_interrupted() -> None:
    """Raise KeyboardInterrupt / WorkerInterrupted if this worker was asked to stop.

    A no-op outside a worker, or when no signal arrived. Cheap: one attribute read.
    """
    if _active is not None:
        _active.check()


@contextmanager
def interrupts_as_exceptions() -> Iterator[Signals]:
    """Inside the block, SIGTERM and SIGINT raise in the main thread (deferred around writes).

    Off the main thread (a Dask task, a thread pool) signals cannot be caught; the
    block then only provides a no-op ``deferred()``.
    """
    global _active
    signals = Signals()
    if threading.current_thread() is not threading.main_thread():
        yield signals
        return
    previous = {sig: signal.signal(sig, signals.handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    outer, _active = _active, signals
    try:
        yield signals
    finally:
        _active = outer
        for sig, handler in previous.items():
            signal.signal(sig, handler)
