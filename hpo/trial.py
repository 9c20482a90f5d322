"""The read-only view of a trial that samplers, pruners and reports work from."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class TrialState(str, enum.Enum):
    """Life cycle of a trial: WAITING -> RUNNING -> COMPLETE | PRUNED | FAILED."""

    WAITING = "WAITING"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAILED = "FAILED"

    @property
    def is_finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)


@dataclass(frozen=True)
class FrozenTrial:
    """A snapshot of one stored trial.

    ``params`` holds only the active parameters (inactive conditional ones are absent).
    ``intermediate`` maps step -> reported value (the learning curve); it is only filled
    when the caller asked the storage for curves.
    """

    number: int
    state: TrialState
    params: dict[str, Any]
    value: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    intermediate: dict[int, float] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    worker_id: str | None = None
    error: str | None = None
    retry_of: int | None = None
    grid_id: int | None = None
    user_attrs: dict[str, Any] = field(default_factory=dict)
    trial_id: int | None = None

    @property
    def duration(self) -> float | None:
        """Wall time in seconds from start to finish, or None while unfinished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class Proposal:
    """What ``Sampler.ask`` returns: the params, and the grid index for finite samplers."""

    params: dict[str, Any]
    grid_id: int | None = None
    info: dict[str, Any] = field(default_factory=dict)
