"""What an objective and a model family see of a running trial, and what they return.

An objective is ``objective(params, reporter) -> float | TrialResult | Mapping``.
A model family (Trainer) is ``trainer.fit(params, data, reporter) -> TrialResult``.
Both call ``reporter.report(step, value)`` once per epoch; ``report`` stores the value
(the learning curve) and raises :class:`~hpo.errors.TrialPruned` when the study's
pruner says the trial is hopeless. A trial at its last step (declared with
:func:`declare_max_step`, which ``EpochTrainer`` does with ``max_epochs``, or at a
pruner's ``max_resource``) is never pruned: it completes with its value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from hpo.errors import TrialPruned
from hpo.jsonable import as_number, to_jsonable


@runtime_checkable
class Reporter(Protocol):
    """The running trial, as the objective sees it."""

    number: int
    """The trial's number in its study."""

    seed: int
    """A seed for this trial's own randomness (weight init, shuffling): a pure function of
    the study seed and the trial number."""

    def report(self, step: int, value: float) -> None:
        """Store ``value`` at ``step`` (an epoch). Raises TrialPruned if the pruner says so."""

    def should_prune(self) -> bool:
        """Whether the pruner would stop this trial now, without raising."""

    def artifact_dir(self) -> Path | None:
        """A folder where this trial may keep files (trained weights), or None if disabled."""


@dataclass
class TrialResult:
    """The outcome of one evaluation.

    ``value`` is the objective the study optimizes (e.g. mean validation accuracy).
    ``metrics`` holds everything else worth a leaderboard column: test score, epochs
    run, best epoch, training time. Values must be JSON-able.
    """

    value: float
    metrics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def coerce(cls, raw: Any) -> TrialResult:
        """Accept a number, a TrialResult or a mapping with a 'value' key.

        A number is an int or float, a numpy scalar or a 0-d array; a string such as
        ``"0.5"`` is not (``tell`` refuses it too). Metrics become plain JSON data (numpy
        scalars converted, NaN/inf stored as None); anything JSON cannot hold is refused
        naming its key, so the trial fails with the reason instead of losing its value.
        """
        if isinstance(raw, TrialResult):
            value, metrics = raw.value, raw.metrics
        elif isinstance(raw, Mapping):
            if "value" not in raw:
                raise TypeError(
                    f"An objective returned a dict without a 'value' key: {dict(raw)!r}"
                )
            value, metrics = raw["value"], {k: v for k, v in raw.items() if k != "value"}
        else:
            value, metrics = raw, {}
        number = as_number(value)
        if number is None:
            raise TypeError(
                f"An objective must return a number (int, float or numpy scalar); got "
                f"{type(value).__name__} {value!r}."
            )
        if not isinstance(metrics, Mapping):
            raise TypeError(
                f"TrialResult.metrics must be a dict; got {type(metrics).__name__} {metrics!r}."
            )
        return cls(number, to_jsonable(dict(metrics), "metrics"))


class NullReporter:
    """A reporter that stores nothing and never prunes (for direct calls and tests)."""

    def __init__(self, number: int = 0, seed: int = 0) -> None:
        self.number = number
        self.seed = seed
        self.values: dict[int, float] = {}
        self.max_step: int | None = None

    def report(self, step: int, value: float) -> None:
        self.values[int(step)] = float(value)

    def should_prune(self) -> bool:
        return False

    def set_max_step(self, step: int) -> None:
        self.max_step = int(step)

    def artifact_dir(self) -> Path | None:
        return None


def declare_max_step(reporter: Any, step: int) -> None:
    """Tell ``reporter`` the last step its trial will report (its full budget, e.g.
    ``max_epochs``), so the pruner never stops the trial there and throws away a fully
    trained model. Reporters that do not take it (``set_max_step``) are left as they are,
    so any object with ``report`` still works as a reporter."""
    setter = getattr(reporter, "set_max_step", None)
    if callable(setter):
        setter(int(step))


def check_finite(value: float, what: str = "objective value") -> float:
    """Raise ValueError for NaN/inf so the trial ends FAILED with a clear reason."""
    if not math.isfinite(value):
        raise ValueError(f"The {what} is {value}; a diverging or invalid result cannot be ranked.")
    return value


__all__ = ["Reporter", "TrialResult", "NullReporter", "TrialPruned", "check_finite"]
