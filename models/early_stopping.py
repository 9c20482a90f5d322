"""Early stopping with patience that keeps the best epoch's state; shared by every model family."""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

from hpo.validation import Constraint, Interval, Options, validate

_CONSTRAINTS: dict[str, list[Constraint]] = {
    "patience": [Interval(int, 1)],
    "min_delta": [Interval(float, 0)],
    "mode": [Options({"max", "min"})],
}


class EarlyStopping:
    """Tracks a validation score and says when to stop.

    ``update(score, state)`` returns True when ``patience`` epochs in a row failed to
    improve on the best score by more than ``min_delta``. The best score, its epoch
    and a deep copy of the ``state`` passed with it are kept in ``best_score_``,
    ``best_epoch_`` and ``best_state_`` so the caller can restore the best weights.

    Args:
        patience: epochs without improvement before stopping (an int >= 1).
        min_delta: the smallest change that counts as an improvement (>= 0).
        mode: ``"max"`` when larger scores are better, ``"min"`` otherwise.
    """

    def __init__(
        self, patience: int = 10, min_delta: float = 0.0, mode: Literal["max", "min"] = "max"
    ) -> None:
        validate(_CONSTRAINTS, locals(), owner="EarlyStopping")
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self.best_score_: float | None = None
        self.best_epoch_: int | None = None
        self.best_state_: Any = None
        self.n_epochs_ = 0
        self.bad_epochs_ = 0

    def improved(self, score: float) -> bool:
        if self.best_score_ is None:
            return math.isfinite(score)
        if self.mode == "max":
            return score > self.best_score_ + self.min_delta
        return score < self.best_score_ - self.min_delta

    def update(self, score: float, state: Any = None) -> bool:
        """Record one epoch's score (and the state that produced it); True means stop now."""
        self.n_epochs_ += 1
        if self.improved(score):
            self.best_score_ = float(score)
            self.best_epoch_ = self.n_epochs_
            self.best_state_ = copy.deepcopy(state)
            self.bad_epochs_ = 0
        else:
            self.bad_epochs_ += 1
        return self.bad_epochs_ >= self.patience

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs_ >= self.patience
