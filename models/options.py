"""The training options every model family shares, checked in one place.

Both trainers take the same constructor options (metric, epochs, patience, splits);
one check gives both the same sklearn-style messages, and rejects a metric that does
not fit the family's tasks when the trainer is built rather than at the first fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.models.metrics import metric_names


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_training_options(owner: str, tasks: Sequence[str], *, metric: Any, max_epochs: Any,
                           patience: Any, min_delta: Any, test_size: Any, validation_fraction: Any,
                           cv: Any, split_seed: Any) -> None:
    """Raise ConfigError naming the first option of ``owner`` that is out of range.

    Args:
        owner: the trainer's class name, for the message.
        tasks: the tasks the trainer handles (its valid metrics follow from them).
    """
    def check(ok: bool, name: str, got: Any, expected: str) -> None:
        if not ok:
            raise ConfigError(f"The {name!r} parameter of {owner} must be {expected}. Got {got!r} instead.")

    check(_is_int(max_epochs) and max_epochs >= 1, "max_epochs", max_epochs, "an int >= 1")
    check(_is_int(patience) and patience >= 1, "patience", patience, "an int >= 1")
    check(_is_real(min_delta) and min_delta >= 0, "min_delta", min_delta, "a float >= 0")
    check(_is_real(test_size) and 0 <= test_size < 1, "test_size", test_size, "a float in [0, 1)")
    check(_is_real(validation_fraction) and 0 <= validation_fraction < 1, "validation_fraction",
          validation_fraction, "a float in [0, 1)")
    check(cv is None or (_is_int(cv) and cv >= 2), "cv", cv, "None or an int >= 2")
    check(_is_int(split_seed), "split_seed", split_seed, "an int")
    if metric is not None:
        valid = sorted({m for task in tasks for m in metric_names(task)})
        check(isinstance(metric, str) and metric in valid, "metric", metric, f"a str among {valid}")
