"""The live time-to-quality runner: real training in worker processes, driven by a strategy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.ttq_live import LivePool, LiveResult, run_live
from benchmarks.ttq_tasks import MAX_EPOCHS, SKLEARN_SPACE, configurations

CONFIGS = configurations(SKLEARN_SPACE, 8, seed=3)


class Scripted:
    """Proposes fixed configurations; a pruned one stops every job but the first at epoch 2."""

    name = "scripted"

    def __init__(self, pruned: bool, budget: int = MAX_EPOCHS) -> None:
        self.pruned, self.budget = pruned, budget
        self.asked = 0
        self.reports: dict[int, list[tuple[int, float]]] = {}
        self.finished: dict[int, tuple[str, float | None, int]] = {}

    def ask(self) -> tuple[Any, dict[str, Any], int]:
        key = self.asked
        self.asked += 1
        self.reports[key] = []
        return key, CONFIGS[key % len(CONFIGS)], self.budget

    def report(self, key: Any, epoch: int, value: float) -> bool:
        self.reports[key].append((epoch, value))
        return key > 0 and epoch == 2

    def finish(self, key: Any, state: str, value: float | None, epochs: int) -> None:
        self.finished[key] = (state, value, epochs)


@pytest.fixture(scope="module")
def pool() -> Iterator[LivePool]:
    with LivePool("mlp-breast_cancer", n=2) as p:
        yield p


def _check_budget(result: LiveResult, budget_s: float) -> None:
    """A worker takes a new network only while its CPU timeline is below the budget."""
    for w in (0, 1):
        mine = [e for e in result.evaluations if e.worker == w]
        ends = [e.cpu_end for e in mine]
        assert ends == sorted(ends)
        assert all(end < budget_s for end in ends[:-1])
    assert result.n_asks == len(result.evaluations)


def test_a_pruner_hears_every_epoch_in_order_and_stops_networks_where_it_says(pool: LivePool):
    strategy = Scripted(pruned=True)
    result = run_live(strategy, pool, budget_s=0.4, max_epochs=MAX_EPOCHS)
    _check_budget(result, 0.4)
    assert strategy.finished[0][0] == "COMPLETE" and strategy.finished[0][2] == MAX_EPOCHS
    for key, (state, _value, epochs) in strategy.finished.items():
        steps = [s for s, _ in strategy.reports[key]]
        assert steps == list(range(1, len(steps) + 1))  # every epoch, in order
        if key > 0:
            assert (state, epochs, steps[-1]) == ("PRUNED", 2, 2)
    # log loss is negated so every strategy maximizes; the full network carries its test score
    values = [v for r in strategy.reports.values() for _, v in r]
    assert max(values) <= 0.0
    full = [e for e in result.evaluations if e.state == "COMPLETE"]
    assert len(full) == 1 and full[0].test is not None and full[0].test <= 0.0
    assert result.incumbent(MAX_EPOCHS) == [
        [full[0].cpu_end, full[0].value, full[0].wall_end, full[0].test]
    ]


def test_a_budgeted_strategy_trains_each_network_to_its_budget_and_it_never_counts_as_full(
    pool: LivePool,
):
    strategy = Scripted(pruned=False, budget=3)
    result = run_live(strategy, pool, budget_s=0.2, max_epochs=MAX_EPOCHS)
    _check_budget(result, 0.2)
    assert strategy.reports == {k: [] for k in strategy.reports}  # no pruner to ask
    assert {(s, e) for s, _v, e in strategy.finished.values()} == {("COMPLETE", 3)}
    assert all(e.test is None for e in result.evaluations)
    assert result.incumbent(MAX_EPOCHS) == []


def test_a_strategy_that_reads_durations_hears_each_networks_span_on_its_worker_timeline(
    pool: LivePool,
):
    class Timed(Scripted):
        def __init__(self) -> None:
            super().__init__(pruned=True)
            self.durations: dict[int, float] = {}

        def trained(self, key: Any, seconds: float) -> None:
            assert key not in self.finished and key not in self.durations  # once, before finish
            self.durations[key] = seconds

    strategy = Timed()
    result = run_live(strategy, pool, budget_s=0.3, max_epochs=MAX_EPOCHS)
    assert sorted(strategy.durations) == sorted(strategy.finished)
    assert all(d > 0 for d in strategy.durations.values())  # training CPU, at least
    # the spans do not overlap on a worker's timeline, which also holds the asks and tells
    last = {w: max(e.cpu_end for e in result.evaluations if e.worker == w) for w in (0, 1)}
    assert sum(strategy.durations.values()) <= sum(last.values())
