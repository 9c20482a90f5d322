"""Progress of a running study, read from the database: a bar on a terminal, plain lines elsewhere.

Reading from storage (not from worker callbacks) means the numbers are right however
the workers run: in this process, as local processes, or on a Dask cluster.

On a terminal (stderr is a TTY) it is a rich progress bar. Under ``| tee``, nohup,
``docker logs`` or CI a bar prints nothing useful, so there it prints one plain line every
``LINE_SECONDS`` seconds or every tenth of the trials (at most one every 2 s), whichever comes
first, and a last one at the end::

    digits-mlp: 12/40 finished (1 failed), best 0.9712 (#7), 2 running, 32s elapsed, ETA 1m15s
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from hpo.execution.handle import StudyHandle

LINE_SECONDS = 10.0
MIN_LINE_SECONDS = 2.0  # a fast run prints a line per tenth of the trials, but not a flood


class StudyProgress:
    """``with StudyProgress(study, n_trials): ...`` shows done/total, best so far and ETA.

    Args:
        n_trials: the total asked for, or None (``hpo worker`` without ``--trials``): then
            there is no bar length and no ETA.
        enabled: True: a bar; False: nothing; None (default): a bar on a terminal, plain
            lines otherwise.
        ticker: refresh from a background thread every second as well (``hpo worker``,
            whose loop calls back only when a trial ends).
        stream: where plain lines go (default stderr).
    """

    def __init__(
        self,
        study: StudyHandle,
        n_trials: int | None,
        *,
        enabled: bool | None = None,
        min_interval: float = 0.25,
        ticker: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        self.study = study
        self.n_trials = n_trials
        self.stream = stream or sys.stderr
        self.plain = enabled is None and not self.stream.isatty()
        self.enabled = True if enabled is None else enabled
        self.min_interval = min_interval
        self._last = 0.0
        self._progress: Any = None
        self._task: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True) if ticker else None
        self._started = time.monotonic()
        self._done_at_start: int | None = None
        self._line_at = 0.0
        self._line_done = -1

    def __enter__(self) -> StudyProgress:
        if self.enabled and not self.plain:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[best]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(self.study.name, total=self.n_trials, best="")
        if self.enabled:
            self.refresh(force=True)
            if self._thread is not None:
                self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(5)
        if self.enabled:
            self.refresh(force=True, final=True)
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - progress must never stop a worker
                pass

    def refresh(self, *_: Any, force: bool = False, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last < self.min_interval:
                return
            self._last = now
            counts = self.study.storage.counts(self.study.id)
            if counts.get("FAILED"):  # Ctrl-C/SIGTERM releases are re-queued, not failures
                interrupted = self.study.storage.count_interrupted(self.study.id)
                counts = {**counts, "FAILED": counts["FAILED"] - interrupted}
            done = counts.get("COMPLETE", 0) + counts.get("PRUNED", 0)
            best = self.study.storage.leaderboard(self.study.id, self.study.direction, top=1)
            if self._done_at_start is None:
                self._done_at_start = done
            if self.plain:
                self._line(now, done, counts, best, final)
                return
            running = counts.get("RUNNING", 0)
            failed = counts.get("FAILED", 0)
            text = f"best {best[0].value:.5g} (#{best[0].number})" if best else "best -"
            text += f"  running {running}" + (f"  [red]failed {failed}[/red]" if failed else "")
            total = self.n_trials if self.n_trials is not None else done
            self._progress.update(self._task, completed=min(done, total), best=text)

    def _line(
        self, now: float, done: int, counts: dict[str, int], best: list[Any], final: bool
    ) -> None:
        """One plain line when LINE_SECONDS passed or another tenth of the trials finished."""
        step = max(1, (self.n_trials or 10) // 10)
        due = (
            self._line_done < 0
            or now - self._line_at >= LINE_SECONDS
            or (done >= self._line_done + step and now - self._line_at >= MIN_LINE_SECONDS)
        )
        if not (due or final) or (final and done == self._line_done and now - self._line_at < 1):
            return
        self._line_at, self._line_done = now, done
        elapsed = now - self._started
        total = f"/{self.n_trials}" if self.n_trials is not None else ""
        parts = [f"{self.study.name}: {done}{total} finished"]
        if counts.get("FAILED"):
            parts[0] += f" ({counts['FAILED']} failed)"
        parts.append(f"best {best[0].value:.5g} (#{best[0].number})" if best else "best -")
        parts.append(f"{counts.get('RUNNING', 0)} running")
        parts.append(f"{_duration(elapsed)} elapsed")
        new = done - (self._done_at_start or 0)
        if self.n_trials is not None and new > 0 and done < self.n_trials:
            parts.append(f"ETA {_duration(elapsed / new * (self.n_trials - done))}")
        print(", ".join(parts), file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
