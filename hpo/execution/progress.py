"""A progress bar for a running study that reads its numbers from the database.

Reading from storage (not from worker callbacks) means the bar is right however
the workers run: in this process, as local processes, or on a Dask cluster.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpo.execution.handle import StudyHandle


class StudyProgress:
    """``with StudyProgress(study, n_trials): ...`` shows done/total, best so far and ETA."""

    def __init__(self, study: StudyHandle, n_trials: int, *, enabled: bool | None = None,
                 min_interval: float = 0.25) -> None:
        self.study = study
        self.n_trials = n_trials
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.min_interval = min_interval
        self._last = 0.0
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> StudyProgress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[best]}"), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), transient=False)
            self._progress.__enter__()
            self._task = self._progress.add_task(self.study.name, total=self.n_trials, best="")
            self.refresh(force=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self.refresh(force=True)
            self._progress.__exit__(*exc)

    def refresh(self, *_: Any, force: bool = False) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        counts = self.study.storage.counts(self.study.id)
        done = counts.get("COMPLETE", 0) + counts.get("PRUNED", 0)
        best = self.study.storage.leaderboard(self.study.id, self.study.direction, top=1)
        running = counts.get("RUNNING", 0)
        failed = counts.get("FAILED", 0)
        text = f"best {best[0].value:.5g} (#{best[0].number})" if best else "best -"
        text += f"  running {running}" + (f"  [red]failed {failed}[/red]" if failed else "")
        self._progress.update(self._task, completed=min(done, self.n_trials), best=text)
