"""hpo.startup.StartupGC: collector off during start-up, on for the run, left as found."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from hpo.startup import StartupGC


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    """Whatever a test does, the next one starts with the collector on and nothing frozen."""
    yield
    gc.unfreeze()
    gc.enable()


def test_off_during_start_up_on_and_frozen_for_the_run_restored_after() -> None:
    assert gc.isenabled() and gc.get_freeze_count() == 0
    built = [object() for _ in range(10)]  # start-up's objects: frozen with the rest
    with StartupGC() as startup:
        assert not gc.isenabled()
        startup.started()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(built)
        startup.started()  # a second call changes nothing
        assert gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_an_error_during_start_up_restores_the_collector() -> None:
    with pytest.raises(RuntimeError, match="bad study file"), StartupGC():
        assert not gc.isenabled()
        raise RuntimeError("bad study file")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_collector_turned_off_by_the_caller_stays_off() -> None:
    gc.disable()
    with StartupGC() as startup:
        startup.started()
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_a_freeze_made_by_the_caller_is_not_undone() -> None:
    gc.freeze()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    with StartupGC() as startup:
        startup.started()
    assert gc.get_freeze_count() >= frozen


def test_cyclic_garbage_made_during_the_run_is_still_collected() -> None:
    """Freezing start-up must not stop the run's own cycles from being collected."""

    class Node:
        pass

    with StartupGC() as startup:
        startup.started()
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        ref = weakref.ref(a)
        del a, b
        gc.collect()
        assert ref() is None
