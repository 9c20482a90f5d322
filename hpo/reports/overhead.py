"""Where a study's worker time went: training versus everything else, from stored timings.

Every trial stores when it started and finished, and a completed one its objective's own
wall time (``metrics["duration_s"]``). Per worker, the span from its first claim to its
last result is time it held; the objective's time is training; the rest (claiming,
sampling, writing results, the gaps between trials) is hpo's overhead. Process start-up
before a worker's first claim is not in the database: ``benchmarks/overhead.py`` measures
it from outside.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hpo.trial import FrozenTrial

if TYPE_CHECKING:
    from hpo.storage import Storage


@dataclass(frozen=True)
class OverheadSplit:
    """Seconds of worker time, summed over workers."""

    n_workers: int
    worker_seconds: float
    """From each worker's first trial start to its last trial finish."""
    training_seconds: float
    """Inside the objective (model building, epochs, validation)."""

    @property
    def overhead_seconds(self) -> float:
        return max(0.0, self.worker_seconds - self.training_seconds)

    @property
    def overhead_fraction(self) -> float:
        return self.overhead_seconds / self.worker_seconds if self.worker_seconds > 0 else 0.0


def _training_seconds(trial: FrozenTrial) -> float:
    own = trial.metrics.get("duration_s") if trial.metrics else None
    if isinstance(own, (int, float)) and not isinstance(own, bool) and own >= 0:
        return float(own)
    return trial.duration or 0.0


def overhead_split(trials: Iterable[FrozenTrial]) -> OverheadSplit | None:
    """The split over finished trials that have timings; None when there are none."""
    spans: dict[str, list[float]] = defaultdict(list)
    training = 0.0
    for t in trials:
        if t.started_at is None or t.finished_at is None or t.worker_id is None:
            continue
        spans[t.worker_id].extend([t.started_at.timestamp(), t.finished_at.timestamp()])
        training += min(_training_seconds(t), t.duration or 0.0)
    if not spans:
        return None
    held = sum(max(times) - min(times) for times in spans.values())
    return OverheadSplit(n_workers=len(spans), worker_seconds=held, training_seconds=training)


def stored_overhead_split(storage: Storage, study_id: int) -> OverheadSplit | None:
    """:func:`overhead_split` of every trial of a study, summed by the database.

    The same numbers as ``overhead_split(storage.trials(study_id))`` (a test pins it on
    both backends), without reading the trials: one row per worker comes back, so
    ``hpo show`` on a 100,000-trial study does not decode 100,000 rows for one line.
    """
    spans = storage.worker_spans(study_id)
    if not spans:
        return None
    held = sum((s.last - s.first).total_seconds() for s in spans)
    training = sum(s.training_seconds for s in spans)
    return OverheadSplit(n_workers=len(spans), worker_seconds=held, training_seconds=training)
