"""Pruners as pure functions of curves."""

from __future__ import annotations

import re

import pytest

from hpo.errors import ConfigError
from hpo.pruning import MedianPruner, NopPruner, SuccessiveHalvingPruner, make_pruner


def test_median_pruner_compares_with_peers_at_the_same_step():
    p = MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    peers = {0: {0: 0.5, 1: 0.6}, 1: {0: 0.7, 1: 0.8}, 2: {1: 0.9}}
    assert not p.prune(0, {0: 0.1}, peers, maximize=True)  # warm-up
    assert p.prune(1, {0: 0.1, 1: 0.2}, peers, maximize=True)
    assert not p.prune(1, {0: 0.1, 1: 0.85}, peers, maximize=True)
    assert not p.prune(1, {0: 0.1, 1: 0.2}, {0: {1: 0.6}}, maximize=True)  # too few peers
    assert p.prune(1, {1: 0.9}, peers, maximize=False)


def test_asha_keeps_the_top_fraction_at_rungs():
    p = SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    assert [s for s in range(30) if p.is_rung(s)] == [1, 3, 9, 27]
    peers = {i: {1: v} for i, v in enumerate([0.1, 0.2, 0.3, 0.4, 0.5])}
    assert p.prune(1, {1: 0.2}, peers, maximize=True)
    assert not p.prune(1, {1: 0.6}, peers, maximize=True)
    assert not p.prune(2, {2: 0.0}, peers, maximize=True)  # not a rung
    assert not p.prune(1, {1: 0.05}, peers, maximize=False)


def test_make_pruner_and_validation():
    assert isinstance(make_pruner(None), NopPruner)
    assert make_pruner("asha").to_config()["name"] == "asha"
    assert make_pruner({"name": "median", "n_warmup_steps": 3}).n_warmup_steps == 3
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "The 'reduction_factor' parameter of SuccessiveHalvingPruner must be an int >= 2. Got "
            "1 instead."
        ),
    ):
        SuccessiveHalvingPruner(reduction_factor=1)


def test_a_misspelled_pruner_option_names_the_valid_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"Unknown parameter 'n_warmup' of MedianPruner.*'n_warmup_steps'"
    ):
        make_pruner({"name": "median", "n_warmup": 3})
    with pytest.raises(
        ConfigError, match=r"'interval_steps' parameter of MedianPruner.*Got True instead"
    ):
        make_pruner({"name": "median", "interval_steps": True})
