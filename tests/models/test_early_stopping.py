"""EarlyStopping: patience, min_delta, mode, and the best state kept as a copy."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hpo.models.early_stopping import EarlyStopping


def run(stopper: EarlyStopping, scores: list[float]) -> int:
    """Feed scores until the stopper says stop; return how many epochs ran."""
    for epoch, score in enumerate(scores, start=1):
        if stopper.update(score, {"epoch": epoch}):
            return epoch
    return len(scores)


def test_stops_after_patience_epochs_without_improvement():
    stopper = EarlyStopping(patience=3)
    assert run(stopper, [0.1, 0.5, 0.4, 0.5, 0.3, 0.9]) == 5
    assert (stopper.best_score_, stopper.best_epoch_, stopper.n_epochs_) == (0.5, 2, 5)
    assert stopper.should_stop


def test_improvement_resets_patience():
    stopper = EarlyStopping(patience=2)
    assert run(stopper, [0.1, 0.0, 0.2, 0.1, 0.3, 0.2, 0.1, 0.9]) == 7
    assert stopper.best_epoch_ == 5


def test_min_delta_ignores_tiny_gains():
    stopper = EarlyStopping(patience=2, min_delta=0.05)
    assert run(stopper, [0.5, 0.52, 0.54, 0.9]) == 3
    assert stopper.best_score_ == 0.5 and stopper.best_epoch_ == 1


def test_min_mode_for_losses():
    stopper = EarlyStopping(patience=2, mode="min")
    assert run(stopper, [3.0, 2.0, 2.5, 1.0, 1.5, 1.2]) == 6
    assert (stopper.best_score_, stopper.best_epoch_) == (1.0, 4)


def test_best_state_is_a_deep_copy():
    stopper = EarlyStopping(patience=5)
    weights = [np.zeros(3)]
    stopper.update(1.0, weights)
    weights[0] += 7.0  # training goes on in place
    stopper.update(0.5, weights)
    np.testing.assert_array_equal(stopper.best_state_[0], np.zeros(3))


def test_nan_first_score_is_not_a_best():
    stopper = EarlyStopping(patience=2)
    stopper.update(float("nan"))
    assert stopper.best_score_ is None
    stopper.update(0.3)
    assert stopper.best_epoch_ == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"patience": 0},
            "The 'patience' parameter of EarlyStopping must be an int >= 1. Got 0 instead.",
        ),
        (
            {"min_delta": -1.0},
            "The 'min_delta' parameter of EarlyStopping must be a float >= 0. Got -1.0 instead.",
        ),
        (
            {"mode": "up"},
            "The 'mode' parameter of EarlyStopping must be a str among ['max', 'min']. Got 'up' "
            "instead.",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        EarlyStopping(**kwargs)
